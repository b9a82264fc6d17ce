"""The Slack Web API subset incidentbot uses, in memory, with the real API's rules and errors."""
from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from incidentbot.sandbox.http import Request, Response
from incidentbot.sandbox.slack_args import Args, Result, arg_str, page_of, parse_args
from incidentbot.sandbox.slack_chat import ChatMethods
from incidentbot.sandbox.slack_conversations import ConversationMethods
from incidentbot.sandbox.slack_state import (
    ALICE,
    BOB,
    BOT_ID,
    BOT_USER_ID,
    CAROL,
    DAN,
    ERIN,
    GENERAL,
    INCIDENTS,
    SECURITY,
    TEAM_ID,
    TEAM_NAME,
    TEAM_URL,
    WORKSPACE,
    SlackError,
    SlackState,
    is_reply,
)

__all__ = [
    "ALICE", "BOB", "BOT_ID", "BOT_USER_ID", "CAROL", "DAN", "ERIN", "GENERAL", "INCIDENTS",
    "SECURITY", "TEAM_ID", "WORKSPACE", "SlackEmulator", "SlackError",
]


HOOKS = "/hooks/commands/"
# The scopes incidentbot's Slack app asks for (slack-app-manifest.yml).
BOT_SCOPES = (
    "bookmarks:read", "bookmarks:write", "channels:history", "channels:join",
    "channels:manage", "channels:read", "chat:write", "commands", "groups:history",
    "groups:read", "groups:write", "pins:read", "reactions:read", "users:read",
    "users:read.email",
)


class SlackEmulator(ConversationMethods, ChatMethods):
    """A Slack workspace (`WORKSPACE`) behind the Web API, as the bot token sees it."""

    service = "slack"

    def __init__(self, *, token: str) -> None:
        self.token = token
        self.clock: Callable[[], float] = time.time
        self.state = SlackState()
        self.hooks: dict[str, dict[str, Any]] = {}
        # What the bot token was granted; every answer says so in X-OAuth-Scopes, as Slack's
        # does (https://api.slack.com/authentication/oauth-v2). Tests remove one to see
        # `incidentbot doctor` notice.
        self.scopes: set[str] = set(BOT_SCOPES)
        self._lock = threading.RLock()
        self._methods: dict[str, Callable[[Args], Result]] = {
            "auth.test": self._auth_test,
            "bookmarks.add": self._bookmarks_add,
            "bookmarks.list": self._bookmarks_list,
            "bookmarks.remove": self._bookmarks_remove,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "conversations.archive": self._conversations_archive,
            "conversations.create": self._conversations_create,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.invite": self._conversations_invite,
            "conversations.join": self._conversations_join,
            "conversations.kick": self._conversations_kick,
            "conversations.leave": self._conversations_leave,
            "conversations.list": self._conversations_list,
            "conversations.members": self._conversations_members,
            "conversations.rename": self._conversations_rename,
            "conversations.replies": self._conversations_replies,
            "conversations.setPurpose": lambda a: self._set_about(a, "purpose"),
            "conversations.setTopic": lambda a: self._set_about(a, "topic"),
            "conversations.unarchive": self._conversations_unarchive,
            "pins.add": self._pins_add,
            "pins.list": self._pins_list,
            "pins.remove": self._pins_remove,
            "reactions.add": self._reactions_add,
            "reactions.get": self._reactions_get,
            "reactions.remove": self._reactions_remove,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.update": self._views_update,
        }

    # -- the emulator interface ---------------------------------------------------------------
    def operation(self, request: Request) -> str:
        if request.path.startswith(HOOKS):
            return "response_url"
        return request.path.removeprefix("/api/").strip("/")

    def handle(self, request: Request) -> Response:
        method = self.operation(request)
        if method == "response_url":
            return self._response_url(request)
        return self._web_api(method, request).with_headers(
            {"X-OAuth-Scopes": ",".join(sorted(self.scopes))})

    def _response_url(self, request: Request) -> Response:
        """A slash command's response_url: an ephemeral (or in-channel) reply, 5 uses."""
        with self._lock:
            hook = self.hooks.get(request.path)
            if hook is None:
                return Response(404, b"no_active_hooks", {"Content-Type": "text/plain"})
            if hook["uses"] >= 5:
                return Response(404, b"used_url", {"Content-Type": "text/plain"})
            try:
                payload = request.json()
            except ValueError:
                return Response(400, b"invalid_payload", {"Content-Type": "text/plain"})
            if not isinstance(payload, dict) or not (payload.get("text") or
                                                     payload.get("blocks")):
                return Response(400, b"no_text", {"Content-Type": "text/plain"})
            hook["uses"] += 1
            self.state.ephemerals.append({
                "channel": hook["channel"], "user": hook["user"],
                "text": payload.get("text", ""), "blocks": payload.get("blocks"),
                "via": "response_url",
                "response_type": payload.get("response_type", "ephemeral"),
            })
            return Response(200, b"ok", {"Content-Type": "text/plain"})

    def issue_response_url(self, base_url: str, user_id: str = ALICE,
                           channel_id: str = "C0INCIDENTS") -> str:
        """A response_url as Slack sends with a slash command or an interaction."""
        with self._lock:
            n = self.state.next_number("trigger")
            path = f"{HOOKS}T0SANDBOX/{n}/{hashlib.sha256(str(n).encode()).hexdigest()[:24]}"
            self.hooks[path] = {"user": user_id, "channel": channel_id, "uses": 0}
            return base_url.rstrip("/") + path

    def _web_api(self, method: str, request: Request) -> Response:
        handler = self._methods.get(method)
        if handler is None:
            return Response.json(404, {"ok": False, "error": "unknown_method",
                                       "req_method": method})
        with self._lock:
            try:
                args = parse_args(request)
                token = request.bearer_token() or arg_str(args, "token")
                if not token:
                    raise SlackError("not_authed")
                if token != self.token:
                    raise SlackError("invalid_auth")
                result = handler(args)
            except SlackError as err:
                return Response.json(200, {"ok": False, "error": err.code, **err.extra})
        return Response.json(200, {"ok": True, **result})

    def reset(self) -> None:
        """Back to the seeded workspace, on the real clock."""
        with self._lock:
            self.state = SlackState()
            self.hooks = {}
            self.scopes = set(BOT_SCOPES)
            self.clock = time.time

    def dump(self) -> dict[str, Any]:
        with self._lock:
            return self.state.dump()

    def load(self, data: Mapping[str, Any]) -> None:
        with self._lock:
            self.state.load(data)

    # -- for tests and the demo ---------------------------------------------------------------
    def channel_by_name(self, name: str) -> dict[str, Any] | None:
        """The stored channel record (with `members`), or None."""
        with self._lock:
            found = self.state.channel_named(name)
            return copy.deepcopy(found) if found is not None else None

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Every message in the channel, oldest first, thread replies with `is_reply: True`."""
        with self._lock:
            return [{**copy.deepcopy(m), "is_reply": is_reply(m)}
                    for m in self.state.messages.get(channel_id, [])]

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        """What chat.postEphemeral showed to whom (never in history)."""
        with self._lock:
            return copy.deepcopy(self.state.ephemerals)

    @property
    def activity(self) -> list[dict[str, Any]]:
        """Who did what: one entry per change, bot or human."""
        with self._lock:
            return copy.deepcopy(self.state.activity)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {vid: copy.deepcopy(e["view"]) for vid, e in self.state.views.items()}

    def issue_trigger_id(self, user_id: str = ALICE) -> str:
        """A trigger_id as Slack sends with a slash command; views.open takes it for 3 s."""
        with self._lock:
            n = self.state.next_number("trigger")
            digest = hashlib.sha256(f"trigger-{n}".encode()).hexdigest()[:32]
            trigger = f"{n}.{int(self.clock())}.{digest}"
            self.state.triggers[trigger] = {"issued": self.clock(), "used": False,
                                            "user": user_id}
            return trigger

    def post_as(self, user_id: str, channel_id: str, text: str,
                thread_ts: str | None = None) -> str:
        """Post as a person (who must be an active member); returns the ts. Raises SlackError."""
        with self._lock:
            channel = self._as_member(user_id, channel_id)
            if not text.strip():
                raise SlackError("no_text")
            message = self.state.post(self.clock(), user_id, channel, {"text": text}, thread_ts)
            return str(message["ts"])

    def react_as(self, user_id: str, channel_id: str, ts: str, name: str) -> None:
        with self._lock:
            self.state.react(self.clock(), user_id, self._as_member(user_id, channel_id), ts, name)

    def pin_as(self, user_id: str, channel_id: str, ts: str) -> None:
        with self._lock:
            self.state.pin(self.clock(), user_id, self._as_member(user_id, channel_id), ts)

    def invite_as(self, user_id: str, channel_id: str, invitee: str) -> None:
        """A person types `/invite @someone` in a channel they are in (the bot included:
        the fix `incidentbot doctor` asks for). Raises SlackError as Slack would refuse."""
        with self._lock:
            channel = self._as_member(user_id, channel_id)
            user = self.state.users.get(invitee)
            if user is None:
                raise SlackError("user_not_found")
            if invitee in channel["members"]:
                raise SlackError("already_in_channel")
            channel["members"].append(invitee)
            self._system(channel, invitee, "channel_join", f"<@{invitee}> has joined the "
                         "channel", inviter=user_id)

    def _as_member(self, user_id: str, channel_id: str) -> dict[str, Any]:
        user = self.state.users.get(user_id)
        if user is None:
            raise SlackError("user_not_found")
        if user["deleted"]:
            raise SlackError("account_inactive")
        channel = self.state.visible(channel_id, user_id)
        self._not_archived(channel)
        self._in(channel, user_id)
        return channel

    # -- auth and users ---------------------------------------------------------------------
    def _auth_test(self, args: Args) -> Result:
        return {"url": TEAM_URL, "team": TEAM_NAME, "user": "incidentbot", "team_id": TEAM_ID,
                "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _users_info(self, args: Args) -> Result:
        user = self.state.users.get(arg_str(args, "user"))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _users_lookup_by_email(self, args: Args) -> Result:
        email = arg_str(args, "email").strip().lower()
        for user in self.state.users.values():
            if not user["deleted"] and user["profile"].get("email", "").lower() == email:
                return {"user": copy.deepcopy(user)}
        raise SlackError("users_not_found")

    def _users_list(self, args: Args) -> Result:
        users = list(self.state.users.values())
        page, cursor = page_of(users, lambda u: u["id"], "user", args, default=200, most=1000)
        return {"members": copy.deepcopy(page), "cache_ts": int(self.clock()),
                "response_metadata": {"next_cursor": cursor}}
