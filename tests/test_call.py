"""A call link per incident (issue 15, item 4): `call:` is a fixed bridge or a pattern with
{name}; the channel bookmarks it and the summary names it. Through the dispatcher."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CONFIG, connections
from test_slack_flow import incident_channel, open_via_modal

from incidentbot.core import config
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import reading, sync
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_requests import SlackRequests

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]


@pytest.mark.parametrize(("call", "expected"), [
    ("https://meet.example.com/inc-{name}", "https://meet.example.com/inc-{name}"),
    ("https://zoom.example.com/j/123456", "https://zoom.example.com/j/123456"),
])
def test_the_call_is_bookmarked_and_in_the_summary(sandbox: Sandbox, call: str,
                                                   expected: str) -> None:
    cfg = config.parse(Path(CONFIG.source).read_text() + f'call: "{call}"\n',
                       source=CONFIG.source)
    d = Dispatcher(cfg, SECRET, lambda: connections(sandbox, cfg),
                   allowed_teams=frozenset({"T0SANDBOX"}))
    try:
        number = open_via_modal(d, sandbox, SlackRequests(sandbox.slack, sandbox.url, SECRET),
                                "Checkout down", 2)
    finally:
        d.drain()
        d.close()
    c = connections(sandbox, cfg)
    name = reading.read(c.tracker, number, cfg).card.name
    url = expected.format(name=name)
    channel = incident_channel(sandbox)
    marks = {b["title"]: b["link"] for b in sandbox.slack.state.bookmarks[channel]}
    assert marks["Call"] == url
    summary = next(m["text"] for m in sandbox.slack.messages(channel)
                   if m["text"].startswith(":rotating_light:"))
    assert f"Call: <{url}|{url}>" in summary
    # Converged: another run adds no second bookmark.
    sandbox.clear_calls()
    sync.sync(c.tracker, c.chat, c.pager, cfg, number)
    assert [x for x in sandbox.calls if x.operation == "bookmarks.add"] == []
