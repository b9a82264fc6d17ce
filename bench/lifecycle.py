"""API calls per lifecycle operation, and wall time with 100 ms of latency on every call.

    .venv/bin/python bench/lifecycle.py [--quick]

Every call costs the repository's hourly API budget (GITHUB_TOKEN: 1,000 requests an hour),
so the figure to watch is calls per operation; the latency runs show what a person waits.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # history.py: past incidents as the product wrote them

from incidentbot.adapters import github, pagerduty, slack
from incidentbot.core import config as configuration
from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.settings import Settings
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import sync
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE

CONFIG = configuration.load(ROOT / "incidentbot.yml")


def connect(sb: Sandbox) -> operations.Connections:
    settings = Settings.from_env({**sb.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"})
    return operations.Connections(github.connect(settings), slack.connect(settings),
                                  pagerduty.connect(settings), CONFIG)


def connect_as(sb: Sandbox, identity: str) -> operations.Connections:
    settings = Settings.from_env({**sb.env(identity), "INCIDENTBOT_RETRY_BACKOFF": "0"})
    return operations.Connections(github.connect(settings), slack.connect(settings),
                                  pagerduty.connect(settings), CONFIG)


def run_workflows(sb: Sandbox, seen: int, config: configuration.Config = CONFIG,
                  now: datetime | None = None) -> tuple[int, int]:
    """The incident workflow's runs for the deliveries after `seen`, with the Actions token,
    as incident.yml's `if:` lets them start (not for a bot's events nor the card's own
    edits); returns (the last delivery seen, runs)."""
    runs = 0
    store = sb.github.store
    for d in sb.deliveries(seen):
        seen = d.seq
        card = d.comment is not None and d.comment in store.comments and \
            store.comments[d.comment].body.startswith("### Incident card")
        bot = store.users[d.actor.lower()].type == "Bot"
        if d.starts_workflows and not card and not bot:
            runs += 1
            run = connect_as(sb, "actions")  # every run is a new process: no ETag cache
            sync.sync(run.tracker, run.chat, run.pager, config, d.issue, now=now)
    return seen, runs


def deployment(sb: Sandbox) -> tuple[int, int, int]:
    """The lifecycle as a real deployment runs it: the dispatcher writes as a GitHub App, and
    a write GitHub delivers starts the incident workflow (the Actions token) unless a bot
    sent it or it is the card's own comment (incident.yml's `if:`). Returns (App requests,
    Actions requests, workflow runs)."""
    app = connect_as(sb, "app")
    app.tracker.ensure_labels(configuration.standard_labels(CONFIG))
    app_token = sb.env("app")["GITHUB_TOKEN"]
    actions_token = sb.env("actions")["GITHUB_TOKEN"]
    before = (sb.github.used(app_token), sb.github.used(actions_token))
    by = Attribution(ALICE, "Slack")
    seen = sb.deliveries()[-1].seq if sb.deliveries() else 0
    runs = 0

    def workflows() -> None:
        nonlocal seen, runs
        seen, started = run_workflows(sb, seen)
        runs += started

    issue, _ = operations.open_incident(app, title="Checkout returns 502", severity=2,
                                        services=["checkout"], reporter=ALICE, by=by)
    workflows()
    for status in (Status.FIXING, Status.FIXED):
        operations.update_incident(app, issue.number, Change(status=status), by=by)
        workflows()
    operations.close_incident(app, issue.number, force=True, by=by)
    workflows()
    return (sb.github.used(app_token) - before[0], sb.github.used(actions_token) - before[1],
            runs)


def spread(history: int = 0, gap: timedelta = timedelta(minutes=3)) -> tuple[int, int]:
    """(GitHub requests that count, Slack requests) of the lifecycle with its steps `gap`
    apart, as people take them: on GitHub's clock (a read after a card edit is no free 304)
    and on the claims' (a claim commit serves until a minute of it is left)."""
    from history import seed_past_incidents

    with Sandbox() as sb:
        seed_past_incidents(sb, history, public_every=10)
        moment = {"now": datetime.now(UTC).replace(microsecond=0)}
        sb.github.clock = lambda: moment["now"]
        base = connect(sb)
        c = operations.Connections(base.tracker, base.chat, base.pager, CONFIG,
                                   lambda: moment["now"])
        c.tracker.ensure_labels([("incident", "b60205", "")])
        by = Attribution(ALICE, "Slack")
        sb.clear_calls()
        issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=2,
                                            services=["checkout"], reporter=ALICE, by=by)
        for status in (Status.FIXING, Status.FIXED, Status.CLOSED):
            moment["now"] += gap
            change = Change(status=status, force=status is Status.CLOSED)
            operations.update_incident(c, issue.number, change, by=by)
        calls = sb.calls
        return (sum(1 for x in calls if x.service == "github" and x.status != 304),
                sum(1 for x in calls if x.service == "slack"))


def sweeps(quiet: int, history: int = 0) -> tuple[int, int]:
    """GitHub requests of one periodic sweep with `quiet` open incidents that nobody touched
    for an hour (commanded, not overdue), and then of the pass when all are overdue;
    `history` closed incidents filed before them (tests/history.py)."""
    import tempfile
    from dataclasses import replace

    from history import seed_past_incidents

    from incidentbot.operations import periodic

    config = replace(CONFIG, services=tuple(replace(s, checks=()) for s in CONFIG.services))
    with Sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        start = datetime.now(UTC).replace(microsecond=0)
        seed_past_incidents(sb, history, end=start, public_every=10)
        moment = {"now": start}
        sb.github.clock = lambda: moment["now"]
        c = connect(sb)
        c = operations.Connections(c.tracker, c.chat, c.pager, config, lambda: moment["now"])
        for i in range(quiet):
            operations.open_incident(c, title=f"Quiet {i}", severity=3,
                                     roles={"commander": ALICE})
        options = periodic.Options(data=Path(tmp) / "data")
        moment["now"] = start + timedelta(hours=1)
        sb.clear_calls()
        periodic.run(config, lambda: c, options, now=moment["now"])
        quiet_cost = len([x for x in sb.calls_to("github") if x.status != 304])
        moment["now"] = start + timedelta(hours=4, minutes=1)  # SEV3: an update every 4h
        sb.clear_calls()
        periodic.run(config, lambda: c, options, now=moment["now"])
        due_cost = len([x for x in sb.calls_to("github") if x.status != 304])
    return quiet_cost, due_cost


def measure(sb: Sandbox, run: Callable[[], object]) -> tuple[dict[str, int], float]:
    sb.clear_calls()
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    calls = sb.calls
    counts = {
        # A conditional GET answered 304 costs nothing against GitHub's hourly budget.
        "gh_read": sum(1 for c in calls if c.service == "github"
                       and c.operation.startswith("GET") and c.status != 304),
        "gh_304": sum(1 for c in calls if c.service == "github" and c.status == 304),
        "gh_write": sum(1 for c in calls if c.service == "github"
                        and not c.operation.startswith("GET")),
        "slack": sum(1 for c in calls if c.service == "slack"),
        "pd": sum(1 for c in calls if c.service == "pagerduty"),
    }
    return counts, elapsed


Scenario = tuple[str, Callable[[], object]]


def scenarios(sb: Sandbox, c: operations.Connections,
              issues: int) -> tuple[list[Scenario], Callable[[], None]]:
    """Each scenario prepares what it needs and returns the operation to measure."""
    state: dict[str, int] = {}

    def open_one() -> object:
        issue, _ = operations.open_incident(
            c, title="Checkout returns 502", severity=2, services=["checkout"], page=True,
            reporter=ALICE, by=Attribution(ALICE, "Slack"))
        state["n"] = issue.number
        return issue

    by = Attribution("carol", "CLI")  # as the CLI and the dispatcher always say who

    def status_change() -> object:
        return operations.update_incident(c, state["n"], Change(status=Status.FIXING), by=by)

    def noop() -> object:
        return sync.sync(c.tracker, c.chat, c.pager, CONFIG, state["n"])

    def sweep() -> object:
        return sync.sync_all(c.tracker, c.chat, c.pager, CONFIG, since=state_since["t"])

    state_since: dict[str, datetime] = {}

    def seed_sweep() -> None:
        store = sb.github.store
        with sb._hub.lock:
            store.now = "2026-01-01T00:00:00Z"
            for i in range(issues):
                store.create_issue("incidentbot-sandbox", f"Old incident {i}", None,
                                   ["incident", "status:closed", "sev:4"], [])
        state_since["t"] = datetime.now(UTC) - timedelta(minutes=30)
        sb.github_relabel("bob", state["n"], add=["sev:1"], remove=["sev:2"])

    def lifecycle() -> object:
        """The budget issue's lifecycle: open → fixing → fixed → close."""
        number = open_one()
        assert number is not None
        n = state["n"]
        operations.update_incident(c, n, Change(status=Status.FIXING), by=by)
        operations.update_incident(c, n, Change(status=Status.FIXED), by=by)
        return operations.close_incident(c, n, force=True, by=by)

    return [("open → provisioned channel", open_one),
            ("one status change", status_change),
            ("no-op re-sync", noop),
            (f"sync --all over {issues:,} incidents, 1 changed", sweep),
            ("whole lifecycle open → close", lifecycle)], seed_sweep


def operations_counted(issues: int, latencies: Sequence[float], history: int = 0,
                       ) -> tuple[dict[str, dict[str, int]], dict[str, list[float]]]:
    """Each scenario's request counts (from the first latency's run) and wall times (one per
    latency); `history` past incidents seeded first (tests/history.py)."""
    from history import seed_past_incidents

    counted: dict[str, dict[str, int]] = {}
    walls: dict[str, list[float]] = {}
    for latency in latencies:
        with Sandbox() as sb:
            seed_past_incidents(sb, history, public_every=10)
            c = connect(sb)
            c.tracker.ensure_labels([("incident", "b60205", ""), ("sev:1", "d93f0b", ""),
                                     ("sev:2", "d93f0b", ""), ("sev:4", "d93f0b", ""),
                                     ("status:closed", "fbca04", "")])
            named, seed = scenarios(sb, c, issues)
            if latency:
                sb.faults.add(kind="latency", seconds=latency, times=None)
            for name, run in named:
                if name.startswith("sync --all"):
                    sb.faults.clear()
                    seed()
                    if latency:
                        sb.faults.add(kind="latency", seconds=latency, times=None)
                counts, elapsed = measure(sb, run)
                counted.setdefault(name, counts)
                walls.setdefault(name, []).append(elapsed)
    return counted, walls


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100 issues, no latency run")
    args = parser.parse_args()
    issues = 100 if args.quick else 1000
    counted, walls = operations_counted(issues, [0.0] if args.quick else [0.0, 0.1])
    print(f"{'operation':<42} {'GH reads':>8} {'304 free':>8} {'GH writes':>9} {'Slack':>6} "
          f"{'PD':>3} {'wall':>8} {'wall @100ms':>12}")
    for name, counts in counted.items():
        times = " ".join(f"{t:>8.2f}s" if i == 0 else f"{t:>11.2f}s"
                         for i, t in enumerate(walls[name]))
        print(f"{name:<42} {counts['gh_read']:>8} {counts['gh_304']:>8} "
              f"{counts['gh_write']:>9} {counts['slack']:>6} {counts['pd']:>3} {times}")
    with Sandbox() as sb:
        app_requests, actions_requests, runs = deployment(sb)
    empty, _ = sweeps(0)
    quiet, due = sweeps(50)
    whole = counted["whole lifecycle open → close"]
    github_calls = whole["gh_read"] + whole["gh_write"]
    apart_gh, apart_slack = spread()
    print(f"\nA lifecycle open → fixing → fixed → close costs {github_calls} GitHub requests "
          f"(304s free) and {whole['slack']} Slack requests, in one process as the dispatcher "
          f"runs it (goal: 15 and 20); {apart_gh} and {apart_slack} with its steps three "
          "minutes apart (no read of the issue is a free 304 after a card edit then).")
    print(f"As a deployment runs it (Slack → dispatcher as a GitHub App): the App token spent "
          f"{app_requests} requests (its own budget); its writes started {runs} incident "
          f"workflow runs (incident.yml skips events a bot sent and the card's own edits), "
          f"which spent {actions_requests} of the Actions token's 1,000 an hour; what remains "
          "is the periodic sweep, the page build and what people do on GitHub.")
    print(f"One periodic sweep: {empty} GitHub requests with no open incident, {quiet} with 50 "
          f"quiet open incidents; {due} when all 50 are due a reminder (SEV3, every 4 h).")
    print("sync --all lists only incidents updated since the last sweep (GitHub's `since`), "
          f"so the {issues - 1:,} unchanged ones cost nothing.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
