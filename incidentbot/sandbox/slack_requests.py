"""Signed requests as Slack sends them to an app's request URLs, for tests, demo and benches.

The payload shapes follow Slack's documentation: slash commands
(https://api.slack.com/interactivity/slash-commands#app_command_handling), `view_submission`
and `block_actions` (https://api.slack.com/reference/interaction-payloads), and the Events API
(`url_verification`, `event_callback`: https://api.slack.com/apis/connections/events-api).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from incidentbot.sandbox.slack_api import ALICE, INCIDENTS, SlackEmulator

TEAM = "T0SANDBOX"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """The `X-Slack-Signature` Slack sends: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`
    (https://api.slack.com/authentication/verifying-requests-from-slack). Written here from
    the recipe, not imported from the product, so the product's verifier is checked against
    an independent signer."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(path: str, body: bytes, secret: str, *, timestamp: float | None = None,
           retry: int | None = None) -> SignedRequest:
    ts = str(int(time.time() if timestamp is None else timestamp))
    headers = {"x-slack-request-timestamp": ts, "x-slack-signature": sign(secret, body, ts),
               "content-type": "application/x-www-form-urlencoded"}
    if retry is not None:
        headers["x-slack-retry-num"] = str(retry)
        headers["x-slack-retry-reason"] = "http_timeout"
    return SignedRequest(path, headers, body)


class SlackRequests:
    """Builds what Slack would send, with trigger ids and response URLs the sandbox honours."""

    def __init__(self, slack: SlackEmulator, base_url: str, secret: str) -> None:
        self.slack = slack
        self.base_url = base_url
        self.secret = secret

    def command(self, text: str, *, user: str = ALICE, channel: str = INCIDENTS,
                channel_name: str = "incidents", team: str = TEAM,
                timestamp: float | None = None) -> SignedRequest:
        form = {
            "token": "deprecated-verification-token", "team_id": team,
            "team_domain": "acme", "channel_id": channel, "channel_name": channel_name,
            "user_id": user, "user_name": user.lower(), "command": "/incident", "text": text,
            "api_app_id": "A0SANDBOX", "is_enterprise_install": "false",
            "response_url": self.slack.issue_response_url(self.base_url, user, channel),
            "trigger_id": self.slack.issue_trigger_id(user),
        }
        return signed("/slack/commands", urlencode(form).encode(), self.secret,
                      timestamp=timestamp)

    def interaction(self, payload: Mapping[str, Any], *,
                    timestamp: float | None = None) -> SignedRequest:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return signed("/slack/interactivity", body, self.secret, timestamp=timestamp)

    def view_submission(self, view: Mapping[str, Any], values: Mapping[str, Any], *,
                        user: str = ALICE, view_id: str = "V0SANDBOX01",
                        team: str = TEAM) -> SignedRequest:
        submitted = {**view, "id": view_id, "team_id": team, "hash": "1700000000.abcdEFGH",
                     "state": {"values": dict(values)}, "app_id": "A0SANDBOX"}
        return self.interaction({
            "type": "view_submission", "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A0SANDBOX", "token": "deprecated-verification-token",
            "trigger_id": self.slack.issue_trigger_id(user), "view": submitted,
            "response_urls": [], "is_enterprise_install": False,
        })

    def button(self, action_id: str, value: str, *, user: str = ALICE,
               channel: str = INCIDENTS, team: str = TEAM) -> SignedRequest:
        return self.interaction({
            "type": "block_actions", "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A0SANDBOX", "container": {"type": "message", "is_ephemeral": True},
            "trigger_id": self.slack.issue_trigger_id(user),
            "channel": {"id": channel, "name": "incident"},
            "response_url": self.slack.issue_response_url(self.base_url, user, channel),
            "actions": [{"action_id": action_id, "block_id": "b1", "type": "button",
                         "value": value, "action_ts": f"{time.time():.6f}"}],
        })

    def event(self, event: Mapping[str, Any], *, event_id: str = "Ev0SANDBOX01",
              team: str = TEAM) -> SignedRequest:
        body = json.dumps({
            "token": "deprecated-verification-token", "team_id": team,
            "api_app_id": "A0SANDBOX", "event": dict(event), "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": "UBOT000001", "is_bot": True}],
        }).encode()
        request = signed("/slack/events", body, self.secret)
        request.headers["content-type"] = "application/json"
        return request

    def url_verification(self, challenge: str) -> SignedRequest:
        body = json.dumps({"token": "deprecated-verification-token", "challenge": challenge,
                           "type": "url_verification"}).encode()
        request = signed("/slack/events", body, self.secret)
        request.headers["content-type"] = "application/json"
        return request


def open_values(title: str, severity: int, services: tuple[str, ...] = (),
                description: str = "", options: tuple[str, ...] = ()) -> dict[str, Any]:
    """state.values of the open modal as Slack submits them."""
    values: dict[str, Any] = {
        "title": {"value": {"type": "plain_text_input", "value": title}},
        "severity": {"value": {"type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": f"SEV{severity}"}, "value": str(severity)}}},
        "description": {"value": {"type": "plain_text_input", "value": description or None}},
        "options": {"value": {"type": "checkboxes", "selected_options": [
            {"text": {"type": "plain_text", "text": o}, "value": o} for o in options]}},
    }
    if services:
        values["services"] = {"value": {"type": "multi_static_select", "selected_options": [
            {"text": {"type": "plain_text", "text": s}, "value": s} for s in services]}}
    return values
