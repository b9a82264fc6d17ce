"""Subscribers hear each public update once, in their own format, and never a secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import CONFIG
from test_statuspage import NOW, issue

from incidentbot.core import config as configuration
from incidentbot.core.config import Subscriber
from incidentbot.core.errors import ConfigError
from incidentbot.core.render.publicincidents import public_incidents
from incidentbot.core.render.publicupdates import Update
from incidentbot.operations import subscriptions

SUBSCRIBED = replace(CONFIG, status_page=replace(CONFIG.status_page, subscribers=(
    Subscriber("slack", "$SLACK_STATUS_HOOK"), Subscriber("teams", "$TEAMS_HOOK"),
    Subscriber("json", "$JSON_HOOK"))))
INCIDENT = issue(1, "Checkout <!channel> is down", ("incident", "public", "sev:2",
                                                    "status:fixing", "service:checkout"))
PRIVATE = issue(2, "Secret zq7", ("incident", "private", "sev:1", "status:open"))


@pytest.fixture
def hooks() -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    got: list[tuple[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers["Content-Length"])
            got.append((self.path, json.loads(self.rfile.read(size))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", got
    server.shutdown()
    server.server_close()


def run(base: str, tmp_path: Path, updates: Mapping[int, list[Update]]) -> tuple[int, list[str]]:
    incidents = public_incidents([INCIDENT, PRIVATE], SUBSCRIBED, updates)
    found = subscriptions.notices(SUBSCRIBED, incidents, [], NOW)
    env = {"SLACK_STATUS_HOOK": f"{base}/slack", "TEAMS_HOOK": f"{base}/teams",
           "JSON_HOOK": f"{base}/json"}
    return subscriptions.deliver(SUBSCRIBED, found, tmp_path / "subscriptions.json",
                                 subscriptions.http_post, env)


def test_each_public_update_is_posted_once_per_subscriber(
        hooks: tuple[str, list[tuple[str, Any]]], tmp_path: Path) -> None:
    base, got = hooks
    first = {1: [Update("c10", NOW, "identified", "We found it.")]}
    assert run(base, tmp_path, first) == (0, [])  # subscribing starts now: no backlog
    assert got == []
    second = {1: [Update("c11", NOW, "identified", "Rolled back <@U0ALICE001>."),
                  *first[1]]}
    assert run(base, tmp_path, second) == (3, [])
    assert run(base, tmp_path, second) == (0, [])  # once
    by_path = dict(got)
    assert by_path["/slack"]["text"].startswith("*Checkout &lt;!channel&gt; is down*")
    assert "&lt;@U0ALICE001&gt;" in by_path["/slack"]["text"]  # pings no one
    assert by_path["/teams"]["@type"] == "MessageCard"
    assert by_path["/json"]["id"] == "incident:1:c11"
    assert by_path["/json"]["status"] == "identified"
    sent = (tmp_path / "subscriptions.json").read_text()
    assert "127.0.0.1" not in sent and "zq7" not in sent  # no URL, nothing private


def test_a_failed_post_is_tried_again_next_build(tmp_path: Path) -> None:
    calls: list[str] = []

    def refusing(url: str, body: Mapping[str, Any]) -> None:
        calls.append(url)
        raise OSError("connection refused")

    incidents = public_incidents([INCIDENT], SUBSCRIBED)
    found = subscriptions.notices(SUBSCRIBED, incidents, [], NOW)
    env = {"SLACK_STATUS_HOOK": "https://hooks.example/s", "TEAMS_HOOK": "https://t",
           "JSON_HOOK": "https://j"}
    ledger = tmp_path / "subscriptions.json"
    subscriptions.deliver(SUBSCRIBED, [], ledger, refusing, env)  # subscribed, nothing yet
    made, problems = subscriptions.deliver(SUBSCRIBED, found, ledger, refusing, env)
    assert made == 0 and len(problems) == 3 and "tried again next build" in problems[0]
    assert "hooks.example" not in " ".join(problems)
    delivered: list[str] = []
    made, _ = subscriptions.deliver(SUBSCRIBED, found, ledger,
                                    lambda url, body: delivered.append(url), env)
    assert made == 3 * len(found)


def test_webhook_urls_are_named_from_the_environment() -> None:
    config = configuration.parse("status_page:\n  subscribers:\n"
                                 "    - {type: slack, url: $SLACK_STATUS_HOOK}\n")
    assert config.status_page.subscribers[0].type == "slack"
    assert "SLACK_STATUS_HOOK" not in repr(config.status_page.subscribers[0])
    with pytest.raises(ConfigError, match="subscribers"):
        configuration.parse("status_page:\n  subscribers:\n"
                            "    - {type: slack, url: 'http://plain.example'}\n")


def test_a_slack_subscriber_s_title_is_bold_unless_it_has_marks_of_its_own() -> None:
    from incidentbot.operations.subscriptions import Notice, payload

    def text(title: str) -> str:
        n = Notice("incident:1:1", "incident", title, "investigating", "Looking", "", (), NOW)
        return str(payload("slack", n)["text"])

    assert text("Checkout down").startswith("*Checkout down* — Investigating: Looking")
    assert text("*50%* of checkouts fail").startswith("*50%* of checkouts fail — ")
