"""The Slack dispatcher: slash commands, modals and channel events, relayed to GitHub.

A WSGI app for Slack's request URLs (`incidentbot serve`, on waitress) and the same handlers
over Socket Mode. Every request is verified (signature, 5-minute window, replay, team), then
answered at once: anything slow (GitHub, Slack Web API calls, the reconcile) runs on a worker
pool after the acknowledgement, and its result reaches the user through the response_url or
an ephemeral message. Bad input always gets a plain-words ephemeral answer and HTTP 200;
nothing a user sends can produce a 500.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs

from incidentbot import amend, blocks, commands, operations, sync, views
from incidentbot.config import Config
from incidentbot.errors import IncidentbotError, InvalidInput
from incidentbot.journal import Job, Journal
from incidentbot.model import Status, read_labels

log = logging.getLogger("incidentbot.dispatcher")

JSON = "application/json; charset=utf-8"
MAX_BODY = 256 * 1024  # Slack's payloads are far smaller; anything bigger is not Slack
_MARKER = re.compile(r"incidentbot:([\w.-]+/[\w.-]+)#(\d+)")
# The command rules speak in issue-comment words (`/sev 2`); in Slack they are `/incident sev 2`.
_COMMENT_WORD = re.compile(r"(?<![\w/])/(status|sev|role|service|resolve|close|reopen)\b")


def _slack_words(exc: Exception) -> str:
    return _COMMENT_WORD.sub(r"/incident \1", str(exc))


@dataclass
class Reply:
    """What the dispatcher answers over HTTP (or acks over Socket Mode)."""

    status: int = 200
    body: dict[str, Any] | str | None = None

    def encode(self) -> tuple[str, list[tuple[str, str]], bytes]:
        if self.body is None:
            return _status(self.status), [("Content-Length", "0")], b""
        if isinstance(self.body, str):
            data = self.body.encode()
            return _status(self.status), [("Content-Type", "text/plain; charset=utf-8"),
                                          ("Content-Length", str(len(data)))], data
        data = json.dumps(self.body).encode()
        return _status(self.status), [("Content-Type", JSON),
                                      ("Content-Length", str(len(data)))], data


def _status(code: int) -> str:
    return {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized",
            403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed",
            413: "413 Payload Too Large"}.get(code, f"{code} Status")


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> Reply:
    body: dict[str, Any] = {"response_type": "ephemeral", "text": text}
    if blocks:
        body["blocks"] = blocks
    return Reply(200, body)


class _Seen:
    """A bounded memory of recent keys (signatures, event ids, submissions)."""

    def __init__(self, size: int = 10_000) -> None:
        self._items: OrderedDict[str, float] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """True the first time `key` is seen."""
        with self._lock:
            if key in self._items:
                return False
            self._items[key] = time.monotonic()
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return True


@dataclass
class Dispatcher:
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
    _seen_signatures: _Seen = field(init=False, default_factory=_Seen)
    _seen_work: _Seen = field(init=False, default_factory=_Seen)
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
        from incidentbot.slack import verify

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
    def command(self, form: Mapping[str, str]) -> Reply:
        if not self._team_ok(form.get("team_id")):
            return Reply(403, "unknown workspace")
        text = " ".join(form.get("text", "").split())
        verb, _, rest = text.partition(" ")
        verb = verb.lower()
        if verb == "help":
            return ephemeral(views.help_text(self.config))
        if verb in {"", "open"}:
            trigger = form.get("trigger_id", "")
            origin = {"channel_id": form.get("channel_id", ""),
                      "response_url": form.get("response_url", "")}
            modal = views.open_modal(self.config, title=rest, origin=origin,
                                     reporter=form.get("user_id", ""))
            def show() -> None:
                try:
                    self.conn().chat.open_view(trigger, modal)
                except IncidentbotError as exc:
                    log.warning("open modal: %s", exc)
                    self.tell(form, ":warning: The form could not open in time; please run "
                                    "`/incident open` again.")

            # A trigger_id is good for 3 s: the form must not wait behind slow work, so it
            # opens from a pool of its own.
            self.later(show, what="open modal", fast=True)
            return Reply(200)
        if verb == "drill":
            return self._drill(form, rest)
        if verb == "list":
            self.later(lambda: self._list(form), what="list")
            return ephemeral("Looking up open incidents…")
        if verb == "info" and rest:
            self.later(lambda: self._info(form, rest), what="info")
            return Reply(200)
        target, rest = _target(verb, rest)
        text = f"{verb} {rest}".strip()
        if verb in {"status", "sev", "severity", "role", "service", "resolve", "close",
                    "reopen", "update", "info"}:
            if verb in {"close", "sev", "severity"} and not self.may_close(form.get("user_id")):
                return ephemeral(":no_entry: Only the people listed in `slack.close_allowed` "
                                 "may close incidents or change their severity.")
            change = None
            if verb not in {"update", "info", "close"}:
                try:
                    change = commands.parse(f"/{text}", self.config)
                except InvalidInput as exc:
                    return ephemeral(f":warning: {_slack_words(exc)}")
            if verb in {"update", "info"}:  # `update` opens a form: its trigger expires
                self.later(lambda: self._in_channel(form, verb, change, target), what=verb,
                           fast=verb == "update")
            else:
                key = f"slack-command-{form.get('trigger_id') or form.get('response_url')}"
                self.durable("command", key, {"form": dict(form), "verb": verb,
                                              "text": text, "target": target,
                                              "request": dict(form)})
            return Reply(200)
        return ephemeral(f":warning: Unknown command `{_code(verb)}`.\n"
                         + views.help_text(self.config))

    def _drill(self, form: Mapping[str, str], name: str) -> Reply:
        """Start a drill in its own thread (it runs for the scenario's length)."""
        from incidentbot import drills

        available = list(drills.scenarios())
        if not name:
            return ephemeral("Which drill? `/incident drill <scenario>` with one of: "
                             + (", ".join(f"`{a}`" for a in available) or "none yet (add "
                                "drills/<name>.yml to the repository)"))
        try:
            scenario = drills.load(name, self.config)
        except IncidentbotError as exc:
            return ephemeral(f":warning: {exc}")
        user = form.get("user_id", "")

        def play() -> None:
            try:
                for line in drills.run(self.conn(), scenario, reporter=user):
                    log.info("drill %s: %s", scenario.slug, line)
                    if line.startswith("drill #") and "opened" in line:
                        self.tell(form, f":performing_arts: Drill *{_plain(scenario.name)}* "
                                        f"started: {line.split(': ', 1)[1]}")
            except Exception:
                log.exception("drill %s failed", scenario.slug)

        threading.Thread(target=play, name=f"drill-{scenario.slug}", daemon=True).start()
        return ephemeral(f"Starting the drill *{_plain(scenario.name)}*; its channel opens in "
                         "a moment. Nobody outside it is told or paged.")

    def may_close(self, user: str | None) -> bool:
        allowed = self.config.slack.close_allowed
        if not allowed:
            return True
        ids = {self.config.people[a].slack if a in self.config.people else a for a in allowed}
        return bool(user) and user in ids

    def incident_of(self, channel_id: str) -> int | None:
        """The incident whose channel this is (from the purpose marker), cached."""
        if channel_id in self._channels:
            return self._channels[channel_id]
        conn = self.conn()
        try:
            info = conn.chat.channel_info(channel_id)
        except IncidentbotError:
            return None
        found = _MARKER.search(info.purpose)
        number = None
        if found and found.group(1).lower() == conn.tracker.repository.lower():
            number = int(found.group(2))
        self._channels[channel_id] = number
        return number

    def _job_command(self, payload: Mapping[str, Any]) -> None:
        verb, text = str(payload["verb"]), str(payload["text"])
        change = None if verb == "close" else commands.parse(f"/{text}", self.config)
        target = payload.get("target")
        self._in_channel(payload["form"], verb, change,
                         int(target) if target is not None else None)

    def _in_channel(self, form: Mapping[str, str], verb: str,
                    change: commands.Change | None, target: int | None = None) -> None:
        number = target if target is not None else self.incident_of(form.get("channel_id", ""))
        if target is not None and not self._is_incident(target):
            self.tell(form, f":warning: #{target} is not an incident of this repository.")
            return
        if number is None:
            self.tell(form, ":warning: This is not an incident channel. Run the command in "
                            "the incident's channel, or `/incident list` to find it.")
            return
        c = self.conn()
        who = sync.Attribution(form.get("user_id", ""), "Slack")
        if verb == "info":
            self._info(form, str(number))
            return
        if verb == "update":
            self._open_update_form(number, form)
            return
        if verb == "close":
            change = commands.Change(
                status=Status.CLOSED,
                false_alarm=commands.is_false_alarm(form.get("text", "").split()))
        if change is None:
            return
        try:
            key = f"slack-command-{form.get('trigger_id') or form.get('response_url')}"
            operations.update_incident(c, number, change, by=who, actor={who.by},
                                       request_id=key)
        except commands.NeedsConfirmation as exc:
            issue = c.tracker.get_issue(number)
            fields = read_labels(issue.labels, self.config.severities)
            reason = f"{exc}. Close anyway?"
            self.tell(form, reason, views.confirm_close(number, fields.status, reason))
            return
        except IncidentbotError as exc:
            self.tell(form, f":warning: {_slack_words(exc)}")
            return
        self.tell(form, f"Done: #{number} updated.")

    def _list(self, form: Mapping[str, str]) -> None:
        c = self.conn()
        issues = c.tracker.list_incidents(state="open")
        if not issues:
            self.tell(form, "No open incidents. :tada:")
            return
        lines = []
        for issue in sorted(issues, key=lambda i: i.number)[:50]:
            f = read_labels(issue.labels, self.config.severities)
            sev = self.config.severity(f.severity).name if f.severity else "unrated"
            lines.append(f"• <{issue.url}|#{issue.number}> {sev} · {f.status.value} · "
                         f"{_plain(issue.title)}")
        self.tell(form, "\n".join(lines))

    def _info(self, form: Mapping[str, str], ref: str) -> None:
        c = self.conn()
        number = _number(ref)
        if number is None:
            matches = [i for i in c.tracker.list_incidents(state="all")
                       if sync.read(c.tracker, i.number, self.config).card.name == ref]
            number = matches[0].number if matches else None
        if number is None:
            self.tell(form, f":warning: No incident `{_code(ref)}`: give its number or name.")
            return
        snap = sync.read(c.tracker, number, self.config)
        f = snap.fields
        sev = self.config.severity(f.severity).name if f.severity else "unrated"
        channel = f"<#{snap.card.channel_id}>" if snap.card.channel_id else "no channel yet"
        roles = ", ".join(f"{r}: {_mention(p)}" for r, p in snap.card.roles.items()) or "none"
        self.tell(form, f"<{snap.issue.url}|#{number}> *{_plain(snap.issue.title)}*\n"
                        f"{sev} · {f.status.value} · services: "
                        f"{', '.join(f.services) or '—'} · {channel}\nRoles: {roles}")

    # -- interactivity -------------------------------------------------------------------
    def interaction(self, payload: Mapping[str, Any]) -> Reply:
        if not isinstance(payload, dict):
            return ephemeral("That request could not be read.")
        team = (payload.get("team") or {}).get("id")
        if not self._team_ok(team):
            return Reply(403, "unknown workspace")
        kind = payload.get("type")
        user = (payload.get("user") or {}).get("id", "")
        if kind == "view_submission":
            view = payload.get("view") or {}
            callback = view.get("callback_id")
            if callback == views.OPEN_CALLBACK:
                return self._submit_open(view, user)
            if callback == views.UPDATE_CALLBACK:
                return self._submit_update(view, user)
            return Reply(200)
        if kind == "block_actions":
            for action in payload.get("actions") or []:
                if action.get("action_id") in {blocks.JOIN, blocks.TAKE_COMMAND}:
                    request = {"response_url": payload.get("response_url", ""),
                               "channel_id": (payload.get("channel") or {}).get("id", ""),
                               "user_id": user}
                    work = self._join if action["action_id"] == blocks.JOIN \
                        else self._take_command
                    self.later(_bind(work, request, str(action.get("value", ""))),
                               what=str(action["action_id"]))
                if action.get("action_id") == "open_update":
                    request = {"response_url": payload.get("response_url", ""),
                               "channel_id": (payload.get("channel") or {}).get("id", ""),
                               "user_id": user,
                               "trigger_id": str(payload.get("trigger_id", ""))}
                    self.later(_bind(self._update_form, request, str(action.get("value", ""))),
                               what="update form", fast=True)
                if action.get("action_id") == views.CONFIRM_CLOSE and self.may_close(user):
                    request = {"response_url": payload.get("response_url", ""),
                               "channel_id": (payload.get("channel") or {}).get("id", ""),
                               "user_id": user}
                    value = str(action.get("value", ""))
                    key = f"slack-confirm-{payload.get('trigger_id') or action.get('action_ts')}"
                    self.durable("confirm_close", key, {"request": request, "value": value})
            return Reply(200)
        return Reply(200)  # view_closed, shortcuts we do not offer: nothing to do

    def _submit_open(self, view: Mapping[str, Any], user: str) -> Reply:
        try:
            wanted = views.read_open(view, self.config)
        except InvalidInput as exc:
            block, _, message = str(exc).partition(": ")
            return Reply(200, {"response_action": "errors", "errors": {block: message}})
        origin = views.metadata(view)
        # The same submission twice (a double click, Slack's retry) opens one incident.
        key = f"slack-view-{view.get('id', '')}-{view.get('hash', '')}"
        if not self._seen_work.add(key):
            return Reply(200)
        request = {**origin, "user_id": user}
        self.durable("open", key, {"wanted": asdict(wanted), "user": user, "key": key,
                                   "origin": dict(origin), "request": request})
        return Reply(200)

    def _job_open(self, payload: Mapping[str, Any]) -> None:
        wanted = views.OpenRequest(**{**payload["wanted"],
                                      "services": tuple(payload["wanted"]["services"])})
        user, key = str(payload["user"]), str(payload["key"])
        origin, request = payload["origin"], payload["request"]
        if True:
            c = self.conn()
            try:
                issue, outcome = operations.open_incident(
                    c, title=wanted.title, severity=wanted.severity, services=wanted.services,
                    description=wanted.description, public=wanted.public, page=wanted.page,
                    drill=wanted.drill, reporter=user, by=sync.Attribution(user, "Slack"),
                    request_id=key, repeat=bool(payload.get("resumed")),
                    roles=wanted.roles or None)
            except IncidentbotError as exc:
                self.tell(request, f":warning: The incident could not be opened: {exc}")
                return
            channel = outcome.card.channel_id if outcome.card else None
            where = f" Join <#{channel}>." if channel else ""
            self.tell(request, f"Opened <{issue.url}|#{issue.number}>.{where}")
            origin_channel = origin.get("channel_id")
            announced = {p.channel for k, p in (outcome.card.messages.items()
                                                if outcome.card else ()) if
                         k.startswith("announce:")}
            if origin_channel and channel and origin_channel not in {channel, *announced}:
                try:
                    c.chat.post(origin_channel, f":rotating_light: <@{user}> opened "
                                f"<{issue.url}|#{issue.number}> {_plain(wanted.title)} — "
                                f"join <#{channel}>", key=f"notice:{issue.number}")
                except IncidentbotError as exc:
                    log.info("no notice in %s: %s", origin_channel, exc)

    def _submit_update(self, view: Mapping[str, Any], user: str) -> Reply:
        origin = views.metadata(view)
        values = (view.get("state") or {}).get("values") or {}
        try:
            number = int(origin.get("number", ""))
            status = ((values.get("status") or {}).get("value") or {}).get("selected_option")
            severity = ((values.get("severity") or {}).get("value") or {}).get(
                "selected_option")
            note = ((values.get("note") or {}).get("value") or {}).get("value") or ""
            title = _typed(values, "title")
            description = _typed(values, "description")
            roles = views.read_roles(values, self.config)
            public = any(o.get("value") == "public" for o in (
                (values.get("publish") or {}).get("value") or {}).get("selected_options") or [])
            change = operations.change_from_options(
                self.config, status=status["value"] if status else None,
                severity=int(severity["value"]) if severity else None)
        except (ValueError, TypeError, KeyError):
            return Reply(200, {"response_action": "errors",
                               "errors": {"status": "choose a status"}})
        except InvalidInput as exc:
            return Reply(200, {"response_action": "errors", "errors": {"status": str(exc)}})
        key = f"slack-view-{view.get('id', '')}-{view.get('hash', '')}"
        if not self._seen_work.add(key):
            return Reply(200)
        request = {**origin, "user_id": user}
        self.durable("update", key, {
            "number": number, "status": change.status.value if change.status else None,
            "severity": change.severity, "note": note, "user": user, "request": request,
            "key": key, "title": title, "description": description,
            "roles": dict(roles) if roles else None, "public": public})
        return Reply(200)

    def _job_update(self, payload: Mapping[str, Any]) -> None:
        user, request = str(payload["user"]), payload["request"]
        change = operations.change_from_options(self.config, status=payload["status"],
                                                severity=payload["severity"])
        key = str(payload["key"])
        try:
            amend.update(self.conn(), int(payload["number"]), change,
                         note=str(payload["note"]), title=payload.get("title"),
                         description=payload.get("description"), roles=payload.get("roles"),
                         by=sync.Attribution(user, "Slack"), actor={user}, request_id=key,
                         public=bool(payload.get("public")))
        except IncidentbotError as exc:
            self.tell(request, f":warning: {exc}")

    def _update_form(self, request: dict[str, str], value: str) -> None:
        """The reminder's button: the update form for the incident it names."""
        if value.isdigit():
            self._open_update_form(int(value), request)

    def _open_update_form(self, number: int, request: Mapping[str, str]) -> None:
        """The update form, pre-filled with the incident's current status and severity."""
        c = self.conn()
        snap = sync.read(c.tracker, number, self.config)
        modal = views.update_modal(self.config, number=number, status=snap.fields.status,
                                   severity=snap.fields.severity,
                                   origin={"channel_id": request.get("channel_id", ""),
                                           "response_url": request.get("response_url", "")},
                                   title=snap.issue.title,
                                   description=amend.split_body(snap.issue.body)[0],
                                   roles=snap.card.roles)
        c.chat.open_view(request.get("trigger_id", ""), modal)

    def _job_confirm_close(self, payload: Mapping[str, Any]) -> None:
        self._confirm_close(dict(payload["request"]), str(payload["value"]))
    def _is_incident(self, number: int) -> bool:
        try:
            issue = self.conn().tracker.get_issue(number)
        except IncidentbotError:
            return False
        return read_labels(issue.labels, self.config.severities).is_incident

    def _join(self, request: dict[str, str], value: str) -> None:
        """The announcement's Join button: into the incident's channel, if it is open."""
        if not value.isdigit():
            return
        c = self.conn()
        snap = sync.read(c.tracker, int(value), self.config)
        channel = snap.card.channel_id
        if channel is None or snap.card.archived or snap.issue.state == "closed":
            self.tell(request, f"#{value} is closed; the record is on <{snap.issue.url}|the "
                               "issue>.")
            return
        if sync.is_private(snap.fields, self.config):
            self.tell(request, f"#{value} is private: its commander invites who is needed.")
            return
        result = c.chat.invite(channel, [request["user_id"]]).get(request["user_id"], "")
        if result in {"invited", "member"}:
            self.tell(request, f"You are in <#{channel}>.")
        else:
            self.tell(request, f":warning: Slack would not add you to <#{channel}> "
                               f"({_code(result)}); ask someone in it to invite you.")

    def _take_command(self, request: dict[str, str], value: str) -> None:
        """The announcement's Take command button: the person who clicked commands."""
        if not value.isdigit():
            return
        user = request["user_id"]
        try:
            operations.update_incident(self.conn(), int(value),
                                       commands.Change(roles={"commander": user}),
                                       by=sync.Attribution(user, "Slack"), actor={user})
        except IncidentbotError as exc:
            self.tell(request, f":warning: {exc}")
            return
        self.tell(request, f"You are the incident commander of #{value} now.")

    def _confirm_close(self, request: dict[str, str], value: str) -> None:
        number_text, _, asked_in = value.partition(":")
        c = self.conn()
        try:
            number = int(number_text)
            issue = c.tracker.get_issue(number)
        except (ValueError, IncidentbotError):
            self.tell(request, ":warning: That button is no longer valid.")
            return
        fields = read_labels(issue.labels, self.config.severities,
                             issue_closed=issue.state == "closed")
        if fields.status.value != asked_in:
            self.tell(request, f"#{number} has moved on (now {fields.status.value}); nothing "
                               "was changed. Run `/incident close` again if you still mean it.")
            return
        try:
            operations.close_incident(c, number, by=sync.Attribution(request["user_id"], "Slack"),
                                      force=True, actor={request["user_id"]})
        except IncidentbotError as exc:
            self.tell(request, f":warning: {exc}")
            return
        self.tell(request, f"Closed #{number}.")

    # -- Events API ----------------------------------------------------------------------
    def _events(self, body: bytes) -> Reply:
        return self.events(json.loads(body.decode("utf-8")))

    def events(self, payload: Any) -> Reply:
        """An Events API envelope (HTTP or Socket Mode)."""
        if not isinstance(payload, dict):
            return Reply(400, "not an event")
        if payload.get("type") == "url_verification":
            return Reply(200, {"challenge": str(payload.get("challenge", ""))})
        if payload.get("type") != "event_callback":
            return Reply(200)
        if not self._team_ok(payload.get("team_id")):
            return Reply(403, "unknown workspace")
        if not self._seen_work.add(f"event-{payload.get('event_id', '')}"):
            return Reply(200)  # Slack's retry of an event we already have
        event = payload.get("event") or {}
        kind = event.get("type")
        if kind == "pin_added" or (kind == "reaction_added"
                                   and event.get("reaction") == "pushpin"):
            self.later(lambda: self._mark(event), what=kind)
        elif kind in {"channel_archive", "channel_left"}:
            self.later(lambda: self._channel_lost(event), what=kind)
        return Reply(200)

    def _channel_lost(self, event: Mapping[str, Any]) -> None:
        """An incident channel archived by a person, or the bot removed from it: say so on
        the issue once, with what to do; the reconciler then reports what it cannot do."""
        channel = str(event.get("channel", ""))
        number = self.incident_of(channel)
        if number is None:
            return
        c = self.conn()
        snap = sync.read(c.tracker, number, self.config)
        if snap.issue.state == "closed" and event.get("type") == "channel_archive":
            return  # the bot archived it at close
        mark = f"<!-- incidentbot:channel-lost {channel} {event.get('type')} -->"
        if any(mark in x.body for x in snap.comments):
            return
        who = event.get("user")
        person = self.config.person_by_slack(str(who)) if who else None
        by = (f" by @{person.github}" if person and person.github else
              f" by {markdown_inline(str(who))}" if who else "")
        if event.get("type") == "channel_archive":
            text = (f":warning: The Slack channel #{snap.card.channel_name} was archived"
                    f"{by} while the incident is open. Reopen this issue after closing it, or "
                    "unarchive the channel in Slack, to get a working channel back.")
        else:
            text = (f":warning: incidentbot was removed from #{snap.card.channel_name}{by}. "
                    "Nothing more can be posted there: invite it back with "
                    "`/invite @incidentbot`, then run `incidentbot sync "
                    f"{number} --repair`.")
        c.tracker.comment(number, f"{mark}\n{text}")
        self._channels.pop(channel, None)

    def _mark(self, event: Mapping[str, Any]) -> None:
        """A pinned or :pushpin:-ed message in an incident channel: a timeline comment, once."""
        if event.get("type") == "pin_added":
            item = event.get("item") or {}
            channel = str(item.get("channel") or event.get("channel_id") or "")
            message = item.get("message") or {}
        else:
            item = event.get("item") or {}
            channel = str(item.get("channel", ""))
            message = {"ts": item.get("ts")}
        ts = str(message.get("ts") or "")
        number = self.incident_of(channel)
        if number is None or not ts:
            return
        c = self.conn()
        mark = f"<!-- incidentbot:pin {channel}:{ts} -->"
        if any(mark in x.body for x in c.tracker.comments(number)):
            return
        text = message.get("text")
        author = message.get("user") or event.get("user") or "someone"
        if text is None:
            text = c.chat.message_text(channel, ts)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(ts)))
        who = self.config.person_by_slack(str(author))
        name = str(author)
        if who is not None:
            name = f"@{who.github}" if who.github else (who.name or who.id)
        from incidentbot.text import markdown

        c.tracker.comment(number, f"{mark}\n:pushpin: **Key event** from Slack, posted by "
                                  f"{markdown(name)} at {when}:\n\n> "
                                  + markdown(str(text)).replace("\n", "\n> "))


def _typed(values: Mapping[str, Any], block: str) -> str | None:
    """A text input's value; None when the form has no such block."""
    if block not in values:
        return None
    return str(((values.get(block) or {}).get("value") or {}).get("value") or "")


def _bind(work: Callable[[dict[str, str], str], None], request: dict[str, str],
          value: str) -> Callable[[], None]:
    return lambda: work(request, value)


def markdown_inline(text: str) -> str:
    from incidentbot.text import markdown

    return markdown(text)


# Commands that act on one incident, and may name it by number from any channel.
_TAKES_NUMBER = {"close", "resolve", "reopen", "update"}


def _target(verb: str, rest: str) -> tuple[int | None, str]:
    """The incident a command names (`close 12`, `status fixing #12`) and the rest of it."""
    words = rest.split()
    if not words:
        return None, rest
    last = words[-1]
    if (last.startswith("#") and last[1:].isdigit()) or (verb in _TAKES_NUMBER
                                                       and last.isdigit() and len(words) == 1):
        return int(last.lstrip("#")), " ".join(words[:-1])
    return None, rest


def _number(ref: str) -> int | None:
    ref = ref.strip().lstrip("#")
    return int(ref) if ref.isdigit() else None


def _plain(text: str) -> str:
    from incidentbot.text import one_line, truncate_escaped

    return truncate_escaped(one_line(text), 200)


def _code(text: str) -> str:
    return text.replace("`", "ˋ")[:40]


def _mention(ref: str) -> str:
    from incidentbot.messages import person

    return person(ref)
