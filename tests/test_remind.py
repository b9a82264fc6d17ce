"""Update reminders on a fake clock: one nudge per overdue period, reset by an update."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import CONFIG, ROOT, FakeClock, connections

from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import reading, sync
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)



@pytest.fixture
def clock(sandbox: Sandbox) -> FakeClock:
    return FakeClock(sandbox, T0)


@pytest.fixture
def c(sandbox: Sandbox, clock: FakeClock) -> operations.Connections:
    return connections(sandbox, clock=lambda: clock.now)


def nudges(sandbox: Sandbox, c: operations.Connections, number: int) -> list[str]:
    channel = reading.read(c.tracker, number, CONFIG).card.channel_id or ""
    return [m["text"] for m in sandbox.slack.messages(channel)
            if "bot_id" in m and (":alarm_clock:" in m["text"]
                                  or ":bust_in_silhouette:" in m["text"])]


def run_at(c: operations.Connections, clock: FakeClock, number: int, minutes: float) -> None:
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, number, now=clock.at(minutes))


def open_sev1(c: operations.Connections, **kwargs: object) -> int:
    issue, _ = operations.open_incident(c, title="Everything is down", severity=1,
                                        reporter=ALICE, request_id="r1",
                                        **kwargs)  # type: ignore[arg-type]
    return issue.number


def test_an_overdue_sev1_gets_one_nudge_per_period(c: operations.Connections,
                                                   sandbox: Sandbox, clock: FakeClock) -> None:
    number = open_sev1(c)
    operations.update_incident(c, number, Change(roles={"commander": BOB}))
    for minutes in (5, 20, 29):
        run_at(c, clock, number, minutes)
    assert nudges(sandbox, c, number) == []
    for minutes in (31, 35, 50, 59):  # SEV1: every 30 minutes
        run_at(c, clock, number, minutes)
    assert len(nudges(sandbox, c, number)) == 1
    run_at(c, clock, number, 61)
    run_at(c, clock, number, 70)
    posted = nudges(sandbox, c, number)
    assert len(posted) == 2
    assert f"<@{BOB}>" in posted[0]  # no comms lead: the commander is asked
    assert "1h 1m ago" in posted[1]


def test_an_update_resets_the_clock(c: operations.Connections, sandbox: Sandbox,
                                    clock: FakeClock) -> None:
    number = open_sev1(c)
    operations.update_incident(c, number, Change(roles={"comms": ALICE,
                                                        "commander": BOB}))
    run_at(c, clock, number, 31)
    assert len(nudges(sandbox, c, number)) == 1
    clock.at(40)
    operations.update_incident(c, number, Change(), note="Still degraded; failing over.",
                               by=Attribution(ALICE, "Slack"))
    for minutes in (45, 60, 69):
        run_at(c, clock, number, minutes)
    assert len(nudges(sandbox, c, number)) == 1  # 29 minutes since the update: not yet
    run_at(c, clock, number, 71)
    posted = nudges(sandbox, c, number)
    assert len(posted) == 2 and f"<@{ALICE}>" in posted[1]  # the comms lead first


def test_no_commander_gets_one_nudge(c: operations.Connections, sandbox: Sandbox,
                                     clock: FakeClock) -> None:
    issue, _ = operations.open_incident(c, title="Slow search", severity=4, reporter=ALICE,
                                        request_id="r2")
    for minutes in (5, 11, 15, 40):
        run_at(c, clock, issue.number, minutes)
    posted = nudges(sandbox, c, issue.number)
    assert len(posted) == 1 and "no commander for 11m" in posted[0]
    assert f"<@{ALICE}>" in posted[0]  # nobody else yet: the reporter


def test_fixed_closed_and_drill_incidents_get_none(c: operations.Connections,
                                                   sandbox: Sandbox, clock: FakeClock) -> None:
    fixed = open_sev1(c)
    operations.update_incident(c, fixed, Change(status=Status.FIXED))
    drill, _ = operations.open_incident(c, title="Practice", severity=1, drill=True,
                                        reporter=ALICE, request_id="r3")
    for minutes in (31, 61, 120):
        run_at(c, clock, fixed, minutes)
        run_at(c, clock, drill.number, minutes)
    assert nudges(sandbox, c, fixed) == []
    assert nudges(sandbox, c, drill.number) == []


def test_the_nudge_button_opens_the_update_form(c: operations.Connections, sandbox: Sandbox,
                                                clock: FakeClock) -> None:
    from incidentbot.entrypoints.dispatcher import Dispatcher
    from incidentbot.sandbox import DEFAULTS
    from incidentbot.sandbox.slack_requests import SlackRequests

    number = open_sev1(c)
    run_at(c, clock, number, 31)
    channel = reading.read(c.tracker, number, CONFIG).card.channel_id or ""
    (nudge,) = [m for m in sandbox.slack.messages(channel) if ":alarm_clock:" in m["text"]]
    button = nudge["blocks"][1]["elements"][0]
    assert button["action_id"] == "open_update" and button["value"] == str(number)
    secret = DEFAULTS["SLACK_SIGNING_SECRET"]
    d = Dispatcher(CONFIG, secret, lambda: c)
    clock.now = datetime.now(UTC)  # Slack signs with the real time
    request = SlackRequests(sandbox.slack, sandbox.url, secret).button(
        "open_update", str(number), channel=channel)
    assert d.handle(request.path, request.headers, request.body).status == 200
    d.drain()
    d.close()
    (form,) = sandbox.slack.views.values()
    assert form["callback_id"] == "incident_update"
    assert form["private_metadata"].endswith(f'"number": "{number}"}}')


def test_the_commander_nudge_waits_as_long_as_configured(sandbox: Sandbox,
                                                          clock: FakeClock) -> None:
    from dataclasses import replace

    from incidentbot.core import config as configuration

    text = (ROOT / "incidentbot.yml").read_text() + "\nreminders:\n  commander_after: 30m\n"
    config = configuration.parse(text, source="incidentbot.yml")
    assert config.reminders.commander_after == 30
    c = replace(connections(sandbox, config, clock=lambda: clock.now))
    issue, _ = operations.open_incident(c, title="Slow search", severity=4, reporter=ALICE,
                                        request_id="r9")
    for minutes in (11, 29, 31, 45):
        sync.sync(c.tracker, c.chat, c.pager, config, issue.number, now=clock.at(minutes))
    posted = nudges(sandbox, c, issue.number)
    assert len(posted) == 1 and "no commander for 31m" in posted[0]
