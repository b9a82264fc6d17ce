"""Beyond Slack (issue 15, item 7): per-severity notifications to a Microsoft Teams incoming
webhook, a generic JSON webhook and email (SMTP, the sandbox's receiver), each sent once per
change, keyed. Through the dispatcher, on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CONFIG, connections
from test_dispatcher import send
from test_slack_flow import incident_channel, open_via_modal

from incidentbot.core import config
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import reading, sync
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_requests import SlackRequests

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]


def make_config(sandbox: Sandbox) -> config.Config:
    return config.parse(Path(CONFIG.source).read_text() + f"""
notify:
  - {{name: ops-teams, type: teams, url: "{sandbox.url}/webhooks/teams/ops", severities: [1, 2]}}
  - {{name: audit, type: webhook, url_env: AUDIT_WEBHOOK_URL}}
  - {{name: major-incidents, type: email, to: [majors@example.com], severities: [1]}}
""", source=CONFIG.source)


@pytest.fixture
def cfg(sandbox: Sandbox, sandbox_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> config.Config:
    monkeypatch.setenv("AUDIT_WEBHOOK_URL", f"{sandbox.url}/webhooks/json/audit")
    return make_config(sandbox)


@pytest.fixture
def disp(sandbox: Sandbox, cfg: config.Config) -> Iterator[Dispatcher]:
    d = Dispatcher(cfg, SECRET, lambda: connections(sandbox, cfg),
                   allowed_teams=frozenset({"T0SANDBOX"}))
    yield d
    d.drain()
    d.close()


def counts(sandbox: Sandbox) -> tuple[int, int, int]:
    return (len(sandbox.webhooks.received("teams/ops")),
            len(sandbox.webhooks.received("json/audit")), len(sandbox.smtp.messages))


def test_each_target_is_told_once_per_change(disp: Dispatcher, sandbox: Sandbox,
                                             cfg: config.Config) -> None:
    s = SlackRequests(sandbox.slack, sandbox.url, SECRET)
    number = open_via_modal(disp, sandbox, s, "Checkout <!channel> *down*", 1,
                            services=("checkout",))
    assert counts(sandbox) == (1, 1, 1)
    card = sandbox.webhooks.received("teams/ops")[0]
    assert card["@type"] == "MessageCard"
    assert card["title"].endswith("Checkout \\<!channel\\> \\*down\\*")  # Markdown escaped
    audit = sandbox.webhooks.received("json/audit")[0]
    assert audit["event"] == "incident.opened" and audit["incident"]["severity"] == "SEV1"
    assert sandbox.webhooks.deliveries[0]["key"].startswith("notify:")
    mail = sandbox.smtp.messages[0]
    assert mail["to"] == ["majors@example.com"]
    assert mail["message"]["Subject"] == "[SEV1] Checkout <!channel> *down* — open"
    assert f"#{number}" in mail["message"].get_content()

    c = connections(sandbox, cfg)
    sync.sync(c.tracker, c.chat, c.pager, cfg, number)  # nothing changed: nothing sent
    assert counts(sandbox) == (1, 1, 1)
    send(disp, s.command("status fixing", channel=incident_channel(sandbox)))
    assert counts(sandbox) == (2, 2, 2)
    assert sandbox.webhooks.received("json/audit")[-1]["event"] == "incident.changed"
    keys = [d["key"] for d in sandbox.webhooks.deliveries]
    assert len(set(keys)) == len(keys)
    card_state = reading.read(c.tracker, number, cfg).card
    assert len(card_state.notified) == 6


def test_targets_follow_the_severity_and_drills_go_nowhere(disp: Dispatcher, sandbox: Sandbox,
                                                           cfg: config.Config) -> None:
    s = SlackRequests(sandbox.slack, sandbox.url, SECRET)
    open_via_modal(disp, sandbox, s, "Search slow", 3)
    assert counts(sandbox) == (0, 1, 0)  # only the audit hook takes every level
    open_via_modal(disp, sandbox, s, "Practice", 1, options=("drill",))
    assert counts(sandbox) == (0, 1, 0)


def test_a_refused_webhook_is_retried_by_the_next_run(sandbox: Sandbox,
                                                      cfg: config.Config,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from incidentbot.operations import incidents as operations

    monkeypatch.setenv("AUDIT_WEBHOOK_URL", f"{sandbox.url}/webhooks/nowhere/audit")
    c = connections(sandbox, cfg)
    issue, outcome = operations.open_incident(c, title="Pay down", severity=3)
    assert any("audit" in f for f in outcome.failed)
    monkeypatch.setenv("AUDIT_WEBHOOK_URL", f"{sandbox.url}/webhooks/json/audit")
    sync.sync(c.tracker, c.chat, c.pager, cfg, issue.number)
    sync.sync(c.tracker, c.chat, c.pager, cfg, issue.number)
    assert len(sandbox.webhooks.received("json/audit")) == 1
