"""The team's chat over slack-sdk (`SlackChat`); slack-sdk itself is imported only by this
module's siblings slack_client.py (the Web API) and slack_inbound.py (signatures, Socket
Mode)."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from incidentbot.adapters.slack_client import SERVICE, channel_of, clients, translated
from incidentbot.core.errors import AuthFailed, NotFound, RateLimited, ServiceError
from incidentbot.core.ports import Channel, Message
from incidentbot.core.settings import Settings
from incidentbot.core.text import truncate

if TYPE_CHECKING:
    from slack_sdk import WebClient

def connect(settings: Settings) -> SlackChat:
    """A chat client; raises MissingSetting if the bot token is unset. slack-sdk is imported
    on the first call to Slack: a command that makes none (`list`, a sync with nothing to do)
    does not pay its import on a cold start."""
    settings.require("SLACK_BOT_TOKEN")
    return SlackChat(lambda: clients(settings), backoff=settings.retry_backoff)


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
        with translated("auth.test"):
            return dict(self._client.auth_test().data)  # type: ignore[arg-type]

    def create_channel(self, name: str, *, private: bool = False) -> Channel:
        """A new channel; Conflict when the name is taken (archived channels count)."""
        with translated(f"creating #{name}"):
            response = self._client.conversations_create(name=name, is_private=private)
        return channel_of(response["channel"])

    def find_channel(self, name: str) -> Channel | None:
        """The channel called `name` that the bot can see, archived or not."""
        with translated(f"looking for #{name}"):
            for page in self._client.conversations_list(
                types="public_channel,private_channel", exclude_archived=False, limit=1000
            ):
                for data in page["channels"]:
                    if data.get("name") == name:
                        return channel_of(data)
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
        with translated("setting the topic"):
            self._client.conversations_setTopic(channel=channel, topic=topic)

    def granted_scopes(self) -> set[str]:
        """The scopes the token was granted (Slack says so in X-OAuth-Scopes)."""
        with translated("auth.test"):
            response = self._client.auth_test()
        header = next((v for k, v in response.headers.items()
                       if k.lower() == "x-oauth-scopes"), "")
        value = header[0] if isinstance(header, list) else header
        return {s.strip() for s in str(value).split(",") if s.strip()}

    def is_member(self, channel: str) -> bool:
        with translated(f"reading channel {channel}"):
            data = self._client.conversations_info(channel=channel)["channel"]
        return bool(data.get("is_member"))

    def channel_info(self, channel: str) -> Channel:
        with translated(f"reading channel {channel}"):
            return channel_of(self._client.conversations_info(channel=channel)["channel"])

    def set_purpose(self, channel: str, purpose: str) -> None:
        with translated("setting the purpose"):
            self._client.conversations_setPurpose(channel=channel,
                                                  purpose=truncate(purpose, TOPIC_MAX))

    def channel_members(self, channel: str) -> frozenset[str]:
        """Who is in `channel`, as Slack says (conversations.members, every page)."""
        members: set[str] = set()
        with translated("reading members"):
            for page in self._client.conversations_members(channel=channel, limit=1000):
                members.update(page["members"])
        return frozenset(members)

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
        members = frozenset() if fresh else self.channel_members(channel)
        outcome = {u: "member" for u in users if u in members}
        missing = [u for u in dict.fromkeys(users) if u not in members]
        batches = [missing[i:i + 100] for i in range(0, len(missing), 100)]
        for batch in batches:
            try:
                with translated("inviting"):
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
        """Post `text` (already mrkdwn-safe) to `channel`, an id or a `#name` (chat.postMessage
        takes either; the answer's `channel` is the id); `key` is stored as message metadata
        so a later run can tell that this post was made (see posted_keys)."""
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
                        return Message(channel=found[0], ts=found[1], text=text)
            try:
                with translated(f"posting to {channel}" if channel.startswith("#")
                                else "posting"):
                    response = self._once.chat_postMessage(**kwargs)
                return Message(channel=response["channel"], ts=response["ts"], text=text)
            except ServiceError as exc:
                if not exc.transient or attempt == self._attempts - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _find_key(self, channel: str, key: str, since: float,
                  thread_ts: str | None) -> tuple[str, str] | None:
        """(channel id, ts) of the post with `key`, if it was made; history is read by id."""
        try:
            channel = self.channel_id(channel)
            if thread_ts is not None:
                ts = self._thread_keys(channel, thread_ts).get(key)
            else:
                ts = self.posted_keys(channel, since).get(key)
        except ServiceError:
            return None
        return (channel, ts) if ts is not None else None

    def update(self, channel: str, ts: str, text: str, *,
               blocks: Sequence[Mapping[str, Any]] | None = None) -> None:
        kwargs: dict[str, Any] = {}
        if blocks is not None:
            kwargs["blocks"] = [dict(b) for b in blocks]
        with translated("editing a message"):
            self._client.chat_update(channel=channel, ts=ts, text=truncate(text, TEXT_MAX),
                                     **kwargs)

    def posted_keys(self, channel: str, oldest: float) -> Mapping[str, str]:
        """key -> ts of the bot's keyed messages in `channel` since `oldest` (threads too)."""
        found: dict[str, str] = {}
        with translated("reading channel history"):
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
        with translated("reading a message"):
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
        with translated("reading channel history"):
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
            with translated("users.info"):
                data = self._client.users_info(user=user)["user"]
        except ServiceError:
            return user
        profile = data.get("profile") or {}
        return str(profile.get("display_name") or data.get("name") or user)

    def user_by_email(self, email: str) -> str | None:
        """The Slack user id of the account with this email, if there is one (needs the
        `users:read.email` scope). https://docs.slack.dev/reference/methods/users.lookupByEmail"""
        try:
            with translated("users.lookupByEmail"):
                data = self._client.users_lookupByEmail(email=email)["user"]
        except ServiceError as exc:
            if "users_not_found" in str(exc):
                return None
            raise
        return None if data.get("deleted") else str(data["id"])

    def bookmarks(self, channel: str) -> list[str]:
        """The links bookmarked in `channel`."""
        with translated("reading bookmarks"):
            data = self._client.bookmarks_list(channel_id=channel)
        found: list[dict[str, Any]] = data.get("bookmarks") or []
        return [str(b.get("link", "")) for b in found]

    def add_bookmark(self, channel: str, title: str, url: str) -> None:
        """Not retried here: a repeated add makes a second bookmark. The next sync sees the
        failure in the ledger and checks the channel's bookmarks before adding again."""
        with translated(f"bookmarking {url}"):
            self._once.bookmarks_add(channel_id=channel, title=truncate(title, 100),
                                     type="link", link=url)

    def archive(self, channel: str) -> None:
        try:
            with translated("archiving"):
                self._client.conversations_archive(channel=channel)
        except ServiceError as exc:
            if "already_archived" not in str(exc):
                raise

    def rename(self, channel: str, name: str) -> Channel:
        with translated(f"renaming to #{name}"):
            return channel_of(self._client.conversations_rename(channel=channel,
                                                              name=name)["channel"])

    # -- the dispatcher's side: modals, ephemeral replies, response URLs ----------------------
    def open_view(self, trigger_id: str, view: Mapping[str, Any]) -> str:
        """Open a modal (the trigger_id is good for 3 s); returns the view id."""
        with translated("opening a form"):
            response = self._client.views_open(trigger_id=trigger_id, view=dict(view))
        return str(response["view"]["id"])

    def post_ephemeral(self, channel: str, user: str, text: str,
                       blocks: Sequence[Mapping[str, Any]] | None = None) -> None:
        with translated("replying"):
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
