"""The team's chat over slack-sdk: the only module that imports `slack_sdk`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from incidentbot.errors import AuthFailed, Conflict, NotFound, RateLimited, ServiceError
from incidentbot.ports import Channel, Message
from incidentbot.settings import Settings

SERVICE = "Slack"
_AUTH = {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired"}
_MISSING = {"channel_not_found", "user_not_found", "users_not_found", "message_not_found"}


def connect(settings: Settings) -> SlackChat:
    """A chat client; raises MissingSetting if the bot token is unset."""
    settings.require("SLACK_BOT_TOKEN")
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        # slack-sdk retries only connection errors by default; Slack asks clients to honour
        # Retry-After on 429 (https://api.slack.com/apis/rate-limits).
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )
    return SlackChat(client)


@contextmanager
def _translated(what: str) -> Iterator[None]:
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
        raise ServiceError(SERVICE, f"{what}: {code}") from None
    except (SlackClientError, OSError) as exc:
        raise ServiceError(SERVICE, f"{what}: {type(exc).__name__}") from None


def _channel(data: dict[str, Any]) -> Channel:
    return Channel(
        id=data["id"], name=data.get("name", ""), is_private=bool(data.get("is_private")),
        is_archived=bool(data.get("is_archived")),
        topic=(data.get("topic") or {}).get("value", ""),
    )


class SlackChat:
    """Channels, members and messages of one workspace, as the bot."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

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

    def invite(self, channel: str, users: Sequence[str]) -> list[str]:
        """Invite the users not yet in the channel; returns those invited."""
        if not users:
            return []
        with _translated("reading members"):
            members: set[str] = set()
            for page in self._client.conversations_members(channel=channel, limit=1000):
                members.update(page["members"])
        missing = [u for u in dict.fromkeys(users) if u not in members]
        if not missing:
            return []
        with _translated("inviting"):
            self._client.conversations_invite(channel=channel, users=",".join(missing))
        return missing

    def post(self, channel: str, text: str) -> Message:
        with _translated("posting"):
            response = self._client.chat_postMessage(channel=channel, text=text,
                                                     unfurl_links=False)
        return Message(channel=response["channel"], ts=response["ts"], text=text)
