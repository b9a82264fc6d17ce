"""The Slack Web API subset incidentbot uses, in memory, with the real API's rules and errors."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from incidentbot.sandbox.http import Request, Response
from incidentbot.sandbox.slack_state import (
    ALICE,
    APP_ID,
    BOB,
    BOT_ID,
    BOT_USER_ID,
    CAROL,
    DAN,
    ERIN,
    GENERAL,
    INCIDENTS,
    SECURITY,
    SYSTEM_SUBTYPES,
    TEAM_ID,
    TEAM_NAME,
    TEAM_URL,
    WORKSPACE,
    SlackError,
    SlackState,
    block_errors,
    bound_micros,
    channel_name_error,
    channel_object,
    check_emoji_name,
    decode_cursor,
    encode_cursor,
    is_reply,
    is_ts,
    permalink,
    render,
    ts_micros,
    view_errors,
)

__all__ = [
    "ALICE", "BOB", "BOT_ID", "BOT_USER_ID", "CAROL", "DAN", "ERIN", "GENERAL", "INCIDENTS",
    "SECURITY", "TEAM_ID", "WORKSPACE", "SlackEmulator", "SlackError",
]

Args = dict[str, Any]
Result = dict[str, Any]
_T = TypeVar("_T")

TEXT_LIMIT = 40_000  # https://api.slack.com/changelog/2018-04-truncating-really-long-messages
TOPIC_LIMIT = 250  # conversations.setTopic / setPurpose: too_long
TRIGGER_SECONDS = 3.0  # https://docs.slack.dev/interactivity/handling-user-interaction
_TRUNCATED = {
    "warning": "message_truncated",
    "response_metadata": {
        "messages": ["[WARN] Your message was truncated but still posted. The `text` field "
                     "accepts up to 40,000 characters."],
        "warnings": ["message_truncated"],
    },
}


def _invalid_arguments(*messages: str) -> SlackError:
    return SlackError("invalid_arguments",
                      response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})


# -- arguments: form-encoded ("1"/"true", comma lists, JSON strings) or a JSON body ----------
def _parse_args(request: Request) -> Args:
    args: Args = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = request.json()
        except ValueError:
            raise SlackError("invalid_json") from None
        if body is not None and not isinstance(body, dict):
            raise SlackError("json_not_object")
        args.update(body or {})
    elif request.body:
        try:
            args.update(request.form())
        except UnicodeDecodeError:
            raise SlackError("invalid_form_data") from None
    return args


def _str(args: Args, name: str) -> str:
    value = args.get(name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _bool(args: Args, name: str) -> bool:
    value = args.get(name)
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true"} if value is not None else False


def _json_arg(args: Args, name: str, error: str) -> Any:
    value = args.get(name)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    return value


def _page(items: Sequence[_T], key: Callable[[_T], str], kind: str, args: Args, *,
          default: int, most: int) -> tuple[list[_T], str]:
    """One page of `items` and the next cursor ("" at the end), the way Slack paginates."""
    raw = args.get("limit")
    try:
        limit = int(raw) if raw not in (None, "") else 0
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    if limit < 0:
        raise SlackError("invalid_limit")
    limit = min(limit or default, most)
    start = 0
    cursor = _str(args, "cursor")
    if cursor:
        wanted = decode_cursor(kind, cursor)
        found = next((i for i, item in enumerate(items) if key(item) == wanted), None)
        if found is None:
            raise SlackError("invalid_cursor")
        start = found
    end = start + limit
    return list(items[start:end]), encode_cursor(kind, key(items[end])) if end < len(items) else ""


HOOKS = "/hooks/commands/"
# The scopes incidentbot's Slack app asks for (slack-app-manifest.yml).
BOT_SCOPES = (
    "bookmarks:read", "bookmarks:write", "channels:history", "channels:join",
    "channels:manage", "channels:read", "chat:write", "commands", "groups:history",
    "groups:read", "groups:write", "pins:read", "reactions:read", "users:read",
    "users:read.email",
)


class SlackEmulator:
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
                args = _parse_args(request)
                token = request.bearer_token() or _str(args, "token")
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

    def _log(self, action: str, channel: str, **details: Any) -> None:
        self.state.record(self.clock(), BOT_USER_ID, action, channel, **details)

    def _system(self, channel: dict[str, Any], actor: str, subtype: str, text: str,
                **extra: Any) -> None:
        self.state.system(self.clock(), channel, actor, subtype, text, **extra)

    # -- shared rules ---------------------------------------------------------------------------
    def _channel(self, args: Args, key: str = "channel", *, by_name: bool = False
                 ) -> dict[str, Any]:
        ref = _str(args, key).strip()
        if by_name and ref not in self.state.channels:
            # chat.* take "an encoded ID, or a name" (https://docs.slack.dev/reference/methods/chat.postMessage)
            named = self.state.channel_named(ref.removeprefix("#"))
            ref = named["id"] if named is not None else ref
        return self.state.visible(ref)

    @staticmethod
    def _in(channel: dict[str, Any], actor: str = BOT_USER_ID) -> None:
        if actor not in channel["members"]:
            raise SlackError("not_in_channel")

    @staticmethod
    def _not_archived(channel: dict[str, Any], code: str = "is_archived") -> None:
        if channel["is_archived"]:
            raise SlackError(code)

    def _item_ts(self, args: Args) -> str:
        """pins.* and reactions.* name their message by channel + timestamp."""
        ts = _str(args, "timestamp")
        if not ts or not _str(args, "channel"):
            raise SlackError("no_item_specified")
        if not is_ts(ts):
            raise SlackError("bad_timestamp")
        return ts

    def _content(self, args: Args, *, update: bool = False) -> tuple[dict[str, Any], Result]:
        """The message fields the call sets, and any warnings for the answer."""
        content: dict[str, Any] = {}
        warnings: Result = {}
        if "text" in args and args["text"] is not None:
            content["text"] = _str(args, "text")
        markdown = _str(args, "markdown_text")
        blocks = _json_arg(args, "blocks", "invalid_blocks_format")
        attachments = _json_arg(args, "attachments", "invalid_attachments")
        if markdown and (content.get("text") or blocks):
            raise SlackError("markdown_text_conflict")
        has_content = bool(content.get("text", "").strip() or blocks or attachments or markdown)
        if not has_content and not (update and (blocks == [] or attachments == [])):
            raise SlackError("no_text")
        if markdown:
            if len(markdown) > 12_000:
                raise SlackError("msg_too_long")
            content.update(text=markdown, blocks=[{"type": "markdown", "text": markdown}])
        if blocks is not None:
            errors = block_errors(blocks)
            if errors:
                raise SlackError("invalid_blocks", errors=errors, response_metadata={
                    "messages": [f"[ERROR] {e}" for e in errors]})
            content["blocks"] = blocks
        if attachments is not None:
            if not isinstance(attachments, list) or not all(
                    isinstance(a, dict) for a in attachments):
                raise SlackError("invalid_attachments")
            if len(attachments) > 100:
                raise SlackError("too_many_attachments")
            content["attachments"] = attachments
        metadata = _json_arg(args, "metadata", "invalid_metadata_format")
        if metadata is not None:
            if metadata == {} and update:
                content["metadata"] = None
            elif not (isinstance(metadata, dict) and isinstance(metadata.get("event_type"), str)
                      and isinstance(metadata.get("event_payload", {}), dict)):
                raise SlackError("invalid_metadata_format")
            else:
                content["metadata"] = metadata
        if len(content.get("text", "")) > TEXT_LIMIT:
            content["text"] = content["text"][:TEXT_LIMIT]
            warnings = copy.deepcopy(_TRUNCATED)
        return content, warnings

    # -- auth and users ---------------------------------------------------------------------
    def _auth_test(self, args: Args) -> Result:
        return {"url": TEAM_URL, "team": TEAM_NAME, "user": "incidentbot", "team_id": TEAM_ID,
                "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _users_info(self, args: Args) -> Result:
        user = self.state.users.get(_str(args, "user"))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _users_lookup_by_email(self, args: Args) -> Result:
        email = _str(args, "email").strip().lower()
        for user in self.state.users.values():
            if not user["deleted"] and user["profile"].get("email", "").lower() == email:
                return {"user": copy.deepcopy(user)}
        raise SlackError("users_not_found")

    def _users_list(self, args: Args) -> Result:
        users = list(self.state.users.values())
        page, cursor = _page(users, lambda u: u["id"], "user", args, default=200, most=1000)
        return {"members": copy.deepcopy(page), "cache_ts": int(self.clock()),
                "response_metadata": {"next_cursor": cursor}}

    # -- conversations: lifecycle ------------------------------------------------------------
    def _conversations_create(self, args: Args) -> Result:
        name = _str(args, "name")
        code = channel_name_error(name)
        if code is not None:
            raise SlackError(code)
        if self.state.channel_named(name) is not None:  # archived channels keep their names
            raise SlackError("name_taken")
        channel_id = f"C0SBX{self.state.next_number('channel'):06d}"
        channel = {
            "id": channel_id, "name": name, "is_private": _bool(args, "is_private"),
            "is_archived": False, "is_general": False, "created": int(self.clock()),
            "creator": BOT_USER_ID, "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0}, "previous_names": [],
            "members": [BOT_USER_ID],
        }
        self.state.channels[channel_id] = channel
        self.state.messages[channel_id] = []
        self._system(channel, BOT_USER_ID, "channel_join",
                     f"<@{BOT_USER_ID}> has joined the channel")
        self._log("conversations.create", channel_id, name=name)
        return {"channel": channel_object(channel)}

    def _conversations_info(self, args: Args) -> Result:
        channel = self._channel(args)
        return {"channel": channel_object(
            channel, num_members=_bool(args, "include_num_members"))}

    def _conversations_list(self, args: Args) -> Result:
        types = {t.strip() for t in (_str(args, "types") or "public_channel").split(",")
                 if t.strip()}
        if not types <= {"public_channel", "private_channel", "mpim", "im"}:
            raise SlackError("invalid_types")
        wanted = [
            c for c in self.state.channels.values()
            if ("private_channel" in types and c["is_private"] and BOT_USER_ID in c["members"])
            or ("public_channel" in types and not c["is_private"])
        ]
        if _bool(args, "exclude_archived"):
            wanted = [c for c in wanted if not c["is_archived"]]
        page, cursor = _page(wanted, lambda c: c["id"], "team", args, default=100, most=1000)
        return {"channels": [channel_object(c, num_members=True) for c in page],
                "response_metadata": {"next_cursor": cursor}}

    def _conversations_rename(self, args: Args) -> Result:
        channel = self._channel(args)
        self._not_archived(channel)
        self._in(channel)
        name = _str(args, "name")
        code = channel_name_error(name)
        if code is not None:
            raise SlackError(code)
        other = self.state.channel_named(name)
        if other is not None and other is not channel:
            raise SlackError("name_taken")
        old = channel["name"]
        if name != old:
            channel["previous_names"].append(old)
            channel["name"] = name
            self._system(channel, BOT_USER_ID, "channel_name",
                         f'renamed the channel from "{old}" to "{name}"', old_name=old, name=name)
            self._log("conversations.rename", channel["id"], old=old, name=name)
        return {"channel": channel_object(channel)}

    def _conversations_archive(self, args: Args) -> Result:
        channel = self._channel(args)
        if channel["is_archived"]:
            raise SlackError("already_archived")
        if channel["is_general"]:
            raise SlackError("cant_archive_general")
        self._in(channel)
        self._system(channel, BOT_USER_ID, "channel_archive", "archived the channel")
        channel["is_archived"] = True
        self._log("conversations.archive", channel["id"])
        return {}

    def _conversations_unarchive(self, args: Args) -> Result:
        channel = self._channel(args)
        if not channel["is_archived"]:
            raise SlackError("not_archived")
        # Slack's documented "bug alert": bot tokens (xoxb-) cannot unarchive conversations
        # (https://api.slack.com/methods/conversations.unarchive). The sandbox only has a bot
        # token, so it always refuses; the error code is not documented for this case.
        if self.token.startswith("xoxb-"):
            raise SlackError("restricted_action")
        channel["is_archived"] = False
        self._system(channel, BOT_USER_ID, "channel_unarchive", "un-archived the channel")
        self._log("conversations.unarchive", channel["id"])
        return {}

    def _set_about(self, args: Args, field: str) -> Result:
        channel = self._channel(args)
        if field not in args:
            raise _invalid_arguments(f"missing required field: {field}")
        self._not_archived(channel)
        self._in(channel)
        value = _str(args, field)
        if len(value) > TOPIC_LIMIT:
            raise SlackError("too_long")
        channel[field] = {"value": value, "creator": BOT_USER_ID, "last_set": int(self.clock())}
        wording = "topic" if field == "topic" else "description"
        self._system(channel, BOT_USER_ID, f"channel_{field}",
                     f"set the channel {wording}: {value}", **{field: value})
        self._log(f"conversations.set{field.title()}", channel["id"], value=value)
        return {"channel": channel_object(channel)}

    # -- conversations: membership -----------------------------------------------------------
    def _conversations_invite(self, args: Args) -> Result:
        channel = self._channel(args)
        raw = args.get("users")
        listed = raw if isinstance(raw, list) else _str(args, "users").split(",")
        users = list(dict.fromkeys(str(u).strip() for u in listed if str(u).strip()))
        if not users:
            raise SlackError("no_user")
        if len(users) > 100:  # "Up to 100 users may be listed."
            raise _invalid_arguments("must provide no more than 100 items [json-pointer:/users]")
        self._not_archived(channel)
        self._in(channel)
        errors: list[dict[str, Any]] = []
        invited: list[str] = []
        for user_id in users:
            user = self.state.users.get(user_id)
            code = ("user_not_found" if user is None
                    else "cant_invite_self" if user_id == BOT_USER_ID
                    else "cant_invite" if user["deleted"]
                    else "already_in_channel" if user_id in channel["members"] else None)
            if code is None:
                invited.append(user_id)
            else:
                errors.append({"user": user_id, "ok": False, "error": code})
        hard = [e for e in errors if e["error"] != "already_in_channel"]
        force = _bool(args, "force")
        if (hard and not force) or not invited:
            raise SlackError((hard or errors)[0]["error"], errors=errors)
        for user_id in invited:
            channel["members"].append(user_id)
            self._system(channel, user_id, "channel_join", f"<@{user_id}> has joined the channel",
                         inviter=BOT_USER_ID)
            self._log("conversations.invite", channel["id"], invitee=user_id)
        result: Result = {"channel": channel_object(channel)}
        if hard:
            result["errors"] = errors
        return result

    def _conversations_join(self, args: Args) -> Result:
        channel = self._channel(args)
        if channel["is_private"]:
            raise SlackError("method_not_supported_for_channel_type")
        self._not_archived(channel)
        if BOT_USER_ID in channel["members"]:
            return {"channel": channel_object(channel), "warning": "already_in_channel",
                    "response_metadata": {"warnings": ["already_in_channel"]}}
        channel["members"].append(BOT_USER_ID)
        self._system(channel, BOT_USER_ID, "channel_join",
                     f"<@{BOT_USER_ID}> has joined the channel")
        self._log("conversations.join", channel["id"])
        return {"channel": channel_object(channel)}

    def _conversations_leave(self, args: Args) -> Result:
        channel = self._channel(args)
        self._not_archived(channel)
        if channel["is_general"]:
            raise SlackError("cant_leave_general")
        if BOT_USER_ID not in channel["members"]:
            return {"not_in_channel": True}  # not an error, per the method's docs
        if channel["is_private"] and channel["members"] == [BOT_USER_ID]:
            raise SlackError("last_member")
        self.state.remove_member(self.clock(), channel, BOT_USER_ID, "conversations.leave")
        return {}

    def _conversations_kick(self, args: Args) -> Result:
        channel = self._channel(args)
        user_id = _str(args, "user")
        if user_id == BOT_USER_ID:
            raise SlackError("cant_kick_self")
        if channel["is_general"]:
            raise SlackError("cant_kick_from_general")
        if user_id not in self.state.users:
            raise SlackError("user_not_found")
        self._in(channel)
        self._in(channel, user_id)
        self.state.remove_member(self.clock(), channel, user_id, "conversations.kick")
        return {"errors": {}}

    def _conversations_members(self, args: Args) -> Result:
        channel = self._channel(args)
        page, cursor = _page(channel["members"], str, "user", args, default=100, most=1000)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    # -- conversations: reading --------------------------------------------------------------
    def _window(self, args: Args) -> Callable[[dict[str, Any]], bool]:
        """The oldest/latest/inclusive filter of history and replies."""
        bounds: list[int | None] = []
        for name in ("oldest", "latest"):
            raw = _str(args, name).strip()
            try:
                bounds.append(bound_micros(raw) if raw else None)
            except ValueError:
                raise SlackError(f"invalid_ts_{name}") from None
        oldest, latest = bounds
        inclusive = _bool(args, "inclusive")

        def inside(message: dict[str, Any]) -> bool:
            t = ts_micros(message["ts"])
            after = oldest is None or t > oldest or (inclusive and t == oldest)
            before = latest is None or t < latest or (inclusive and t == latest)
            return after and before

        return inside

    def _conversations_history(self, args: Args) -> Result:
        channel = self._channel(args)
        self._in(channel)
        inside = self._window(args)
        shown = [m for m in reversed(self.state.messages[channel["id"]])
                 if (not is_reply(m) or m.get("subtype") == "thread_broadcast") and inside(m)]
        page, cursor = _page(shown, lambda m: m["ts"], "next_ts", args, default=100, most=999)
        metadata = _bool(args, "include_all_metadata")
        return {"messages": [render(m, metadata=metadata) for m in page],
                "has_more": bool(cursor), "pin_count": len(self.state.pins.get(channel["id"], [])),
                "response_metadata": {"next_cursor": cursor}}

    def _conversations_replies(self, args: Args) -> Result:
        channel = self._channel(args)
        self._in(channel)
        found = self.state.message(channel["id"], _str(args, "ts"))
        if found is None:
            raise SlackError("thread_not_found")
        root = found.get("thread_ts", found["ts"])
        inside = self._window(args)
        thread = [m for m in self.state.messages[channel["id"]]
                  if (m["ts"] == root or m.get("thread_ts") == root) and inside(m)]
        page, cursor = _page(thread, lambda m: m["ts"], "next_ts", args, default=1000, most=1000)
        metadata = _bool(args, "include_all_metadata")
        return {"messages": [render(m, metadata=metadata) for m in page],
                "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}

    # -- chat --------------------------------------------------------------------------------
    def _thread_ts(self, args: Args) -> str | None:
        raw = _str(args, "thread_ts").strip()
        if not raw:
            return None
        if not is_ts(raw):
            raise SlackError("invalid_thread_ts", response_metadata={
                "messages": [f"[ERROR] {raw} is not a valid thread_ts"]})
        return raw

    def _chat_post_message(self, args: Args) -> Result:
        channel = self._channel(args, by_name=True)
        self._not_archived(channel)
        self._in(channel)  # Slack answers not_in_channel, even for public channels
        content, warnings = self._content(args)
        thread_ts = self._thread_ts(args)
        message = self.state.post(self.clock(), BOT_USER_ID, channel, content, thread_ts,
                             _bool(args, "reply_broadcast") and thread_ts is not None)
        return {"channel": channel["id"], "ts": message["ts"], "message": render(message),
                **warnings}

    def _chat_update(self, args: Args) -> Result:
        channel = self._channel(args)
        message = self.state.existing(channel, _str(args, "ts"))
        if message["user"] != BOT_USER_ID or message.get("subtype") in SYSTEM_SUBTYPES:
            raise SlackError("cant_update_message")
        self._not_archived(channel, "is_inactive")
        content, warnings = self._content(args, update=True)
        for key, value in content.items():
            if value is None or value == []:  # an empty array (or {} metadata) removes it
                message.pop(key, None)
            else:
                message[key] = value
        message["edited"] = {"user": BOT_USER_ID, "ts": self.state.next_ts(self.clock())}
        self._log("chat.update", channel["id"], ts=message["ts"])
        return {"channel": channel["id"], "ts": message["ts"], "text": message.get("text", ""),
                "message": render(message), **warnings}

    def _chat_post_ephemeral(self, args: Args) -> Result:
        channel = self._channel(args, by_name=True)
        user_id = _str(args, "user")
        if user_id not in self.state.users:
            raise SlackError("user_not_found")
        self._not_archived(channel)
        self._in(channel)
        if user_id not in channel["members"]:
            raise SlackError("user_not_in_channel")
        content, warnings = self._content(args)
        ts = self.state.next_ts(self.clock())
        self.state.ephemerals.append({"channel": channel["id"], "user": user_id,
                                      "message_ts": ts, "thread_ts": self._thread_ts(args),
                                      "text": "", **content})
        return {"message_ts": ts, **warnings}

    def _chat_get_permalink(self, args: Args) -> Result:
        channel = self._channel(args)
        message = self.state.existing(channel, _str(args, "message_ts"))
        return {"channel": channel["id"], "permalink": permalink(channel["id"], message)}

    # -- bookmarks, pins, reactions ---------------------------------------------------------
    def _bookmarks_add(self, args: Args) -> Result:
        channel = self._channel(args, "channel_id")
        for field in ("title", "type"):
            if not _str(args, field):
                raise _invalid_arguments(f"missing required field: {field}")
        if _str(args, "type") != "link":
            raise SlackError("invalid_bookmark_type")
        link = _str(args, "link")
        if not link.startswith(("http://", "https://")):
            raise SlackError("invalid_link")  # "link should begin with either http:// or https://"
        emoji = _str(args, "emoji") or None
        if emoji is not None and not (len(emoji) > 2 and emoji[0] == emoji[-1] == ":"):
            raise SlackError("invalid_emoji")
        n = self.state.next_number("bookmark")
        bookmark = {
            "id": f"Bk0SBX{n:06d}", "channel_id": channel["id"], "title": _str(args, "title"),
            "link": link, "emoji": emoji, "icon_url": None, "type": "link", "entity_id": None,
            "date_created": int(self.clock()), "date_updated": 0, "rank": f"{n:06d}",
            "last_updated_by_user_id": BOT_USER_ID, "last_updated_by_team_id": TEAM_ID,
            "shortcut_id": None, "app_id": APP_ID,
        }
        self.state.bookmarks.setdefault(channel["id"], []).append(bookmark)
        self._log("bookmarks.add", channel["id"], bookmark=bookmark["id"])
        return {"bookmark": copy.deepcopy(bookmark)}

    def _bookmarks_list(self, args: Args) -> Result:
        channel = self._channel(args, "channel_id")
        return {"bookmarks": copy.deepcopy(self.state.bookmarks.get(channel["id"], []))}

    def _bookmarks_remove(self, args: Args) -> Result:
        channel = self._channel(args, "channel_id")
        marks = self.state.bookmarks.get(channel["id"], [])
        found = next((b for b in marks if b["id"] == _str(args, "bookmark_id")), None)
        if found is None:
            raise SlackError("not_found")
        marks.remove(found)
        self._log("bookmarks.remove", channel["id"], bookmark=found["id"])
        return {}

    def _pins_add(self, args: Args) -> Result:
        channel = self._channel(args)
        self.state.pin(self.clock(), BOT_USER_ID, channel, self._item_ts(args))
        return {}

    def _pins_remove(self, args: Args) -> Result:
        channel = self._channel(args)
        ts = self._item_ts(args)
        message = self.state.existing(channel, ts)
        pins = self.state.pins.get(channel["id"], [])
        pin = next((p for p in pins if p["ts"] == ts), None)
        if pin is None:
            raise SlackError("not_pinned")
        pins.remove(pin)
        message["pinned_to"].remove(channel["id"])
        if not message["pinned_to"]:
            del message["pinned_to"]
        self._log("pins.remove", channel["id"], ts=ts)
        return {}

    def _pins_list(self, args: Args) -> Result:
        channel = self._channel(args)
        items = []
        for pin in self.state.pins.get(channel["id"], []):
            message = self.state.existing(channel, pin["ts"])
            items.append({"type": "message", "channel": channel["id"],
                          "message": {**render(message),
                                      "permalink": permalink(channel["id"], message)},
                          "created": pin["created"], "created_by": pin["created_by"]})
        return {"items": items}

    def _reactions_add(self, args: Args) -> Result:
        ts = self._item_ts(args)
        self.state.react(self.clock(), BOT_USER_ID, self._channel(args), ts, _str(args, "name"))
        return {}

    def _reactions_remove(self, args: Args) -> Result:
        ts = self._item_ts(args)
        channel = self._channel(args)
        name = check_emoji_name(_str(args, "name"))
        message = self.state.existing(channel, ts)
        reactions = message.get("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None or BOT_USER_ID not in reaction["users"]:
            raise SlackError("no_reaction")
        reaction["users"].remove(BOT_USER_ID)
        reaction["count"] = len(reaction["users"])
        if not reaction["users"]:
            reactions.remove(reaction)
        if not reactions:
            message.pop("reactions", None)
        self._log("reactions.remove", channel["id"], ts=ts, name=name)
        return {}

    def _reactions_get(self, args: Args) -> Result:
        ts = self._item_ts(args)
        channel = self._channel(args)
        message = self.state.existing(channel, ts)
        return {"type": "message", "channel": channel["id"],
                "message": {**render(message),
                            "permalink": permalink(channel["id"], message)}}

    # -- views -------------------------------------------------------------------------------
    def _view_arg(self, args: Args) -> dict[str, Any]:
        if args.get("view") is None:
            raise _invalid_arguments("missing required field: view")
        try:
            view = _json_arg(args, "view", "invalid_arguments")
        except SlackError:
            raise _invalid_arguments("failed to parse view as JSON") from None
        errors = view_errors(view)
        if errors:
            raise _invalid_arguments(*errors)
        return dict(view)

    def _external_taken(self, external_id: str, view_id: str | None = None) -> None:
        if external_id and any(e["view"]["external_id"] == external_id and vid != view_id
                               for vid, e in self.state.views.items()):
            raise SlackError("duplicate_external_id")

    def _stored_view(self, view: dict[str, Any], view_id: str, root: str) -> dict[str, Any]:
        n = self.state.next_number("view_hash")
        digest = hashlib.sha256(f"{view_id}-{n}".encode()).hexdigest()[:8]
        return {
            "id": view_id, "team_id": TEAM_ID, "type": "modal", "title": view["title"],
            "submit": view.get("submit"), "close": view.get("close"), "blocks": view["blocks"],
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""), "external_id": view.get("external_id", ""),
            "state": {"values": {}}, "hash": f"{int(self.clock())}.{digest}",
            "clear_on_close": bool(view.get("clear_on_close")),
            "notify_on_close": bool(view.get("notify_on_close")),
            "root_view_id": root, "previous_view_id": None, "app_id": APP_ID, "bot_id": BOT_ID,
        }

    def _views_open(self, args: Args) -> Result:
        trigger = _str(args, "trigger_id") or _str(args, "interactivity_pointer")
        if not trigger:
            raise _invalid_arguments("missing required field: trigger_id")
        issued = self.state.triggers.get(trigger)
        if issued is None:
            raise SlackError("invalid_trigger_id")
        if issued["used"]:
            raise SlackError("exchanged_trigger_id")
        if self.clock() - issued["issued"] > TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        view = self._view_arg(args)
        self._external_taken(view.get("external_id", ""))
        issued["used"] = True
        view_id = f"V0SBX{self.state.next_number('view'):06d}"
        stored = self._stored_view(view, view_id, view_id)
        self.state.views[view_id] = {"user": issued["user"], "view": stored}
        self._log("views.open", "", view=view_id, for_user=issued["user"])
        return {"view": copy.deepcopy(stored)}

    def _views_update(self, args: Args) -> Result:
        view_id, external_id = _str(args, "view_id"), _str(args, "external_id")
        if not view_id and not external_id:
            raise _invalid_arguments("missing required field: view_id")
        entry = self.state.views.get(view_id) if view_id else next(
            (e for e in self.state.views.values() if e["view"]["external_id"] == external_id),
            None)
        if entry is None:
            raise SlackError("not_found")
        current = entry["view"]
        given_hash = _str(args, "hash")
        if given_hash and given_hash != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._view_arg(args)
        self._external_taken(view.get("external_id", ""), current["id"])
        stored = self._stored_view(view, current["id"], current["root_view_id"])
        stored["state"] = current["state"]
        entry["view"] = stored
        self._log("views.update", "", view=current["id"])
        return {"view": copy.deepcopy(stored)}
