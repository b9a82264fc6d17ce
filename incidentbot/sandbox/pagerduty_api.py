"""The PagerDuty Events API v2 (`POST /v2/enqueue`), with its dedup-key semantics."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from incidentbot.sandbox.http import Request, Response

# https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
_ACTIONS = ("trigger", "acknowledge", "resolve")
_SEVERITIES = ("critical", "error", "warning", "info")


def _invalid(*errors: str) -> Response:
    return Response.json(400, {"status": "invalid event", "message": "Event object is invalid",
                               "errors": list(errors)})


class PagerDutyEmulator:
    """Alerts keyed by dedup_key: a repeated trigger adds to the alert, never a second page."""

    service = "pagerduty"

    def __init__(self, *, routing_key: str) -> None:
        self.routing_key = routing_key
        self.alerts: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._counter = 0

    def operation(self, request: Request) -> str:
        return f"{request.method} {request.path}"

    def reset(self) -> None:
        self.alerts.clear()
        self.events.clear()
        self._counter = 0

    def dump(self) -> dict[str, Any]:
        return {"alerts": copy.deepcopy(self.alerts), "events": copy.deepcopy(self.events),
                "counter": self._counter}

    def load(self, data: Mapping[str, Any]) -> None:
        self.alerts = copy.deepcopy(dict(data.get("alerts", {})))
        self.events = copy.deepcopy(list(data.get("events", [])))
        self._counter = int(data.get("counter", 0))

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path.rstrip("/") != "/v2/enqueue":
            return Response.json(404, {"status": "not found", "message": "Not Found"})
        try:
            event = request.json()
        except ValueError:
            return _invalid("Request body is not valid JSON")
        if not isinstance(event, dict):
            return _invalid("Event must be a JSON object")
        errors = self._validate(event)
        if errors:
            return _invalid(*errors)
        action = event["event_action"]
        key = str(event.get("dedup_key") or "")
        if not key:
            self._counter += 1
            key = f"sandbox-{self._counter:08d}"
        self.events.append({**copy.deepcopy(event), "dedup_key": key})
        alert = self.alerts.get(key)
        if action == "trigger":
            if alert is None or alert["status"] == "resolved":
                self.alerts[key] = {"status": "triggered", "summary": event["payload"]["summary"],
                                    "severity": event["payload"]["severity"], "triggers": 1}
            else:
                alert["triggers"] += 1
        elif alert is not None and alert["status"] != "resolved":
            alert["status"] = "acknowledged" if action == "acknowledge" else "resolved"
        return Response.json(
            202, {"status": "success", "message": "Event processed", "dedup_key": key}
        )

    def _validate(self, event: Mapping[str, Any]) -> list[str]:
        errors = []
        if event.get("routing_key") != self.routing_key:
            # A wrong key is a 400 with this wording in the real API, not a 401.
            errors.append("'routing_key' is invalid")
        action = event.get("event_action")
        if action not in _ACTIONS:
            errors.append("'event_action' must be one of trigger, acknowledge, resolve")
        if action in {"acknowledge", "resolve"} and not event.get("dedup_key"):
            errors.append("'dedup_key' is required for acknowledge and resolve")
        if action == "trigger":
            payload = event.get("payload")
            if not isinstance(payload, dict):
                errors.append("'payload' is missing or not an object")
            else:
                summary = payload.get("summary")
                if not isinstance(summary, str) or not summary:
                    errors.append("'payload.summary' is missing or blank")
                elif len(summary) > 1024:
                    errors.append("'payload.summary' must be at most 1024 characters")
                if not payload.get("source"):
                    errors.append("'payload.source' is missing or blank")
                if payload.get("severity") not in _SEVERITIES:
                    errors.append("'payload.severity' must be critical, error, warning or info")
        key = event.get("dedup_key")
        if key is not None and (not isinstance(key, str) or len(key) > 255):
            errors.append("'dedup_key' must be a string of at most 255 characters")
        return errors
