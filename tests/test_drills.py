"""Drills on the sandbox with a fake clock: injects in order, once, across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import CONFIG, ROOT, FakeClock, connections

from incidentbot.core.commands import Change
from incidentbot.core.errors import ConfigError, InvalidInput
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import drills, reading
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)



@pytest.fixture
def clock(sandbox: Sandbox) -> FakeClock:
    return FakeClock(sandbox, T0)


@pytest.fixture
def c(sandbox: Sandbox, clock: FakeClock) -> operations.Connections:
    return connections(sandbox, clock=lambda: clock.now)


@pytest.mark.parametrize("name", ["checkout-deploy", "database-failover", "quick"])
def test_the_shipped_scenarios_load(name: str) -> None:
    scenario = drills.load(name, CONFIG, ROOT)
    assert scenario.injects and scenario.expect


@pytest.mark.parametrize(("text", "error"), [
    ("name: x\ntitle: y\n", "injects: required"),
    ("name: x\ntitle: y\ninjects: [{at: soon, text: hi}]\n", "injects[0].at: expected a "
                                                              "duration like 90s, 5m or 1h"),
    ("name: x\ntitle: y\nseverity: 9\ninjects: [{at: 1m, text: hi}]\n", "severity: expected"),
    ("name: x\ntitle: y\ninjects: [{at: 1m, text: hi}]\nexpect: [{what: dance, within: 1m}]\n",
     "expect[0].what: expected one of commander"),
    ("name: x\ntitle: y\ninjects: [{at: 1m, text: hi}]\nexpect: [{what: status, within: 1m}]\n",
     "expect[0].value: required for status"),
    ("name: x\ntitle: y\nspeed: 3\ninjects: [{at: 1m, text: hi}]\n", "unknown key(s) speed"),
])
def test_a_wrong_scenario_says_what_and_where(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        drills.parse(text, "x", CONFIG, source="drills/x.yml")
    assert error in str(caught.value) and str(caught.value).startswith("drills/x.yml: ")


def test_an_unknown_scenario_lists_the_available_ones() -> None:
    with pytest.raises(InvalidInput, match="available: checkout-deploy, database-failover"):
        drills.load("nope", CONFIG, ROOT)


def injects_in(sandbox: Sandbox, channel: str) -> list[str]:
    return [m["text"] for m in sandbox.slack.messages(channel) if ":performing_arts:" in m["text"]]


def test_a_scenario_plays_in_order_and_a_restart_neither_repeats_nor_skips(
    c: operations.Connections, sandbox: Sandbox, clock: FakeClock
) -> None:
    scenario = drills.load("checkout-deploy", CONFIG, ROOT)
    actions = {timedelta(minutes=3): (Change(roles={"commander": BOB}), ""),
               timedelta(minutes=7): (Change(severity=2), ""),
               timedelta(minutes=11): (Change(), "Checkout is failing for 40% of payments."),
               timedelta(minutes=14): (Change(status=Status.FIXING), "")}
    stop_after = timedelta(minutes=5)
    state: dict[str, int] = {}

    def sleep(seconds: float) -> None:
        target = clock.now + timedelta(seconds=seconds)
        for at in sorted(actions):
            if T0 + at <= target:
                clock.now = max(clock.now, T0 + at)
                change, note = actions.pop(at)
                operations.update_incident(c, state["n"], change, note=note,
                                           by=Attribution(BOB, "Slack"))
        clock.now = target
        if clock.now - T0 >= stop_after and "stopped" not in state:
            state["stopped"] = 1
            raise KeyboardInterrupt  # the runner dies mid-drill

    runner = drills.run(c, scenario, sleep=sleep, reporter=ALICE)
    with pytest.raises(KeyboardInterrupt):
        for line in runner:
            if line.startswith("drill #"):
                state["n"] = int(line.split("#")[1].split(" ")[0])
    number = state["n"]
    channel = reading.read(c.tracker, number, CONFIG).card.channel_id or ""
    assert len(injects_in(sandbox, channel)) == 2  # T+2m and T+4m

    clock.now = T0 + timedelta(minutes=7)  # people go on while the runner is down
    operations.update_incident(c, number, actions.pop(timedelta(minutes=7))[0],
                               by=Attribution(BOB, "Slack"))
    clock.now = T0 + timedelta(minutes=10)  # restarted five minutes later, with --issue
    lines = list(drills.run(c, scenario, number=number, sleep=sleep))
    posted = injects_in(sandbox, channel)
    assert [p.split("*[DRILL] ")[1].split(":*")[0] for p in posted] == [
        "T+2m", "T+4m", "T+6m", "T+9m", "T+12m"]
    assert "drill #" in lines[-1] and "closed" in lines[-1]

    snap = reading.read(c.tracker, number, CONFIG)
    assert snap.issue.state == "closed" and snap.fields.drill
    marks = {r.split(": ", 1)[0].strip(): r.split(": ", 1)[1] for r in lines if ": " in r
             and r.startswith("  ")}
    assert marks["A commander is assigned"] == "✅ at T+3m"
    assert marks["Severity raised to SEV2 (double charges)"] == "✅ at T+7m"
    assert marks["A first stakeholder update is posted"] == "⚠️ late, at T+11m"
    assert marks["Status moved to fixing"] == "✅ at T+14m"
    debrief = c.tracker.read_file(
        f"incidents/drills/2026-11-20-{snap.card.name}.md", "main")
    assert debrief is not None and "**3 of 4** expectations met on time." in debrief[0]
    # A drill tells nobody outside its own channel.
    assert [m for m in sandbox.slack.messages("C0INCIDENTS") if "bot_id" in m] == []
    assert sandbox.pagerduty.alerts == {}
    assert snap.card.channel_name and snap.card.channel_name.startswith("drill-")


def test_slack_drill_command_names_the_scenarios_and_refuses_unknown(sandbox: Sandbox) -> None:
    from incidentbot.entrypoints.dispatcher import Dispatcher
    from incidentbot.sandbox import DEFAULTS
    from incidentbot.sandbox.slack_requests import SlackRequests

    secret = DEFAULTS["SLACK_SIGNING_SECRET"]
    d = Dispatcher(CONFIG, secret, lambda: pytest.fail("no connection needed"))
    s = SlackRequests(sandbox.slack, sandbox.url, secret)
    for text, said in [("drill", "`checkout-deploy`"), ("drill nope", "no drill scenario")]:
        request = s.command(text)
        reply = d.handle(request.path, request.headers, request.body)
        assert isinstance(reply.body, dict) and said in reply.body["text"]
    d.close()
