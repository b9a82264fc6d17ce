"""Adapter error mapping and retries with no server: `responses` answers requests' calls.

The PagerDuty adapter and the outbound webhooks speak through requests, so each answer a
service can give (202, 400 with its errors, 401, 429, 5xx, a dropped connection) is scripted
here in microseconds. The sandbox tests cover the same adapters over real HTTP."""

from __future__ import annotations

import json
import re

import pytest
import requests
import responses

from incidentbot.adapters.outbound import Sender
from incidentbot.adapters.pagerduty import PagerDuty
from incidentbot.core.configtypes import NotifyTarget
from incidentbot.core.errors import AuthFailed, RateLimited, ServiceError
from incidentbot.core.settings import Settings

EVENTS = "https://events.pagerduty.test/v2/enqueue"
REST = "https://api.pagerduty.test"
HOOK = "https://hooks.example.test/incidents"


def pager(waits: list[float]) -> PagerDuty:
    return PagerDuty(EVENTS, "R0UTING", backoff=0.5, sleep=waits.append, rest_url=REST,
                     api_key="k3y")


@responses.activate
def test_a_trigger_is_retried_through_5xx_and_429_then_sent_once_as_pagerduty_wants() -> None:
    responses.post(EVENTS, status=502)
    responses.post(EVENTS, status=429, json={"status": "throttle event"})
    responses.post(EVENTS, status=202, json={"status": "success", "dedup_key": "acme#1"})
    waits: list[float] = []
    pager(waits).trigger("acme#1", "SEV1 Checkout down", "critical", {"issue": "#1"})
    assert len(responses.calls) == 3 and waits == [1.0, 2.0]  # backoff doubles
    sent = json.loads(responses.calls[-1].request.body or b"{}")
    assert sent["routing_key"] == "R0UTING" and sent["dedup_key"] == "acme#1"
    assert sent["event_action"] == "trigger" and sent["payload"]["severity"] == "critical"


@responses.activate
def test_a_refused_routing_key_is_an_auth_failure_and_not_retried() -> None:
    responses.post(EVENTS, status=400, json={"status": "invalid event", "message": "Event "
                   "object is invalid", "errors": ["'routing_key' is invalid"]})
    with pytest.raises(AuthFailed, match="routing key was refused"):
        pager([]).resolve("acme#1")
    assert len(responses.calls) == 1


@responses.activate
def test_another_400_says_what_pagerduty_said() -> None:
    responses.post(EVENTS, status=400, json={"errors": ["'payload.summary' is missing"]})
    with pytest.raises(ServiceError, match=re.escape("HTTP 400: 'payload.summary' is missing")):
        pager([]).resolve("acme#1")


@responses.activate
def test_a_lasting_429_is_reported_as_rate_limited() -> None:
    for _ in range(4):
        responses.post(EVENTS, status=429)
    with pytest.raises(RateLimited):
        pager([]).resolve("acme#1")
    assert len(responses.calls) == 4


@responses.activate
def test_a_dropped_connection_is_retried_and_named_when_it_lasts() -> None:
    for _ in range(4):
        responses.post(EVENTS, body=requests.ConnectionError("reset by peer"))
    with pytest.raises(ServiceError, match="gave up after 4 attempts"):
        pager([]).resolve("acme#1")


@responses.activate
def test_who_is_on_call_is_one_request_with_the_users_emails() -> None:
    responses.get(f"{REST}/oncalls", json={"oncalls": [
        {"escalation_level": 1, "escalation_policy": {"id": "P1", "summary": "Checkout"},
         "user": {"name": "Dana", "email": "dana@example.com"}},
        {"escalation_level": 2, "escalation_policy": {"id": "P1", "summary": "Checkout"},
         "user": {"name": "Second", "email": "second@example.com"}}]})
    found = pager([]).on_call(["P1"])
    assert [(o.policy, o.name, o.email) for o in found] == [("P1", "Dana", "dana@example.com")]
    asked = responses.calls[0].request
    assert "include%5B%5D=users" in (asked.url or "")
    assert asked.headers["Authorization"] == "Token token=k3y"


@responses.activate
def test_a_refused_rest_key_is_an_auth_failure() -> None:
    responses.get(f"{REST}/oncalls", status=401, json={"error": {"message": "Unauthorized"}})
    with pytest.raises(AuthFailed):
        pager([]).on_call(["P1"])


@responses.activate
def test_a_webhook_gets_the_idempotency_key_and_its_secret_url_is_never_shown() -> None:
    responses.post(HOOK, status=503)
    responses.post(HOOK, status=200)
    waits: list[float] = []
    sender = Sender(Settings.from_env({}), env={"TEAMS_URL": HOOK}, sleep=waits.append)
    target = NotifyTarget("teams", "teams", url_env="TEAMS_URL")
    sender.send(target, "notify:teams:0:1", json.dumps({"text": "SEV1"}))
    assert len(responses.calls) == 2 and len(waits) == 1
    assert responses.calls[-1].request.headers["Idempotency-Key"] == "notify:teams:0:1"
    responses.post(HOOK, status=404)
    with pytest.raises(ServiceError) as refused:
        sender.send(target, "notify:teams:0:2", "{}")
    assert "HTTP 404" in str(refused.value) and HOOK not in str(refused.value)
