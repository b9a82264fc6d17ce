"""slack-sdk's clients as incidentbot needs them: built on first use, with the rate-limit
(Retry-After), server-error and connection retry handlers, and Slack's errors turned into
ours in one line."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from incidentbot.core.errors import AuthFailed, Conflict, NotFound, RateLimited, ServiceError
from incidentbot.core.ports import Channel
from incidentbot.core.settings import Settings

if TYPE_CHECKING:
    from slack_sdk import WebClient

SERVICE = "Slack"
_AUTH = {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired"}
_MISSING = {"channel_not_found", "user_not_found", "users_not_found", "message_not_found"}


def clients(settings: Settings) -> tuple[WebClient, WebClient]:
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
def translated(what: str) -> Iterator[None]:
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


def channel_of(data: dict[str, Any]) -> Channel:
    return Channel(
        id=data["id"], name=data.get("name", ""), is_private=bool(data.get("is_private")),
        is_archived=bool(data.get("is_archived")),
        topic=(data.get("topic") or {}).get("value", ""),
        purpose=(data.get("purpose") or {}).get("value", ""),
        creator=data.get("creator", ""),
    )


# Slack's metadata event type for the messages incidentbot owns; the payload carries the key
# that makes each post happen once (https://api.slack.com/metadata/using).
