"""False alarms: closed as not planned from Slack, the CLI or a comment; no postmortem asked,
left out of the metrics, still on record (and named in the timeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import CONFIG, FakeClock, connections

from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import evidence, metrics, reading, sync
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def test_a_false_alarm_is_on_record_but_not_in_the_metrics(sandbox: Sandbox) -> None:
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, clock=lambda: clock.now)
    real, _ = operations.open_incident(c, title="Checkout slow", severity=2,
                                       reporter=ALICE, request_id="fa-1")
    alarm, _ = operations.open_incident(c, title="Checkout down?", severity=2,
                                        reporter=ALICE, request_id="fa-2")
    clock.at(10)
    operations.update_incident(c, real.number, Change(status=Status.FIXED),
                               by=Attribution(ALICE, "Slack"))
    clock.at(12)
    operations.close_incident(c, alarm.number, by=Attribution(ALICE, "Slack"),
                              false_alarm=True)
    closed = c.tracker.get_issue(alarm.number)
    assert closed.state == "closed" and closed.state_reason == "not_planned"
    assert "status:closed" in closed.labels
    snap = reading.read(c.tracker, alarm.number, CONFIG)
    assert snap.card.postmortem_url is None and snap.card.archived
    records = metrics.gather(c.tracker, CONFIG, since=T0 - timedelta(days=1))
    assert [r.number for r in records] == [real.number]
    facts = evidence.gather(c.tracker, c.chat, CONFIG, alarm.number)
    assert facts.timeline.figures is not None and facts.timeline.figures.false_alarm
    said = [e.text for e in facts.timeline.entries if e.kind == "change"]
    assert said.count("Incident closed as a false alarm") == 1 and "Incident closed" not in said


def test_a_comment_command_closes_as_a_false_alarm(sandbox: Sandbox) -> None:
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, clock=lambda: clock.now)
    issue, _ = operations.open_incident(c, title="Paged for nothing", severity=3,
                                        reporter=ALICE, request_id="fa-3")
    clock.at(5)
    sandbox.github_comment("bob", issue.number, "/close false-alarm")
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, issue.number, now=clock.now)
    closed = c.tracker.get_issue(issue.number)
    assert closed.state == "closed" and closed.state_reason == "not_planned"


def test_the_cli_and_slack_offer_it(sandbox: Sandbox) -> None:
    from click.testing import CliRunner

    from incidentbot.core.render.views import help_text
    from incidentbot.entrypoints.cli import main

    assert "--false-alarm" in CliRunner().invoke(main, ["close", "--help"]).output
    assert "/incident close --false-alarm" in help_text(CONFIG)
