"""The sandbox's HTTP server: routes each request to an emulator, applies faults, logs calls."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, cast

from incidentbot.sandbox.faults import Fault, Faults, FaultSpecError
from incidentbot.sandbox.http import Request, Response
from incidentbot.sandbox.slack_state import SlackError


class Emulator(Protocol):
    """One emulated API: GitHub REST, Slack Web or PagerDuty Events."""

    service: str

    def operation(self, request: Request) -> str: ...

    def handle(self, request: Request) -> Response: ...

    def reset(self) -> None: ...

    def dump(self) -> dict[str, Any]: ...

    def load(self, data: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class Call:
    """One request the sandbox answered (or dropped), for tests and benchmarks."""

    seq: int
    service: str
    operation: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    faults: tuple[str, ...]
    at: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["faults"] = list(self.faults)
        return data


def _recorded_body(request: Request) -> Any:
    if not request.body:
        return None
    if request.content_type == "application/x-www-form-urlencoded":
        return request.form()
    try:
        return request.json()
    except ValueError:
        return request.body.decode("utf-8", "replace")


_RATE_LIMITED: Mapping[str, Callable[[Fault], Response]] = {
    # https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
    "github": lambda f: Response.json(
        403,
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        },
        {"Retry-After": str(f.retry_after)},
    ),
    # https://api.slack.com/apis/rate-limits
    "slack": lambda f: Response.json(
        429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(f.retry_after)}
    ),
    # https://developer.pagerduty.com/docs/events-api-v2/overview/#response-codes--retry-logic
    "pagerduty": lambda f: Response.json(
        429,
        {"status": "throttle event",
         "message": "Requests for this service are arriving too quickly."},
        {"Retry-After": str(f.retry_after)},
    ),
}


def _fault_response(service: str, fault: Fault) -> Response:
    if fault.kind == "drop":
        return Response(0, drop=True)
    if fault.kind == "rate_limit" and service in _RATE_LIMITED:
        return _RATE_LIMITED[service](fault)
    return Response(
        fault.status, b"<html><body>Server Error</body></html>", {"Content-Type": "text/html"}
    )


class Hub:
    """Everything the handler threads share: emulators, faults, call log, state file."""

    def __init__(self, emulators: Mapping[str, Emulator], state_file: Path | None) -> None:
        self.emulators = dict(emulators)
        self.faults = Faults()
        self.state_file = state_file
        self.lock = threading.RLock()
        self._calls: list[Call] = []
        self._seq = 0
        if state_file is not None and state_file.exists():
            self.load_state(json.loads(state_file.read_text("utf-8")))

    # -- call log ---------------------------------------------------------------------------
    def calls(self) -> list[Call]:
        with self.lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        with self.lock:
            self._calls.clear()

    def _record(self, service: str, operation: str, request: Request, status: int,
                fired: list[Fault]) -> None:
        with self.lock:
            self._seq += 1
            self._calls.append(
                Call(
                    seq=self._seq,
                    service=service,
                    operation=operation,
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    body=_recorded_body(request),
                    status=status,
                    faults=tuple(f.kind for f in fired),
                    at=time.time(),
                )
            )

    # -- state ------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            for emulator in self.emulators.values():
                emulator.reset()
            self.faults.clear()
            self._calls.clear()
            self._save()

    def dump_state(self) -> dict[str, Any]:
        with self.lock:
            return {name: e.dump() for name, e in self.emulators.items()}

    def load_state(self, data: Mapping[str, Any]) -> None:
        with self.lock:
            for name, emulator in self.emulators.items():
                if name in data:
                    emulator.load(data[name])

    def _save(self) -> None:
        if self.state_file is None:
            return
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text(json.dumps(self.dump_state(), indent=1, sort_keys=True), "utf-8")
        os.replace(tmp, self.state_file)

    # -- dispatch ---------------------------------------------------------------------------
    def route(self, path: str) -> str | None:
        if path.startswith("/_sandbox/"):
            return None
        if path.startswith(("/api/", "/hooks/")):
            return "slack"
        if path.startswith(("/v2/enqueue", "/pagerduty/")):
            return "pagerduty"
        if path.startswith("/webhooks/"):
            return "webhooks"
        if path.startswith("/pypi/"):
            return "pypi"
        return "github"

    def serve(self, request: Request) -> Response:
        service = self.route(request.path)
        if service is None:
            return self.control(request)
        emulator = self.emulators[service]
        operation = emulator.operation(request)
        before = self.faults.take(service, operation, "before")
        delay = sum(f.seconds for f in before if f.kind == "latency")
        if delay:
            time.sleep(delay)
        failing = [f for f in before if f.kind != "latency"]
        if failing:
            response = _fault_response(service, failing[0])
            self._record(service, operation, request, response.status, before)
            return response
        with self.lock:
            response = emulator.handle(request)
            if request.method != "GET":
                self._save()
        after = self.faults.take(service, operation, "after")
        if after:
            response = _fault_response(service, after[0])
        self._record(service, operation, request, response.status, before + after)
        return response

    def control(self, request: Request) -> Response:
        """`/_sandbox/*`: the call log, faults, reset and state, for scripts outside pytest."""
        route = (request.method, request.path.rstrip("/"))
        if route == ("GET", "/_sandbox/calls"):
            return Response.json(200, {"calls": [c.to_dict() for c in self.calls()]})
        if route == ("DELETE", "/_sandbox/calls"):
            self.clear_calls()
            return Response.empty(204)
        if route == ("GET", "/_sandbox/faults"):
            return Response.json(200, {"faults": [f.to_dict() for f in self.faults.active()]})
        if route == ("POST", "/_sandbox/faults"):
            return self._add_faults(request)
        if route == ("DELETE", "/_sandbox/faults"):
            self.faults.clear()
            return Response.empty(204)
        if route == ("POST", "/_sandbox/reset"):
            self.reset()
            return Response.empty(204)
        if route == ("GET", "/_sandbox/state"):
            return Response.json(200, self.dump_state())
        if route == ("POST", "/_sandbox/slack/invite"):
            return self._invite(request)
        return Response.json(
            404, {"error": f"no sandbox control route {request.method} {request.path}"}
        )

    def _invite(self, request: Request) -> Response:
        """`{"channel": "#general", "user": "incidentbot", "by": "alice"}`: a person's
        `/invite` in Slack (names or ids; `by` defaults to a member who may invite)."""
        try:
            payload = request.json()
        except ValueError:
            payload = None
        slack: Any = self.emulators.get("slack")
        if not isinstance(payload, dict) or not hasattr(slack, "invite_as"):
            return Response.json(400, {"error": 'body: expected {"channel": "#name", '
                                                '"user": "name"}'})
        state = slack.state

        def user_id(name: object) -> str | None:
            name = str(name or "").lstrip("@")
            return name if name in state.users else next(
                (u for u, d in state.users.items() if d.get("name") == name), None)

        channel = str(payload.get("channel", "")).lstrip("#")
        found = channel if channel in state.channels else next(
            (c for c, d in state.channels.items() if d.get("name") == channel), None)
        invitee = user_id(payload.get("user"))
        if found is None or invitee is None:
            return Response.json(404, {"error": "no such channel or user"})
        members = state.channels[found]["members"]
        by = user_id(payload.get("by")) or next(
            (m for m in members if not state.users.get(m, {}).get("is_bot")), None)
        if by is None:
            return Response.json(400, {"error": "nobody in the channel to invite from"})
        with self.lock:
            try:
                slack.invite_as(by, found, invitee)
            except SlackError as exc:
                return Response.json(409, {"error": exc.code})
            self._save()
        return Response.json(200, {"ok": True, "channel": found, "user": invitee, "by": by})

    def _add_faults(self, request: Request) -> Response:
        try:
            payload = request.json()
        except ValueError:
            return Response.json(400, {"error": "body: expected JSON"})
        rules = payload if isinstance(payload, list) else [payload]
        try:
            parsed = [Fault.from_dict(r) for r in rules if isinstance(r, dict)]
        except (FaultSpecError, TypeError) as exc:
            return Response.json(400, {"error": str(exc)})
        if len(parsed) != len(rules):
            return Response.json(400, {"error": "body: expected a fault object or a list of them"})
        for rule in parsed:
            self.faults.add(rule)
        return Response.json(201, {"faults": [f.to_dict() for f in self.faults.active()]})


def _handler_class(hub: Hub, verbose: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # small JSON replies: Nagle + delayed ACK cost 40 ms each
        server_version = "incidentbot-sandbox"

        def _dispatch(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parsed.path,
                query=dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                base_url=cast(Server, self.server).base_url,
                raw_query=parsed.query,
            )
            try:
                response = hub.serve(request)
            except Exception as exc:  # a sandbox bug must show, not hang the client
                response = Response.json(500, {"message": f"sandbox error: {exc!r}"})
            if response.drop:
                self.close_connection = True
                return
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD" and response.body:
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

        def log_message(self, format: str, *args: Any) -> None:
            if verbose:
                super().log_message(format, *args)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    @property
    def base_url(self) -> str:
        """Every URL the emulators write starts here (PyGithub checks it does)."""
        host, port = cast(tuple[str, int], self.server_address[:2])
        return f"http://{host}:{port}"


def make_server(hub: Hub, host: str, port: int, verbose: bool = False) -> Server:
    return Server((host, port), _handler_class(hub, verbose))
