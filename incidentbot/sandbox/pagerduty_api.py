"""The PagerDuty Events API v2 (`POST /v2/enqueue`), with its dedup-key semantics, and the
REST API's on-call reads (`GET /oncalls`, `GET /users/{id}`) under `/pagerduty/`, with
their token authentication, `include[]=users` and offset pagination."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from incidentbot.sandbox.http import Request, Response

# https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
_ACTIONS = ("trigger", "acknowledge", "resolve")
_SEVERITIES = ("critical", "error", "warning", "info")


def _invalid(*errors: str) -> Response:
    return Response.json(400, {"status": "invalid event", "message": "Event object is invalid",
                               "errors": list(errors)})


REST_PREFIX = "/pagerduty"
API_KEY = "sandbox0pagerduty0rest0key00000"
# Escalation policies: id -> (name, [user ids at level 1, level 2, ...]).
POLICIES: Mapping[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "PCHECK1": ("Checkout on-call", (("PUBOB01",), ("PUCAROL",))),
    "PPAYS01": ("Payments on-call", (("PUDAN01",), ("PUBOB01",))),
    "PMAJOR1": ("Major incidents", (("PUCAROL",),)),
    "PEMPTY1": ("Nobody yet", ()),
    "POUTSD1": ("Contractors", (("PUZOE01",),)),
}
USERS: Mapping[str, tuple[str, str]] = {
    "PUBOB01": ("Bob Example", "bob@example.com"),
    "PUCAROL": ("Carol Example", "carol@example.com"),
    "PUDAN01": ("Dan Example", "Dan@Example.com"),
    "PUZOE01": ("Zoe Contractor", "zoe@contractor.example"),  # not in the Slack workspace
}


def _rest_error(status: int, message: str, code: int) -> Response:
    # https://developer.pagerduty.com/docs/ZG9jOjExMDI5NTYz-errors
    return Response.json(status, {"error": {"message": message, "code": code}})


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

    def user(self, user_id: str) -> dict[str, Any]:
        name, email = USERS[user_id]
        return {"id": user_id, "type": "user", "summary": name, "name": name, "email": email,
                "self": f"https://api.pagerduty.com/users/{user_id}",
                "html_url": f"https://sandbox.pagerduty.com/users/{user_id}",
                "time_zone": "Etc/UTC", "role": "user"}

    def _rest(self, request: Request) -> Response:
        """GET /oncalls and GET /users/{id}, as the REST API v2 answers them."""
        if request.headers.get("authorization") != f"Token token={API_KEY}":
            return _rest_error(401, "Unauthorized", 2006)
        if request.method != "GET":
            return _rest_error(405, "Method Not Allowed", 2000)
        path = request.path[len(REST_PREFIX):].rstrip("/")
        query = parse_qsl(request.raw_query)
        if path.startswith("/users/"):
            user_id = path.removeprefix("/users/")
            if user_id not in USERS:
                return _rest_error(404, "Not Found", 2100)
            return Response.json(200, {"user": self.user(user_id)})
        if path != "/oncalls":
            return _rest_error(404, "Not Found", 2100)
        wanted = [v for k, v in query if k == "escalation_policy_ids[]"]
        include = {v for k, v in query if k == "include[]"}
        args = dict(query)
        try:
            limit = min(int(args.get("limit", "25")), 100)
            offset = int(args.get("offset", "0"))
        except ValueError:
            return _rest_error(400, "Invalid Input Provided", 2001)
        entries = []
        for policy_id, (name, levels) in POLICIES.items():
            if wanted and policy_id not in wanted:
                continue
            for level, user_ids in enumerate(levels, start=1):
                for user_id in user_ids:
                    user = self.user(user_id) if "users" in include else {
                        "id": user_id, "type": "user_reference",
                        "summary": USERS[user_id][0],
                        "self": f"https://api.pagerduty.com/users/{user_id}"}
                    entries.append({
                        "escalation_policy": {"id": policy_id,
                                              "type": "escalation_policy_reference",
                                              "summary": name},
                        "escalation_level": level, "schedule": None, "user": user,
                        "start": None, "end": None})
        page = entries[offset:offset + limit]
        return Response.json(200, {"oncalls": page, "limit": limit, "offset": offset,
                                   "more": offset + limit < len(entries), "total": None})

    def handle(self, request: Request) -> Response:
        if request.path.startswith(REST_PREFIX + "/"):
            return self._rest(request)
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
