"""The postmortem of a busy incident: API calls to gather its timeline, and render time.

    .venv/bin/python bench/postmortem.py [--quick]

An incident with 5,000 Slack messages (a tenth of them thread replies under 100 parents,
some pinned, some :pushpin:-ed, joins mixed in) and 500 issue events (label changes by
several people, and comments). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidentbot.adapters import github, pagerduty, slack
from incidentbot.core import config as configuration
from incidentbot.core.settings import Settings
from incidentbot.operations import incidents as operations
from incidentbot.operations import postmortem
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB, CAROL, DAN

CONFIG = configuration.load(ROOT / "incidentbot.yml")
T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def build(sb: Sandbox, messages: int, events: int) -> tuple[operations.Connections, int]:
    now = {"t": T0}
    sb.github.clock = lambda: now["t"]
    sb.slack.clock = lambda: now["t"].timestamp()
    settings = Settings.from_env({**sb.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"})
    c = operations.Connections(github.connect(settings), slack.connect(settings),
                               pagerduty.connect(settings), CONFIG, lambda: now["t"])
    issue, outcome = operations.open_incident(c, title="Busy incident", severity=2,
                                              services=["checkout"], reporter=ALICE,
                                              request_id="busy")
    channel_id = outcome.card.channel_id if outcome.card else ""
    people = [ALICE, BOB, CAROL, DAN]
    logins = ["alice", "bob", "carol", "dan"]
    with sb._hub.lock:
        state = sb.slack.state
        channel = state.channels[channel_id]
        channel["members"].extend(p for p in people if p not in channel["members"])
        parents: list[str] = []
        step = timedelta(seconds=3600 * 6 / max(messages, 1))
        for i in range(messages):
            now["t"] = T0 + step * (i + 1)
            user = people[i % len(people)]
            if i % 50 == 0:
                state.post(now["t"].timestamp(), user, channel,
                           {"text": "", "subtype": "channel_join"})
                continue
            thread = parents[i % len(parents)] if parents and i % 10 == 5 else None
            text = f"message {i}: checking `node-{i % 40}` *again* — see <https://x|dash>"
            message = state.post(now["t"].timestamp(), user, channel, {"text": text}, thread)
            if thread is None and len(parents) < 100 and i % 7 == 0:
                parents.append(str(message["ts"]))
            if i % 97 == 0:
                message.setdefault("pinned_to", []).append(channel_id)
            if i % 89 == 0:
                message.setdefault("reactions", []).append(
                    {"name": "pushpin", "users": [BOB], "count": 1})
    statuses = ["status:investigating", "status:fixing"]
    current = "status:open"
    for i in range(events):
        now["t"] = T0 + timedelta(seconds=20 * (i + 1))
        login = logins[i % len(logins)]
        if i % 5 == 4:
            sb.github_comment(login, issue.number, f"update {i}: still looking")
        else:
            label = statuses[i % 2] if statuses[i % 2] != current else statuses[(i + 1) % 2]
            sb.github_relabel(login, issue.number, add=[label], remove=[current])
            current = label
    return c, issue.number


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tenth of the size")
    args = parser.parse_args()
    messages, events = (500, 50) if args.quick else (5000, 500)
    for latency in ([0.0] if args.quick else [0.0, 0.3]):
        with Sandbox() as sb:
            c, number = build(sb, messages, events)
            if latency:
                sb.faults.add(kind="latency", seconds=latency, times=None)
            sb.clear_calls()
            started = time.perf_counter()
            facts = postmortem.gather(c.tracker, c.chat, CONFIG, number)
            gathered = time.perf_counter() - started
            calls = Counter(f"{x.service} {x.operation}" for x in sb.calls)
            sb.faults.clear()
            renders = []
            for _ in range(5):
                started = time.perf_counter()
                text = postmortem.render(facts, CONFIG)
                renders.append(time.perf_counter() - started)
        label = f"{latency * 1000:.0f} ms per call" if latency else "no latency"
        print(f"{messages:,} Slack messages, {events} issue events ({label}):")
        print(f"  gather: {gathered:.2f} s, {sum(calls.values())} API calls")
        for operation, n in sorted(calls.items(), key=lambda kv: -kv[1]):
            print(f"    {n:>4}  {operation}")
        if not latency:
            lines = [x for x in text.splitlines() if x.startswith(("- **", "- ★"))]
            print(f"  render: median {statistics.median(renders) * 1000:.0f} ms over 5; "
                  f"{len(text.encode()):,} bytes of Markdown, {len(lines):,} timeline lines")
    print("\nCalls grow with pages (200 messages, 100 events per page) and with threads "
          "(one conversations.replies per thread); people are named from incidentbot.yml, "
          "so users.info is asked only for people it does not list, once each.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
