"""The sandbox's own surface: control routes, the call log, fault rules, the state file."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.faults import Fault, Faults, FaultSpecError


def _request(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        is_json = err.headers.get("Content-Type", "").startswith("application/json")
        return err.code, json.loads(raw) if raw and is_json else raw


def _page(sandbox: Sandbox, key: str = "k1") -> tuple[int, Any]:
    return _request(sandbox.pagerduty_url, "POST", {
        "routing_key": sandbox.env()["PAGERDUTY_ROUTING_KEY"], "event_action": "trigger",
        "dedup_key": key, "payload": {"summary": "Checkout down", "source": "incidentbot",
                                      "severity": "critical"}})


def test_env_points_every_client_at_the_sandbox(sandbox: Sandbox) -> None:
    env = sandbox.env()
    assert env["GITHUB_API_URL"] == sandbox.url
    assert env["SLACK_API_URL"] == sandbox.url + "/api/"
    assert env["PAGERDUTY_API_URL"] == sandbox.url + "/v2/enqueue"
    assert sandbox.export_line().startswith("export GITHUB_API_URL=http://127.0.0.1:")


def test_calls_are_recorded_and_served_as_json(sandbox: Sandbox) -> None:
    assert _page(sandbox)[0] == 202
    status, data = _request(sandbox.url + "/_sandbox/calls")
    assert status == 200
    [call] = data["calls"]
    assert (call["service"], call["operation"], call["status"]) == (
        "pagerduty", "POST /v2/enqueue", 202)
    assert call["body"]["dedup_key"] == "k1"
    assert _request(sandbox.url + "/_sandbox/calls", "DELETE")[0] == 204
    assert sandbox.calls == []


def test_faults_over_http_fire_then_expire(sandbox: Sandbox) -> None:
    status, data = _request(sandbox.url + "/_sandbox/faults", "POST",
                            {"kind": "rate_limit", "service": "pagerduty", "retry_after": 7})
    assert status == 201 and len(data["faults"]) == 1
    assert _page(sandbox)[0] == 429
    assert _page(sandbox)[0] == 202
    assert [c.faults for c in sandbox.calls] == [("rate_limit",), ()]


def test_a_bad_fault_is_refused_with_the_field_named(sandbox: Sandbox) -> None:
    status, data = _request(sandbox.url + "/_sandbox/faults", "POST", {"kind": "explode"})
    assert status == 400 and "kind" in data["error"]
    status, data = _request(sandbox.url + "/_sandbox/faults", "POST", {"kind": "error",
                                                                       "status": 404})
    assert status == 400 and "status" in data["error"]
    assert sandbox.faults.active() == []


def test_an_after_fault_does_the_work_and_loses_the_answer(sandbox: Sandbox) -> None:
    sandbox.faults.add(kind="error", service="pagerduty", when="after", status=502)
    assert _page(sandbox, "k2")[0] == 502
    assert sandbox.pagerduty.alerts["k2"]["triggers"] == 1


def test_a_dropped_connection_gets_no_answer(sandbox: Sandbox) -> None:
    sandbox.faults.add(kind="drop", service="pagerduty")
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        _page(sandbox)
    assert _page(sandbox)[0] == 202


def test_fault_rules_match_service_and_operation() -> None:
    faults = Faults()
    faults.add(kind="error", service="slack", operation="chat\\..*", times=2)
    assert faults.take("github", "chat.postMessage", "before") == []
    assert faults.take("slack", "conversations.create", "before") == []
    assert len(faults.take("slack", "chat.update", "before")) == 1
    assert len(faults.take("slack", "chat.postMessage", "before")) == 1
    assert faults.take("slack", "chat.postMessage", "before") == []


def test_a_rule_without_a_count_stays_until_cleared() -> None:
    faults = Faults()
    faults.add(kind="latency", seconds=0.0, times=None)
    for _ in range(5):
        assert faults.take("github", "GET /user", "before")
    faults.clear()
    assert faults.active() == []


@pytest.mark.parametrize("spec", [{"kind": "error", "times": 0}, {"kind": "latency",
                                                                   "seconds": 99},
                                  {"kind": "drop", "operation": "("}, {"kind": "drop",
                                                                       "when": "never"},
                                  {"kind": "drop", "colour": "red"}])
def test_fault_specs_are_checked(spec: dict[str, Any]) -> None:
    with pytest.raises(FaultSpecError):
        Fault.from_dict(spec)


def test_unknown_control_route_is_404(sandbox: Sandbox) -> None:
    assert _request(sandbox.url + "/_sandbox/nothing")[0] == 404


def test_reset_restores_the_seeded_world(sandbox: Sandbox) -> None:
    _page(sandbox)
    sandbox.faults.add(kind="drop")
    assert _request(sandbox.url + "/_sandbox/reset", "POST")[0] == 204
    assert sandbox.pagerduty.alerts == {}
    assert sandbox.faults.active() == []
    assert sandbox.calls == []


def test_state_survives_a_restart_through_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Sandbox(state_file=state) as first:
        assert _page(first, "persisted")[0] == 202
    with Sandbox(state_file=state) as second:
        assert "persisted" in second.pagerduty.alerts
        assert _request(second.url + "/_sandbox/state")[1]["pagerduty"]["alerts"]


# -- PagerDuty Events API v2 -------------------------------------------------------------------
def test_pagerduty_dedups_repeated_triggers(sandbox: Sandbox) -> None:
    for _ in range(3):
        status, data = _page(sandbox, "inc-7")
        assert (status, data["dedup_key"]) == (202, "inc-7")
    assert sandbox.pagerduty.alerts["inc-7"] == {
        "status": "triggered", "summary": "Checkout down", "severity": "critical", "triggers": 3}


def test_pagerduty_resolve_and_retrigger(sandbox: Sandbox) -> None:
    _page(sandbox, "inc-8")
    key = sandbox.env()["PAGERDUTY_ROUTING_KEY"]
    assert _request(sandbox.pagerduty_url, "POST", {"routing_key": key, "dedup_key": "inc-8",
                                                    "event_action": "resolve"})[0] == 202
    assert sandbox.pagerduty.alerts["inc-8"]["status"] == "resolved"
    _page(sandbox, "inc-8")
    assert sandbox.pagerduty.alerts["inc-8"]["status"] == "triggered"


@pytest.mark.parametrize(("event", "error"), [
    ({"routing_key": "wrong", "event_action": "trigger"}, "'routing_key' is invalid"),
    ({"event_action": "explode"}, "'event_action' must be one of"),
    ({"event_action": "resolve"}, "'dedup_key' is required"),
    ({"event_action": "trigger", "payload": {"summary": "x", "source": "y",
                                             "severity": "bad"}}, "'payload.severity'"),
    ({"event_action": "trigger", "payload": {"summary": "x" * 1025, "source": "y",
                                             "severity": "info"}}, "at most 1024"),
])
def test_pagerduty_rejects_bad_events(sandbox: Sandbox, event: dict[str, Any],
                                      error: str) -> None:
    body = {"routing_key": sandbox.env()["PAGERDUTY_ROUTING_KEY"], **event}
    status, data = _request(sandbox.pagerduty_url, "POST", body)
    assert status == 400
    assert any(error in e for e in data["errors"]), data
