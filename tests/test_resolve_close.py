"""Resolve and close as separate steps (issue 15, item 5; Airplane's resolve): with
`slack.on_resolve: rename` the channel gets `-resolved` when fixed and stays open; the close
archives it later (`slack.on_close: archive`). Through the dispatcher."""

from __future__ import annotations

from pathlib import Path

from helpers import CONFIG, connections
from test_dispatcher import send
from test_slack_flow import incident_channel, open_via_modal

from incidentbot.core import config
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import sync
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_api import INCIDENTS
from incidentbot.sandbox.slack_requests import SlackRequests

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]
CFG = config.parse(Path(CONFIG.source).read_text().replace(
    "  on_close: archive\n", "  on_close: archive\n  on_resolve: rename\n"), source=CONFIG.source)


def test_resolve_renames_and_keeps_the_channel_close_archives_it(sandbox: Sandbox) -> None:
    assert CFG.slack.on_resolve == "rename"
    d = Dispatcher(CFG, SECRET, lambda: connections(sandbox, CFG),
                   allowed_teams=frozenset({"T0SANDBOX"}))
    s = SlackRequests(sandbox.slack, sandbox.url, SECRET)
    try:
        number = open_via_modal(d, sandbox, s, "Search slow", 4)
        channel = incident_channel(sandbox)
        state = sandbox.slack.state.channels[channel]
        name = state["name"]
        send(d, s.command("resolve", channel=channel))
        assert state["name"] == f"{name}-resolved" and not state["is_archived"]
        send(d, s.command("status fixing", channel=channel))  # it came back
        assert state["name"] == name
        send(d, s.command("resolve", channel=channel))
        assert state["name"] == f"{name}-resolved"
        c = connections(sandbox, CFG)
        sandbox.clear_calls()
        sync.sync(c.tracker, c.chat, c.pager, CFG, number)
        assert [x for x in sandbox.calls if x.operation == "conversations.rename"] == []
        assert not state["is_archived"]
        send(d, s.command(f"close {number}", channel=INCIDENTS))
        assert state["is_archived"] and state["name"] == f"{name}-resolved"
    finally:
        d.drain()
        d.close()


def test_without_on_resolve_the_channel_keeps_its_name_until_the_close(sandbox: Sandbox
                                                                      ) -> None:
    c = connections(sandbox)
    from incidentbot.operations import incidents as operations

    issue, outcome = operations.open_incident(c, title="Login slow", severity=4)
    operations.update_incident(c, issue.number, operations.change_from_options(
        CONFIG, status="fixed"))
    assert outcome.card is not None and outcome.card.channel_id is not None
    state = sandbox.slack.state.channels[outcome.card.channel_id]
    assert not state["name"].endswith("-resolved") and not state["is_archived"]
