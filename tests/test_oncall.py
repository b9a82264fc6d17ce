"""On-call brought in (issue 15, item 1): with a PagerDuty REST API key the first-level
on-call person of the service's (else the severity's) escalation policy is looked up
(GET /oncalls), found in Slack by email (users.lookupByEmail), invited and named in the
summary. Without a key, the Events API alone. Through the dispatcher, on the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CONFIG, connections
from test_slack_flow import incident_channel, open_via_modal

from incidentbot.core import config
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import reading, sync
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.pagerduty_api import API_KEY
from incidentbot.sandbox.slack_requests import SlackRequests

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]
DAN = "U0DAN00001"
CFG = config.parse(
    Path(CONFIG.source).read_text()
    .replace("    owners: [carol]\n", "    owners: [carol]\n    escalation_policy: PPAYS01\n")
    .replace("    update_every: 30m\n", "    update_every: 30m\n    escalation_policy: POUTSD1\n"),
    source=CONFIG.source)


def run(sandbox: Sandbox, title: str, severity: int, services: tuple[str, ...],
        **env: str) -> tuple[int, str]:
    d = Dispatcher(CFG, SECRET, lambda: connections(sandbox, CFG, **env),
                   allowed_teams=frozenset({"T0SANDBOX"}))
    try:
        number = open_via_modal(d, sandbox, SlackRequests(sandbox.slack, sandbox.url, SECRET),
                                title, severity, services=services)
    finally:
        d.drain()
        d.close()
    return number, incident_channel(sandbox)


def summary_of(sandbox: Sandbox, channel: str) -> str:
    return next(m["text"] for m in sandbox.slack.messages(channel)
                if m["text"].startswith(":rotating_light:"))


def rest_calls(sandbox: Sandbox) -> list[str]:
    return [c.operation for c in sandbox.calls if c.operation.startswith("GET /pagerduty")]


def test_the_on_call_person_is_invited_and_named(sandbox: Sandbox) -> None:
    number, channel = run(sandbox, "Admin down", 2, ("admin",), PAGERDUTY_API_KEY=API_KEY)
    assert DAN in sandbox.slack.state.channels[channel]["members"]
    assert f"On call: <@{DAN}> (Payments on-call)" in summary_of(sandbox, channel)
    assert rest_calls(sandbox) == ["GET /pagerduty/oncalls"]
    assert sandbox.pagerduty.alerts  # and paged, as before
    c = connections(sandbox, CFG, PAGERDUTY_API_KEY=API_KEY)
    card = reading.read(c.tracker, number, CFG).card
    assert card.oncall == {"PPAYS01": {"name": "Dan Example", "email": "dan@example.com",
                                       "policy": "Payments on-call"}}
    sandbox.clear_calls()  # asked once: later runs ask nobody
    sync.sync(c.tracker, c.chat, c.pager, CFG, number)
    assert rest_calls(sandbox) == []
    # The postmortem (committed on its review branch) names them too.
    outcome = sync.sync(c.tracker, c.chat, c.pager, CFG, number, postmortem=True)
    assert outcome.card is not None and outcome.card.postmortem_url
    path = f"incidents/{card.name[:4]}-{card.name[4:6]}/{card.name}.md"
    found = c.tracker.read_file(path, f"{CFG.postmortem.branch_prefix}{card.name}")
    assert found is not None and "| On call (Payments on-call) | Dan Example |" in found[0]


def test_the_severitys_policy_when_the_service_has_none_and_no_slack_account(
    sandbox: Sandbox
) -> None:
    _number, channel = run(sandbox, "Everything down", 1, (), PAGERDUTY_API_KEY=API_KEY)
    summary = summary_of(sandbox, channel)
    assert "On call: Zoe Contractor (zoe@contractor.example) (Contractors)" in summary


@pytest.mark.parametrize(("severity", "env"), [
    (2, {}),  # no REST key: the Events API alone
    (3, {"PAGERDUTY_API_KEY": API_KEY}),  # SEV3 does not page: nobody is brought in
])
def test_no_lookup_without_a_key_or_a_page(sandbox: Sandbox, severity: int,
                                           env: dict[str, str]) -> None:
    _number, channel = run(sandbox, "Admin slow", severity, ("admin",), **env)
    assert rest_calls(sandbox) == []
    assert DAN not in sandbox.slack.state.channels[channel]["members"]
    assert "On call" not in summary_of(sandbox, channel)


def test_a_refused_key_is_an_error_that_stops_nothing(sandbox: Sandbox) -> None:
    _number, channel = run(sandbox, "Admin down", 2, ("admin",), PAGERDUTY_API_KEY="wrong")
    assert rest_calls(sandbox) == ["GET /pagerduty/oncalls"]
    assert "On call" not in summary_of(sandbox, channel)
    assert sandbox.pagerduty.alerts
