"""Incoming webhooks as Microsoft Teams and a generic JSON receiver answer them, under
`/webhooks/teams/<id>` and `/webhooks/json/<id>`; every accepted delivery is kept.

Teams (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook):
a MessageCard needs `summary` or `text` ("Summary or Text is required."), the answer to a
good post is HTTP 200 with the body `1`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from incidentbot.sandbox.http import Request, Response

PREFIX = "/webhooks/"


class WebhookEmulator:
    service = "webhooks"

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []

    def operation(self, request: Request) -> str:
        return f"{request.method} {request.path}"

    def reset(self) -> None:
        self.deliveries.clear()

    def dump(self) -> dict[str, Any]:
        return {"deliveries": copy.deepcopy(self.deliveries)}

    def load(self, data: Mapping[str, Any]) -> None:
        self.deliveries = copy.deepcopy(list(data.get("deliveries", [])))

    def received(self, hook: str) -> list[dict[str, Any]]:
        """The bodies delivered to `/webhooks/<hook>` (e.g. "teams/ops"), oldest first."""
        return [d["body"] for d in self.deliveries if d["hook"] == hook]

    def handle(self, request: Request) -> Response:
        hook = request.path[len(PREFIX):].strip("/")
        kind = hook.split("/", 1)[0]
        if kind not in {"teams", "json"} or "/" not in hook:
            return Response(404, b"Not Found", {"Content-Type": "text/plain"})
        if request.method != "POST":
            return Response(405, b"Method Not Allowed", {"Content-Type": "text/plain"})
        try:
            body = request.json()
        except ValueError:
            return Response(400, b"Bad payload", {"Content-Type": "text/plain"})
        if not isinstance(body, dict):
            return Response(400, b"Bad payload", {"Content-Type": "text/plain"})
        if kind == "teams":
            if body.get("@type") == "MessageCard" and not (body.get("summary")
                                                             or body.get("text")):
                return Response(400, b"Summary or Text is required.",
                                {"Content-Type": "text/plain"})
            if body.get("@type") != "MessageCard" and body.get("type") != "message":
                return Response(400, b"Bad payload", {"Content-Type": "text/plain"})
        self.deliveries.append({"hook": hook, "body": copy.deepcopy(body),
                                "key": request.headers.get("idempotency-key", "")})
        if kind == "teams":
            return Response(200, b"1", {"Content-Type": "text/plain"})
        return Response.json(200, {"ok": True})
