"""A burst of `/incident open` over real HTTP (waitress) while Slack is slow: every form shows.

Slack's trigger_id is good for 3 s after the command (the sandbox enforces it), so the modals
must not wait in a short queue behind each other. Counts, never times: how many forms were
shown and how many people were told theirs expired.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import waitress
from helpers import CONFIG, connections

from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_requests import SlackRequests

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]
BURST = 40
LATENCY = 0.5  # seconds on every views.open: 40 forms on 4 workers would need 5 s
EXPIRED = "could not open in time"


@pytest.fixture
def served(sandbox: Sandbox) -> Iterator[tuple[Dispatcher, str]]:
    disp = Dispatcher(CONFIG, SECRET, lambda: connections(sandbox),
                      allowed_teams=frozenset({"T0SANDBOX"}))
    server: Any = waitress.create_server(disp, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield disp, f"http://127.0.0.1:{server.effective_port}"
    finally:
        disp.drain(timeout=60)
        disp.close()
        server.close()
        thread.join(timeout=10)


def test_a_burst_of_open_commands_shows_every_form(served: tuple[Dispatcher, str],
                                                   sandbox: Sandbox) -> None:
    disp, base = served
    sends = SlackRequests(sandbox.slack, sandbox.url, SECRET)
    sandbox.faults.add(kind="latency", seconds=LATENCY, service="slack",
                       operation="views.open", times=None)

    def post(i: int) -> int:
        request = sends.command(f"open Burst {i}")  # the trigger_id is issued now
        with requests.Session() as session:
            return session.post(base + request.path, data=request.body,
                                headers=request.headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=10) as clients:
        statuses = list(clients.map(post, range(BURST)))
    disp.drain(timeout=60)

    assert statuses == [200] * BURST
    opened = sandbox.calls_to("slack", "views.open")
    assert len(opened) == BURST
    assert len(sandbox.slack.views) == BURST
    assert not [e for e in sandbox.slack.ephemerals if EXPIRED in e["text"]]
