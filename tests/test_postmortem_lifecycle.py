"""The postmortem of a monitor-opened SEV2 that becomes a SEV1: golden files before and after
the close, and its figures worked out by hand from the script below."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import CONFIG as BASE
from helpers import FakeClock, connections

from incidentbot.core import health
from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import monitor, reading, sync
from incidentbot.operations.evidence import DATA_BRANCH
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB, CAROL

GOLDEN = Path(__file__).parent / "golden"
# Checkout's code lives in the incident repository here (the sandbox serves one).
CONFIG = replace(BASE, services=tuple(
    replace(s, repos=("acme/incidents",)) if s.slug == "checkout" else s
    for s in BASE.services))
FIRST_FAILED = datetime(2026, 11, 20, 13, 50, tzinfo=UTC)
T0 = datetime(2026, 11, 20, 13, 55, tzinfo=UTC)  # the second failed run: the monitor opens
BRANCH = "postmortem/"


def samples(until: datetime) -> str:
    """Checkout's health checks every 5 minutes from 12:50: down from 13:50 to 14:05."""
    lines = []
    t = datetime(2026, 11, 20, 12, 50, tzinfo=UTC)
    while t <= until:
        down = FIRST_FAILED <= t <= FIRST_FAILED + timedelta(minutes=15)
        line = {"t": t.isoformat().replace("+00:00", "Z"), "state": "down" if down else "up",
                "code": 502 if down else 200, "ms": 3000 if down else 180 + t.minute,
                "run": "r", "where": "test"}
        lines.append(json.dumps(line, separators=(",", ":")))
        t += timedelta(minutes=5)
    return "\n".join(lines) + "\n"


def lifecycle(sandbox: Sandbox) -> tuple[operations.Connections, FakeClock, int, str]:
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, CONFIG, clock=lambda: clock.now)
    # What changed: a pull request merged at 11:50 and deployed at 13:20; one merged at
    # 07:30, before the six hours "what changed?" looks at.
    for minutes, branch in ((-385, "tidy"), (-125, "lb-timeouts")):
        clock.at(minutes)
        c.tracker.ensure_branch(branch, "main")
        c.tracker.write_file(f"{branch}.txt", branch, f"Change {branch}", branch)
        url = c.tracker.ensure_pull(branch, "main", f"Shorter {branch}", "")
        clock.at(minutes + 5)
        sandbox.github_merge("dan", int(url.rsplit("/", 1)[1]))
    clock.at(-35)
    sandbox.github_deploy("carol", "main", "production", "release 2026.11.20")
    clock.at(0)
    c.tracker.ensure_branch(DATA_BRANCH, c.tracker.default_branch())
    c.tracker.write_file("checkout/2026-11.ndjson", samples(T0), "checks", DATA_BRANCH)
    states = {"checkout": health.ServiceState(
        state=health.DOWN, since="2026-11-20T13:55:00Z", fails=2,
        first_failed="2026-11-20T13:50:00Z")}
    said = monitor.open_for_outages(
        c, CONFIG, [health.Transition("checkout", health.DOWN, "HTTP 502")], states)
    assert said == ["checkout: down; opened #3"]  # after the two pull requests
    number = 3
    channel = reading.read(c.tracker, number, CONFIG).card.channel_id or ""
    with sandbox._hub.lock:
        sandbox.slack.state.channels[channel]["members"].extend([ALICE, BOB, CAROL])
    clock.at(2)  # 13:57
    sandbox.slack.post_as(BOB, channel, "Looking. 502s from the load balancer.")
    clock.at(3)
    operations.update_incident(c, number, Change(roles={"commander": BOB}),
                               by=Attribution(ALICE, "Slack"))
    clock.at(5)  # 14:00
    operations.update_incident(c, number, Change(severity=1),
                               by=Attribution(BOB, "Slack"))
    clock.at(8)
    sandbox.github_relabel("bob", number, add=["status:fixing"], remove=["status:open"])
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, number, now=clock.now)
    clock.at(10)
    operations.update_incident(c, number, Change(), note="Rolled back deploy 4411.",
                               by=Attribution(CAROL, "Slack"))
    clock.at(12)
    operations.update_incident(
        c, number, Change(), by=Attribution(ALICE, "Slack"),
        note="Public update: Checkout is recovering; a few payments may have failed.")
    clock.at(14)
    sandbox.github_comment("dan", number, "Customers confirm recovery.")
    clock.at(20)  # 14:15, the second good run: the monitor moves it to fixed
    c.tracker.write_file("checkout/2026-11.ndjson", samples(clock.now), "checks", DATA_BRANCH)
    monitor.open_for_outages(
        c, CONFIG, [health.Transition("checkout", health.UP, "up")], states)
    clock.at(25)
    operations.update_incident(c, number, Change(roles={"comms": CAROL}),
                               by=Attribution(BOB, "Slack"))
    clock.at(30)  # 14:25
    operations.update_incident(c, number, Change(status=Status.POSTMORTEM),
                               by=Attribution("carol", "CLI"))
    name = reading.read(c.tracker, number, CONFIG).card.name
    return c, clock, number, name


def committed(c: operations.Connections, name: str) -> str:
    found = c.tracker.read_file(f"incidents/2026-11/{name}.md", BRANCH + name)
    assert found is not None
    return found[0]


def golden(name: str, text: str) -> None:
    """Compared with commit shas masked: the sandbox's first commit is made at the real
    time the sandbox was reset, so every sha after it differs from run to run."""
    sha = re.search(r"/commit/([0-9a-f]{40})", text)
    if sha is not None:
        text = text.replace(sha.group(1), "<sha>").replace(sha.group(1)[:7], "<sha7>")
        # The digest of the region that shows the sha changes with it.
        text = re.sub(r"(incidentbot:begin changes) [0-9a-f]{12} -->", r"\1 <digest> -->", text)
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_before_and_after_the_close(sandbox: Sandbox) -> None:
    c, clock, number, name = lifecycle(sandbox)
    before = committed(c, name)
    golden("postmortem-lifecycle-draft.md", before)
    # Worked out from the script: the start is the first failed check, 13:50; the monitor
    # opened it at 13:55; bob answered at 13:57; the monitor saw it up and moved it to fixed
    # at 14:15; carol moved it to postmortem at 14:25.
    assert "All times run from the start: 2026-11-20 13:50 UTC (14:50 CET)" in before
    assert "| Time to detect | 5m |" in before
    assert "| Time to acknowledge | 7m |" in before
    assert "| Time to mitigate (to fixed) | 25m |" in before
    assert "| Time to resolve (to postmortem or closed) | 35m |" in before
    assert "| Total duration (to closed) | — |" in before
    assert "- Impact window: 2026-11-20 13:50 – 14:15 UTC (25m)" in before
    assert "- Checkout: down 20m (health checks)" in before  # samples 13:50 … 14:05, 5m each
    people = "| People involved | Alice Example, Bob Example, Carol Example, Dan Example |"
    assert people in before

    timeline = before.split("<!-- incidentbot:begin timeline")[1]
    timeline = timeline.split("-->", 1)[1]
    timeline = timeline.split("<!--")[0]
    lines = timeline.strip().splitlines()
    assert "13:50** (14:50 CET) · health checks (monitor): First failed health check" in lines[0]
    assert "13:55** (14:55 CET) · health checks (monitor): Incident opened" in lines[1]
    expected = [
        "health checks (monitor): On-call paged",
        "Bob Example (Slack): Looking. 502s",
        "Alice Example (Slack): Incident commander → Bob Example",
        "Bob Example (Slack): Severity → SEV1",
        "Bob Example (GitHub): Status → fixing",
        "Carol Example (Slack): Rolled back deploy 4411.",
        "Alice Example (Slack): Public update: Checkout is recovering",
        "Dan Example (GitHub): Customers confirm recovery.",
        "health checks (monitor): Health checks say Checkout is up again.",
        "health checks (monitor): Status → fixed",
        "health checks (monitor): Page resolved",
        "Bob Example (Slack): Communications lead → Carol Example",
        "Carol Example (CLI): Status → postmortem",
    ]
    for line, wanted in zip(lines[2:], expected, strict=True):
        assert wanted in line, (line, wanted)
    assert "incidentbot" not in timeline and "sandbox" not in timeline
    communication = before.split("<!-- incidentbot:begin communication")[1]
    communication = communication.split("-->", 1)[1]
    assert communication.startswith("\n- **2026-11-20 14:07** (15:07 CET) · Alice Example "
                                    "(Slack): Checkout is recovering; a few payments may "
                                    "have failed.\n")

    # What changed: in the channel when it opened, and in the postmortem.
    changes = before.split("<!-- incidentbot:begin changes")[1]
    changes = changes.split("-->", 1)[1]
    changes = changes.split("<!--")[0]
    sha = changes.split("/commit/")[1].split(")")[0]
    assert changes.strip().splitlines() == [
        "- **2026-11-20 11:55** (12:55 CET) · acme/incidents: [\\#2 Shorter lb-timeouts "
        "(merged)](https://github.com/acme/incidents/pull/2) — incidentbot-sandbox",
        f"- **2026-11-20 13:20** (14:20 CET) · acme/incidents: [deployed main ({sha[:7]}) to "
        f"production: release 2026.11.20](https://github.com/acme/incidents/commit/{sha}) — "
        "Carol Example"]
    channel = reading.read(c.tracker, number, CONFIG).card.channel_id or ""
    said = [m["text"] for m in sandbox.slack.messages(channel) if "What changed?" in m["text"]]
    assert len(said) == 1 and said[0].count("\n• ") == 2
    assert "• 2h 0m before: <https://github.com/acme/incidents/pull/2|acme/incidents> " \
           "#2 Shorter lb-timeouts (merged)" in said[0]
    assert "tidy" not in said[0] and "tidy" not in changes  # merged before the six hours

    # An owner and a meeting: the commander owns it, role holders and service owners review.
    pull = c.tracker.find_pull(BRANCH + name, "main")
    assert pull is not None and pull.assignees == ("bob",)
    assert pull.reviewers == ("carol", "alice")
    assert "| Postmortem owner | Bob Example (@bob) |" in before
    posted = [m["text"] for m in sandbox.slack.messages(
        reading.read(c.tracker, number, CONFIG).card.channel_id or "")]
    notice = next(t for t in posted if t.startswith(":memo: The postmortem is drafted"))
    assert "Owner: <@U0BOB00001>" in notice and "Reviewers: <@U0CAROL001>, <@U0ALICE001>" in notice
    # Resolved Friday 20 November 14:25 UTC: three working days on is Wednesday the 25th,
    # 14:00 in Berlin (CET, UTC+1).
    assert ":calendar: Review meeting with everyone involved, proposed for Wed 25 Nov 14:00 " \
           "CET" in notice and f"/blob/{BRANCH}{name}/incidents/2026-11/{name}.ics|" in notice
    invitation = c.tracker.read_file(f"incidents/2026-11/{name}.ics", BRANCH + name)
    assert invitation is not None
    assert "DTSTART:20261125T130000Z\r\nDTEND:20261125T134500Z\r\n" in invitation[0]
    assert 'ATTENDEE;CN="Alice Example";ROLE=REQ-PARTICIPANT:mailto:alice@example.com' \
        in invitation[0]
    assert all(len(line.encode()) <= 75 for line in invitation[0].split("\r\n"))

    # People write; then the incident closes and the figures are made final.
    path = f"incidents/2026-11/{name}.md"
    written = before.replace("_What stopped the harm, and what brought everything back to "
                             "normal._", "We rolled back deploy 4411.")
    c.tracker.write_file(path, written, "Resolution", BRANCH + name)
    clock.at(60)  # 14:55
    c.tracker.write_file("checkout/2026-11.ndjson", samples(clock.now), "checks", DATA_BRANCH)
    operations.close_incident(c, number, by=Attribution("root", "CLI"))
    after = committed(c, name)
    golden("postmortem-lifecycle-closed.md", after)
    assert "We rolled back deploy 4411." in after  # what people wrote stays
    assert "| Total duration (to closed) | 1h 5m |" in after
    assert "| Time to resolve (to postmortem or closed) | 35m |" in after
    assert "closed: '2026-11-20T14:55:00Z'" in after
    assert "root (CLI): Incident closed" in after
    assert people in after  # root is shown where it acted, never among the people
    assert after.count("Incident closed") == 1
    graph = c.tracker.read_file(f"incidents/2026-11/{name}.svg", BRANCH + name)
    assert graph is not None and f"]({name}.svg)" in after
    assert graph[0].count("<rect x=") == 4  # the four failed checks, 13:50 to 14:05
    assert "mitigated 14:15" in graph[0] and "start 13:50" in graph[0]
    index = c.tracker.read_file("incidents/README.md", BRANCH + name)
    assert index is not None and "| 1h 5m |" in index[0]


@pytest.mark.parametrize("who", ["incidentbot[bot]", "github-actions[bot]", "incidentbot"])
def test_the_bot_is_never_a_person(who: str) -> None:
    from incidentbot.core.identity import is_bot

    assert is_bot(who) and is_bot("alice", own={"alice"}) and not is_bot("alice")


def test_a_repository_the_token_cannot_read_is_said_not_retried(sandbox: Sandbox) -> None:
    from incidentbot.operations import changes

    c = connections(sandbox, CONFIG)
    config = replace(CONFIG, services=tuple(
        replace(s, repos=("acme/elsewhere",)) if s.slug == "checkout" else s
        for s in CONFIG.services))
    found = changes.recent(c.tracker, config, ["checkout"], T0)
    assert [(x.kind, x.repo) for x in found] == [("error", "acme/elsewhere")]
    text = changes.message(found, ["acme/elsewhere"], T0)
    assert "No pull request was merged" in text and ":warning: `acme/elsewhere` could not " \
        "be read" in text


def test_someone_assigned_on_github_owns_it_and_a_forged_note_is_only_text(
    sandbox: Sandbox,
) -> None:
    from incidentbot.operations import evidence

    c, clock, number, name = lifecycle(sandbox)
    pull = c.tracker.find_pull(BRANCH + name, "main")
    assert pull is not None
    with sandbox._hub.lock:  # dan takes it over on GitHub
        store = sandbox.github.store
        store.remove_assignees("bob", store.issue(pull.number), ["bob"])
        store.add_assignees("bob", store.issue(pull.number), ["dan"])
    clock.at(40)
    sandbox.github_comment("mallory", number,
                           "<!-- incidentbot:note U0ALICE001 Slack -->\nPublic update: all fine")
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, number, postmortem=True, now=clock.now)
    text = committed(c, name)
    assert "| Postmortem owner | Dan Example (@dan) |" in text
    after = c.tracker.find_pull(BRANCH + name, "main")
    assert after is not None and after.assignees == ("dan",)  # bob is not put back
    facts = evidence.gather(c.tracker, c.chat, CONFIG, number)
    forged = [e for e in facts.timeline.entries if "all fine" in e.text]
    assert [(e.who, e.kind) for e in forged] == [("mallory", "outside")]
