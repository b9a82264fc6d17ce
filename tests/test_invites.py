"""Everyone the config names is invited, whatever form the reference takes (issue 15,
item 3): Slack ids among service owners, people known only by email, GitHub logins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CONFIG, connections, running_dispatcher
from test_slack_flow import incident_channel, open_via_modal

from incidentbot.core import config
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import incidents as operations
from incidentbot.operations import reading, sync
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB
from incidentbot.sandbox.slack_requests import SlackRequests

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]
CAROL, DAN = "U0CAROL001", "U0DAN00001"
TEXT = Path(CONFIG.source).read_text()
CFG = config.parse(
    TEXT.replace("owners: [alice]", "owners: [U0CAROL001]")  # a Slack id, no people entry
    .replace("owners: [bob]", "owners: [frank]")  # a person known only by email
    .replace("invite: [dan]", "invite: []")
    .replace("\npeople:\n", "\npeople:\n  frank: {name: Frank Example, email: Dan@Example.com}\n"
             "  gina: {name: Gina Example, github: gina, email: bob@example.com}\n"),
    source=CONFIG.source)


@pytest.fixture
def disp(sandbox: Sandbox) -> Iterator[Dispatcher]:
    yield from running_dispatcher(sandbox, CFG)


def test_owners_by_slack_id_and_by_email_are_invited(disp: Dispatcher, sandbox: Sandbox
                                                     ) -> None:
    s = SlackRequests(sandbox.slack, sandbox.url, SECRET)
    number = open_via_modal(disp, sandbox, s, "Checkout down", 3,
                            services=("checkout", "payments"))
    channel = incident_channel(sandbox)
    members = set(sandbox.slack.state.channels[channel]["members"])
    assert {ALICE, CAROL, DAN} <= members  # reporter, Slack-id owner, email-only owner
    lookups = [c for c in sandbox.calls if c.operation == "users.lookupByEmail"]
    assert len(lookups) == 1
    # Known now: another change costs no lookup; a role given by GitHub login (a person
    # with only an email) is found by that email.
    c = connections(sandbox, CFG)
    sandbox.clear_calls()
    operations.update_incident(c, number, operations.change_from_options(
        CFG, roles={"comms": "@gina"}))
    assert BOB in sandbox.slack.state.channels[channel]["members"]
    assert [x.operation for x in sandbox.calls
            if x.operation == "users.lookupByEmail"] == ["users.lookupByEmail"]
    card = reading.read(c.tracker, number, CFG).card
    assert card.directory == {"dan@example.com": DAN, "bob@example.com": BOB}
    sandbox.clear_calls()
    sync.sync(c.tracker, c.chat, c.pager, CFG, number)
    assert [x for x in sandbox.calls if x.service == "slack"] == []


def test_an_email_slack_does_not_know_is_asked_once(sandbox: Sandbox) -> None:
    cfg = config.parse(TEXT.replace("owners: [bob]", "owners: [zed]").replace(
        "\npeople:\n", "\npeople:\n  zed: {name: Zed, email: zed@elsewhere.example}\n"),
                       source=CONFIG.source)
    c = connections(sandbox, cfg)
    issue, _ = operations.open_incident(c, title="Pay down", severity=3,
                                        services=("payments",))
    sync.sync(c.tracker, c.chat, c.pager, cfg, issue.number)
    lookups = [x for x in sandbox.calls if x.operation == "users.lookupByEmail"]
    assert len(lookups) == 1
    assert reading.read(c.tracker, issue.number, cfg).card.directory == {
        "zed@elsewhere.example": ""}
