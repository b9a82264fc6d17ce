"""The dispatcher itself: verification of every request (signature, 5-minute window, replay,
team), the WSGI and Socket Mode entries, the worker pools and the journal of acknowledged
work. The handlers are mixed in from slash.py, forms.py and events.py."""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from incidentbot.adapters.journal import Job, Journal
from incidentbot.core.config import Config
from incidentbot.core.errors import IncidentbotError
from incidentbot.entrypoints.dispatcher.events import ChannelEvents
from incidentbot.entrypoints.dispatcher.forms import Forms
from incidentbot.entrypoints.dispatcher.replies import MAX_BODY, Reply, Seen, ephemeral
from incidentbot.entrypoints.dispatcher.slash import SlashCommands
from incidentbot.operations import incidents as operations

log = logging.getLogger("incidentbot.entrypoints.dispatcher")


@dataclass
class Dispatcher(SlashCommands, Forms, ChannelEvents):
    config: Config
    signing_secret: str
    connect: Callable[[], operations.Connections]
    workers: int = 4
    # Forms only (a modal is one views.open): a trigger_id is good for 3 s, so a burst of
    # commands must not queue behind a few threads. Threads start only when needed.
    modal_workers: int = 32
    clock: Callable[[], float] = time.time
    allowed_teams: frozenset[str] = frozenset()
    # Where acknowledged work waits until done (journal.py); None keeps it in memory only.
    journal: Journal | None = None
    # A request the killed dispatcher had in flight may still land on GitHub: resumed jobs
    # wait this long before looking for what it wrote (the HTTP timeout bounds it).
    resume_grace: float = 15.0
    _pool: ThreadPoolExecutor = field(init=False)
    _fast: ThreadPoolExecutor = field(init=False)
    _pending: set[Future[None]] = field(init=False, default_factory=set)
    _seen_signatures: Seen = field(init=False, default_factory=Seen)
    _seen_work: Seen = field(init=False, default_factory=Seen)
    _channels: dict[str, int | None] = field(init=False, default_factory=dict)
    _conn: operations.Connections | None = field(init=False, default=None)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                        thread_name_prefix="incidentbot")
        # Modals only: never queued behind GitHub work, so a trigger_id is used in time.
        self._fast = ThreadPoolExecutor(max_workers=self.modal_workers,
                                        thread_name_prefix="incidentbot-modal")
        self.resume()

    # -- acknowledged work, durable -------------------------------------------------------
    def resume(self) -> int:
        """Run the jobs a previous dispatcher acknowledged and did not finish; how many."""
        jobs = self.journal.pending() if self.journal is not None else []
        fresh = [Job(job.kind, job.key, {**job.payload, "resumed": True})
                 for job in jobs if self._seen_work.add(job.key)]
        if fresh:
            log.info("resuming %d acknowledged job(s) in %.0f s", len(fresh),
                     self.resume_grace)

            def run() -> None:
                time.sleep(self.resume_grace)
                for job in fresh:
                    self.later(functools.partial(self._run_job, job), what=job.kind)

            threading.Thread(target=run, name="incidentbot-resume", daemon=True).start()
        return len(fresh)

    def durable(self, kind: str, key: str, payload: Mapping[str, Any]) -> None:
        """Write the job down, then queue it: call before answering Slack."""
        job = Job(kind, key, dict(payload))
        if self.journal is not None:
            self.journal.add(job)
        self.later(functools.partial(self._run_job, job), what=kind)

    def _run_job(self, job: Job) -> None:
        try:
            getattr(self, f"_job_{job.kind}")(job.payload)
        except Exception:
            log.exception("job %s %s failed", job.kind, job.key)
            request = job.payload.get("request") or {}
            self.tell(request, ":warning: Your request could not be completed; it has been "
                               "logged. Please try again, or check the issue on GitHub.")
        finally:
            if self.journal is not None:
                self.journal.done(job.key)

    # -- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ: Mapping[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        reply = self.wsgi_reply(environ)
        status, headers, data = reply.encode()
        start_response(status, headers)
        return [data]

    def wsgi_reply(self, environ: Mapping[str, Any]) -> Reply:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz":
            return Reply(200, "ok")
        if path not in {"/slack/commands", "/slack/interactivity", "/slack/events"}:
            return Reply(404, "not found")
        if method != "POST":
            return Reply(405, "POST only")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return Reply(400, "bad Content-Length")
        if length > MAX_BODY:
            return Reply(413, "too large")
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items()
                   if k.startswith("HTTP_")}
        return self.handle(path, headers, body)

    # -- the one entry point -------------------------------------------------------------
    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Verify, then route. Never raises: a bug becomes a logged apology, not a 500."""
        try:
            refused = self._refuse(headers, body)
            if refused is not None:
                return refused
            if path == "/slack/events":
                return self._events(body)
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"),
                                                 keep_blank_values=True).items()}
            if path == "/slack/commands":
                return self.command(form)
            return self.interaction(json.loads(form.get("payload", "")))
        except (ValueError, UnicodeDecodeError, TypeError, AttributeError):
            return ephemeral("That request could not be read. Try the command again.")
        except Exception:  # the last line of defence: Slack must still get a 200
            log.exception("dispatcher failed on %s", path)
            return ephemeral("Something went wrong on our side; it has been logged.")

    def socket_request(self, kind: str, payload: Any) -> Reply:
        """The same handlers for Socket Mode, where Slack authenticated the connection."""
        try:
            if kind == "slash_commands" and isinstance(payload, dict):
                return self.command({str(k): str(v) for k, v in payload.items()})
            if kind == "interactive":
                return self.interaction(payload)
            if kind == "events_api":
                return self.events(payload)
            return Reply(200)
        except Exception:
            log.exception("dispatcher failed on a Socket Mode %s", kind)
            return ephemeral("Something went wrong on our side; it has been logged.")

    def _refuse(self, headers: Mapping[str, str], body: bytes) -> Reply | None:
        from incidentbot.adapters.slack_inbound import verify

        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not verify(self.signing_secret, body, timestamp, signature, now=self.clock()):
            return Reply(401, "invalid signature")
        if not self._seen_signatures.add(f"{timestamp}:{signature}"):
            return Reply(401, "replayed request")
        return None

    def _team_ok(self, team_id: str | None) -> bool:
        return not self.allowed_teams or (team_id or "") in self.allowed_teams

    # -- background work -----------------------------------------------------------------
    def later(self, work: Callable[[], None], *, what: str, fast: bool = False) -> None:
        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("background work failed: %s", what)

        future = (self._fast if fast else self._pool).submit(run)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float = 30) -> None:
        """Wait for the work queued so far (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for future in pending:
                future.result(timeout=max(0.1, deadline - time.monotonic()))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._fast.shutdown(wait=True)

    def conn(self) -> operations.Connections:
        with self._lock:
            if self._conn is None:
                self._conn = self.connect()
            return self._conn

    def tell(self, request: Mapping[str, Any], text: str,
             blocks: list[dict[str, Any]] | None = None) -> None:
        """The result of slow work, to the person who asked: response_url, else ephemeral."""
        chat = self.conn().chat
        url = request.get("response_url")
        try:
            if url:
                chat.respond(url, text, blocks)
                return
        except IncidentbotError as exc:
            log.warning("response_url failed: %s", exc)
        channel, user = request.get("channel_id"), request.get("user_id")
        if channel and user:
            try:
                chat.post_ephemeral(channel, user, text, blocks)
            except IncidentbotError as exc:
                log.warning("could not tell %s: %s", user, exc)

    # -- slash commands ------------------------------------------------------------------
