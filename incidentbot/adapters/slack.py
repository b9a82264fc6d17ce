"""The team's chat over slack-sdk: the only module that imports `slack_sdk`."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from incidentbot.core.errors import AuthFailed, Conflict, NotFound, RateLimited, ServiceError
from incidentbot.core.ports import Channel, Message
from incidentbot.core.settings import Settings
from incidentbot.core.text import truncate

if TYPE_CHECKING:
    from slack_sdk import WebClient

SERVICE = "Slack"
_AUTH = {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired"}
_MISSING = {"channel_not_found", "user_not_found", "users_not_found", "message_not_found"}


def connect(settings: Settings) -> SlackChat:
    """A chat client; raises MissingSetting if the bot token is unset. slack-sdk is imported
    on the first call to Slack: a command that makes none (`list`, a sync with nothing to do)
    does not pay its import on a cold start."""
    settings.require("SLACK_BOT_TOKEN")
    return SlackChat(lambda: _clients(settings), backoff=settings.retry_backoff)


def _clients(settings: Settings) -> tuple[WebClient, WebClient]:
    """The client that retries, and the one for writes that must not repeat."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
    from slack_sdk.http_retry.builtin_interval_calculators import (
        BackoffRetryIntervalCalculator,
        FixedValueRetryIntervalCalculator,
    )

    # slack-sdk's backoff adds up to a second of random jitter; a backoff of 0 means none.
    backoff = (BackoffRetryIntervalCalculator(backoff_factor=settings.retry_backoff)
               if settings.retry_backoff > 0 else FixedValueRetryIntervalCalculator(0))
    connection, server = _retries(backoff)
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        # slack-sdk retries only connection errors by default; Slack asks clients to honour
        # Retry-After on 429 (https://api.slack.com/apis/rate-limits).
        retry_handlers=[connection, RateLimitErrorRetryHandler(max_retry_count=3), server],
    )
    # Writes that would duplicate if repeated blindly (a post whose answer was lost was still
    # posted) retry only 429s, which Slack did not process; SlackChat retries the rest itself,
    # after looking for the post it may already have made.
    once = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url,
                     timeout=15, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)])
    return client, once


def _retries(backoff: Any) -> tuple[Any, Any]:
    """Retry a dropped connection, but not one that was never made (refused, no such host):
    nothing was sent, and waiting only keeps a person from the error; and 5xx answers."""
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        ServerErrorRetryHandler,
    )
    from slack_sdk.http_retry.request import HttpRequest
    from slack_sdk.http_retry.response import HttpResponse
    from slack_sdk.http_retry.state import RetryState

    class ConnectionRetry(ConnectionErrorRetryHandler):
        def _can_retry(self, *, state: RetryState, request: HttpRequest,
                       response: HttpResponse | None = None,
                       error: Exception | None = None) -> bool:
            reason = getattr(error, "reason", None)
            if isinstance(reason, ConnectionRefusedError | socket.gaierror):
                return False
            return super()._can_retry(state=state, request=request, response=response,
                                      error=error)

    return (ConnectionRetry(max_retry_count=2, interval_calculator=backoff),
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff))


@contextmanager
def _translated(what: str) -> Iterator[None]:
    from slack_sdk.errors import SlackApiError, SlackClientError

    try:
        yield
    except SlackApiError as exc:
        code = exc.response.get("error", "unknown") if exc.response is not None else "unknown"
        status = exc.response.status_code if exc.response is not None else 0
        if status == 429:
            retry = float(exc.response.headers.get("Retry-After", 30))
            raise RateLimited(SERVICE, retry) from None
        if code in _AUTH:
            raise AuthFailed(SERVICE, f"{what}: the token was refused ({code})") from None
        if code in _MISSING:
            raise NotFound(SERVICE, f"{what}: {code}") from None
        if code == "name_taken":
            raise Conflict(SERVICE, f"{what}: name_taken") from None
        if status >= 500 or (status and not re.fullmatch(r"[a-z_]+", str(code))):
            # not Slack's JSON answer: a proxy's or a server's error page
            raise ServiceError(SERVICE, f"{what}: Slack answered HTTP {status} for "
                               f"{_url_of(exc) or 'the request'}; check SLACK_API_URL, or "
                               "try again later (https://slack-status.com)",
                               transient=status >= 500) from None
        raise ServiceError(SERVICE, f"{what}: {code}", transient=status >= 500) from None
    except (SlackClientError, OSError) as exc:
        url = _url_of(exc)
        local = "://127.0.0.1" in url or "://localhost" in url
        never = isinstance(getattr(exc, "reason", None), ConnectionRefusedError | socket.gaierror)
        raise ServiceError(SERVICE, f"{what}: cannot connect: {url or 'Slack'} "
                           f"({_reason(exc)}): check SLACK_API_URL and the network" + (
                               " (a sandbox: is `incidentbot sandbox` running on that port?)"
                               if local else ""), transient=not never) from None


def _url_of(exc: BaseException) -> str:
    """The URL a failed call went to: its response says; without one, it is read from the
    frame of slack-sdk that made the request."""
    import traceback

    answered = getattr(getattr(exc, "response", None), "api_url", None)
    if isinstance(answered, str):
        return answered.split("?")[0]
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_name == "_perform_urllib_http_request":
            url = frame.f_locals.get("url")
            if isinstance(url, str):
                return url.split("?")[0]
    return ""


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # URLError wraps the socket's error
    text = getattr(reason, "strerror", None) or (str(reason) if reason else "") or str(exc)
    return text or type(exc).__name__


def _channel(data: dict[str, Any]) -> Channel:
    return Channel(
        id=data["id"], name=data.get("name", ""), is_private=bool(data.get("is_private")),
        is_archived=bool(data.get("is_archived")),
        topic=(data.get("topic") or {}).get("value", ""),
        purpose=(data.get("purpose") or {}).get("value", ""),
        creator=data.get("creator", ""),
    )


# Slack's metadata event type for the messages incidentbot owns; the payload carries the key
# that makes each post happen once (https://api.slack.com/metadata/using).
EVENT_TYPE = "incidentbot_message"
TOPIC_MAX = 250  # https://api.slack.com/methods/conversations.setTopic
TEXT_MAX = 40_000


class SlackChat:
    """Channels, members and messages of one workspace, as the bot."""

    def __init__(self, clients: Callable[[], tuple[WebClient, WebClient]], *,
                 backoff: float = 0.5, attempts: int = 3,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clients = clients
        self._made: tuple[WebClient, WebClient] | None = None
        self._backoff = backoff
        self._attempts = attempts
        self._sleep = sleep
        self._user_id: str | None = None

    def _both(self) -> tuple[WebClient, WebClient]:
        if self._made is None:
            self._made = self._clients()
        return self._made

    @property
    def _client(self) -> WebClient:
        """The client that retries, made (and slack-sdk imported) on the first call."""
        return self._both()[0]

    @property
    def _once(self) -> WebClient:
        """The client for writes that must not repeat (it retries only 429s)."""
        return self._both()[1]

    def user_id(self) -> str:
        """The bot's own user id (asked once)."""
        if self._user_id is None:
            self._user_id = str(self.identity()["user_id"])
        return self._user_id

    def identity(self) -> dict[str, Any]:
        with _translated("auth.test"):
            return dict(self._client.auth_test().data)  # type: ignore[arg-type]

    def create_channel(self, name: str, *, private: bool = False) -> Channel:
        """A new channel; Conflict when the name is taken (archived channels count)."""
        with _translated(f"creating #{name}"):
            response = self._client.conversations_create(name=name, is_private=private)
        return _channel(response["channel"])

    def find_channel(self, name: str) -> Channel | None:
        """The channel called `name` that the bot can see, archived or not."""
        with _translated(f"looking for #{name}"):
            for page in self._client.conversations_list(
                types="public_channel,private_channel", exclude_archived=False, limit=1000
            ):
                for data in page["channels"]:
                    if data.get("name") == name:
                        return _channel(data)
        return None

    def channel_id(self, ref: str) -> str:
        """A channel id for `#name` or an id."""
        if not ref.startswith("#"):
            return ref
        found = self.find_channel(ref[1:])
        if found is None:
            raise NotFound(SERVICE, f"channel {ref} does not exist or the bot cannot see it")
        return found.id

    def set_topic(self, channel: str, topic: str) -> None:
        with _translated("setting the topic"):
            self._client.conversations_setTopic(channel=channel, topic=topic)

    def granted_scopes(self) -> set[str]:
        """The scopes the token was granted (Slack says so in X-OAuth-Scopes)."""
        with _translated("auth.test"):
            response = self._client.auth_test()
        header = next((v for k, v in response.headers.items()
                       if k.lower() == "x-oauth-scopes"), "")
        value = header[0] if isinstance(header, list) else header
        return {s.strip() for s in str(value).split(",") if s.strip()}

    def is_member(self, channel: str) -> bool:
        with _translated(f"reading channel {channel}"):
            data = self._client.conversations_info(channel=channel)["channel"]
        return bool(data.get("is_member"))

    def channel_info(self, channel: str) -> Channel:
        with _translated(f"reading channel {channel}"):
            return _channel(self._client.conversations_info(channel=channel)["channel"])

    def set_purpose(self, channel: str, purpose: str) -> None:
        with _translated("setting the purpose"):
            self._client.conversations_setPurpose(channel=channel,
                                                  purpose=truncate(purpose, TOPIC_MAX))

    def invite(self, channel: str, users: Sequence[str], *,
               fresh: bool = False) -> dict[str, str]:
        """Invite the users not yet in the channel: user -> `invited`, `member` or Slack's error.
        `fresh`: a channel this run created, whose only member is the bot (no read).

        Slack refuses a whole batch for one bad user, so a refused batch is retried one user
        at a time: one deactivated account never keeps the others out.
        """
        from slack_sdk.errors import SlackApiError

        if not users:
            return {}
        members: set[str] = set()
        with _translated("reading members"):
            for page in ([] if fresh else
                         self._client.conversations_members(channel=channel, limit=1000)):
                members.update(page["members"])
        outcome = {u: "member" for u in users if u in members}
        missing = [u for u in dict.fromkeys(users) if u not in members]
        batches = [missing[i:i + 100] for i in range(0, len(missing), 100)]
        for batch in batches:
            try:
                with _translated("inviting"):
                    self._client.conversations_invite(channel=channel, users=",".join(batch))
                outcome.update(dict.fromkeys(batch, "invited"))
                continue
            except (AuthFailed, RateLimited):
                raise
            except ServiceError:
                pass  # one bad user refuses the batch: go one by one
            for user in batch:
                try:
                    self._client.conversations_invite(channel=channel, users=user)
                    outcome[user] = "invited"
                except SlackApiError as exc:
                    code = exc.response.get("error", "unknown")
                    outcome[user] = "member" if code == "already_in_channel" else code
        return outcome

    def post(self, channel: str, text: str, *, key: str | None = None,
             thread_ts: str | None = None, broadcast: bool = False,
             blocks: Sequence[Mapping[str, Any]] | None = None) -> Message:
        """Post `text` (already mrkdwn-safe); `key` is stored as message metadata so a later
        run can tell that this post was made (see posted_keys)."""
        kwargs: dict[str, Any] = {"channel": channel, "text": truncate(text, TEXT_MAX),
                                  "unfurl_links": False, "unfurl_media": False}
        if blocks:
            kwargs["blocks"] = [dict(b) for b in blocks]
        if key is not None:
            kwargs["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"key": key}}
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
            kwargs["reply_broadcast"] = broadcast
        since = time.time() - 60
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff * 2**attempt)
                if key is not None:  # the lost answer may hide a post that was made
                    found = self._find_key(channel, key, since, thread_ts)
                    if found is not None:
                        return Message(channel=channel, ts=found, text=text)
            try:
                with _translated("posting"):
                    response = self._once.chat_postMessage(**kwargs)
                return Message(channel=response["channel"], ts=response["ts"], text=text)
            except ServiceError as exc:
                if not exc.transient or attempt == self._attempts - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _find_key(self, channel: str, key: str, since: float,
                  thread_ts: str | None) -> str | None:
        try:
            if thread_ts is not None:
                return self._thread_keys(channel, thread_ts).get(key)
            return self.posted_keys(channel, since).get(key)
        except ServiceError:
            return None

    def update(self, channel: str, ts: str, text: str, *,
               blocks: Sequence[Mapping[str, Any]] | None = None) -> None:
        kwargs: dict[str, Any] = {}
        if blocks is not None:
            kwargs["blocks"] = [dict(b) for b in blocks]
        with _translated("editing a message"):
            self._client.chat_update(channel=channel, ts=ts, text=truncate(text, TEXT_MAX),
                                     **kwargs)

    def posted_keys(self, channel: str, oldest: float) -> Mapping[str, str]:
        """key -> ts of the bot's keyed messages in `channel` since `oldest` (threads too)."""
        found: dict[str, str] = {}
        with _translated("reading channel history"):
            for page in self._client.conversations_history(
                channel=channel, oldest=f"{oldest:.6f}", limit=200, include_all_metadata=True
            ):
                for message in page["messages"]:
                    meta = message.get("metadata") or {}
                    if meta.get("event_type") == EVENT_TYPE:
                        key = (meta.get("event_payload") or {}).get("key")
                        if isinstance(key, str):
                            found.setdefault(key, message["ts"])
                    if message.get("reply_count") and message.get("thread_ts"):
                        found.update(self._thread_keys(channel, message["thread_ts"]))
        return found

    def _thread_keys(self, channel: str, ts: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for page in self._client.conversations_replies(channel=channel, ts=ts, limit=200,
                                                       include_all_metadata=True):
            for message in page["messages"]:
                meta = message.get("metadata") or {}
                key = (meta.get("event_payload") or {}).get("key")
                if meta.get("event_type") == EVENT_TYPE and isinstance(key, str):
                    found.setdefault(key, message["ts"])
        return found

    def message_text(self, channel: str, ts: str) -> str:
        """The text of one message (top-level or in a thread)."""
        with _translated("reading a message"):
            page = self._client.conversations_history(channel=channel, latest=ts, oldest=ts,
                                                      inclusive=True, limit=1)
            found = page["messages"]
            if not found:
                page = self._client.conversations_replies(channel=channel, ts=ts, limit=1)
                found = [m for m in page["messages"] if m.get("ts") == ts]
        return str(found[0].get("text", "")) if found else ""

    def history(self, channel: str) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """Every message of the channel, oldest first, and each thread's replies by parent ts."""
        messages: list[dict[str, Any]] = []
        threads: dict[str, list[dict[str, Any]]] = {}
        with _translated("reading channel history"):
            for page in self._client.conversations_history(channel=channel, limit=200):
                messages.extend(page["messages"])
            parents = [m["ts"] for m in messages
                       if m.get("reply_count") and m.get("thread_ts") == m.get("ts")]

            def replies(ts: str) -> list[dict[str, Any]]:
                found: list[dict[str, Any]] = []
                for page in self._client.conversations_replies(channel=channel, ts=ts,
                                                               limit=200):
                    found.extend(page["messages"])
                return found

            # Threads are read a few at a time: conversations.replies is Tier 3 (50+ a
            # minute), and a busy channel has dozens of threads.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=4) as pool:
                threads = dict(zip(parents, pool.map(replies, parents), strict=True))
        messages.sort(key=lambda m: float(m.get("ts", 0)))
        return messages, threads

    def user_name(self, user: str) -> str:
        """A person's display name (falls back to the id)."""
        try:
            with _translated("users.info"):
                data = self._client.users_info(user=user)["user"]
        except ServiceError:
            return user
        profile = data.get("profile") or {}
        return str(profile.get("display_name") or data.get("name") or user)

    def user_by_email(self, email: str) -> str | None:
        """The Slack user id of the account with this email, if there is one (needs the
        `users:read.email` scope). https://docs.slack.dev/reference/methods/users.lookupByEmail"""
        try:
            with _translated("users.lookupByEmail"):
                data = self._client.users_lookupByEmail(email=email)["user"]
        except ServiceError as exc:
            if "users_not_found" in str(exc):
                return None
            raise
        return None if data.get("deleted") else str(data["id"])

    def bookmarks(self, channel: str) -> list[str]:
        """The links bookmarked in `channel`."""
        with _translated("reading bookmarks"):
            data = self._client.bookmarks_list(channel_id=channel)
        found: list[dict[str, Any]] = data.get("bookmarks") or []
        return [str(b.get("link", "")) for b in found]

    def add_bookmark(self, channel: str, title: str, url: str) -> None:
        """Not retried here: a repeated add makes a second bookmark. The next sync sees the
        failure in the ledger and checks the channel's bookmarks before adding again."""
        with _translated(f"bookmarking {url}"):
            self._once.bookmarks_add(channel_id=channel, title=truncate(title, 100),
                                     type="link", link=url)

    def archive(self, channel: str) -> None:
        try:
            with _translated("archiving"):
                self._client.conversations_archive(channel=channel)
        except ServiceError as exc:
            if "already_archived" not in str(exc):
                raise

    def rename(self, channel: str, name: str) -> Channel:
        with _translated(f"renaming to #{name}"):
            return _channel(self._client.conversations_rename(channel=channel,
                                                              name=name)["channel"])

    # -- the dispatcher's side: modals, ephemeral replies, response URLs ----------------------
    def open_view(self, trigger_id: str, view: Mapping[str, Any]) -> str:
        """Open a modal (the trigger_id is good for 3 s); returns the view id."""
        with _translated("opening a form"):
            response = self._client.views_open(trigger_id=trigger_id, view=dict(view))
        return str(response["view"]["id"])

    def post_ephemeral(self, channel: str, user: str, text: str,
                       blocks: Sequence[Mapping[str, Any]] | None = None) -> None:
        with _translated("replying"):
            self._client.chat_postEphemeral(channel=channel, user=user, text=text,
                                            blocks=[dict(b) for b in blocks] if blocks else None)

    def respond(self, response_url: str, text: str,
                blocks: Sequence[Mapping[str, Any]] | None = None, *,
                in_channel: bool = False) -> None:
        """Answer through a slash command's or interaction's response_url."""
        from slack_sdk.errors import SlackClientError
        from slack_sdk.webhook import WebhookClient

        try:
            answer = WebhookClient(response_url, timeout=10).send(
                text=text, blocks=[dict(b) for b in blocks] if blocks else None,
                response_type="in_channel" if in_channel else "ephemeral")
        except (SlackClientError, OSError) as exc:
            raise ServiceError(SERVICE, f"response_url: {type(exc).__name__}",
                               transient=True) from None
        if answer.status_code != 200:
            raise ServiceError(SERVICE, f"response_url: HTTP {answer.status_code} {answer.body}")


def verify(signing_secret: str, body: bytes, timestamp: str | None, signature: str | None,
           now: float | None = None) -> bool:
    """Slack's request signature (v0, HMAC-SHA256, compared in constant time) and a timestamp
    within five minutes (https://api.slack.com/authentication/verifying-requests-from-slack)."""
    from slack_sdk.signature import SignatureVerifier

    if not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit():
        return False
    clock = (lambda: now) if now is not None else time.time
    verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))  # type: ignore[arg-type]
    try:
        return bool(verifier.is_valid(body=body, timestamp=timestamp, signature=signature))
    except (UnicodeDecodeError, ValueError):
        return False


def sign(signing_secret: str, body: bytes, timestamp: str) -> str:
    """The signature Slack would send (for the sandbox, tests and `doctor`), computed here
    from Slack's documented recipe rather than by the verifier it is checked with."""
    import hashlib
    import hmac

    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class _Clock:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def run_socket_mode(app_token: str, bot_token: str, handle: Callable[[str, Any], Any],
                    *, base_url: str | None = None) -> None:
    """Serve the dispatcher's handlers over Socket Mode until interrupted.

    `handle(kind, payload)` returns a Reply; its body becomes the acknowledgement's payload
    (for a slash command, the ephemeral answer; for a modal, its errors).
    """
    from slack_sdk import WebClient
    from slack_sdk.socket_mode.builtin import SocketModeClient
    from slack_sdk.socket_mode.client import BaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse

    web = WebClient(token=bot_token, base_url=base_url or "https://slack.com/api/")
    client = SocketModeClient(app_token=app_token, web_client=web)

    def listener(sm: BaseSocketModeClient, request: SocketModeRequest) -> None:
        reply = handle(request.type, request.payload)
        body = reply.body if isinstance(reply.body, dict) else None
        sm.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id,
                                                        payload=body))

    client.socket_mode_request_listeners.append(listener)
    client.connect()
    try:
        while True:
            time.sleep(3600)
    finally:
        client.close()
