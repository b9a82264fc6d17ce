"""The sandbox Slack workspace: its seed, Slack's naming and Block Kit rules, and its JSON state."""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final

# -- the seeded workspace -------------------------------------------------------------------
TEAM_ID: Final = "T0SANDBOX"
TEAM_NAME: Final = "Acme"
TEAM_DOMAIN: Final = "acme"
TEAM_URL: Final = "https://acme.slack.com/"
BOT_USER_ID: Final = "UBOT000001"
BOT_ID: Final = "B0SANDBOX"
APP_ID: Final = "A0SANDBOX"
ALICE: Final = "U0ALICE001"
BOB: Final = "U0BOB00001"
CAROL: Final = "U0CAROL001"
DAN: Final = "U0DAN00001"
ERIN: Final = "U0ERIN0001"
INCIDENTS: Final = "C0INCIDENTS"
GENERAL: Final = "C0GENERAL01"
SECURITY: Final = "C0SECURITY1"
SEEDED_AT: Final = 1_690_000_000

_TZ = {  # name -> (label, offset in seconds), as users.info reports them
    "Europe/Berlin": ("Central European Summer Time", 7200),
    "America/New_York": ("Eastern Daylight Time", -14400),
    "America/Los_Angeles": ("Pacific Daylight Time", -25200),
    "Asia/Tokyo": ("Japan Standard Time", 32400),
    "Europe/London": ("British Summer Time", 3600),
}


def _user(uid: str, name: str, real_name: str, tz: str, *, email: str | None = None,
          deleted: bool = False, bot: bool = False) -> dict[str, Any]:
    # https://docs.slack.dev/reference/objects/user-object
    profile: dict[str, Any] = {
        "real_name": real_name, "real_name_normalized": real_name,
        "display_name": "" if bot else name, "display_name_normalized": "" if bot else name,
        "team": TEAM_ID,
    }
    if email is not None:
        profile["email"] = email
    if bot:
        profile.update({"bot_id": BOT_ID, "api_app_id": APP_ID, "always_active": True})
    label, offset = _TZ[tz]
    return {
        "id": uid, "team_id": TEAM_ID, "name": name, "deleted": deleted, "real_name": real_name,
        "tz": tz, "tz_label": label, "tz_offset": offset, "profile": profile,
        "is_admin": False, "is_owner": False, "is_primary_owner": False,
        "is_restricted": False, "is_ultra_restricted": False, "is_bot": bot,
        "is_app_user": False, "updated": SEEDED_AT,
    }


def _channel(cid: str, name: str, members: list[str], *, private: bool = False,
             general: bool = False, purpose: str = "") -> dict[str, Any]:
    return {
        "id": cid, "name": name, "is_private": private, "is_archived": False,
        "is_general": general, "created": SEEDED_AT, "creator": ALICE,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": purpose, "creator": ALICE if purpose else "",
                    "last_set": SEEDED_AT if purpose else 0},
        "previous_names": [], "members": members,
    }


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable, JSON-ready copy of a frozen value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


WORKSPACE: Final[Mapping[str, Any]] = _freeze({
    "team": {"id": TEAM_ID, "name": TEAM_NAME, "domain": TEAM_DOMAIN, "url": TEAM_URL},
    "bot": {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID, "name": "incidentbot"},
    "users": [
        _user(BOT_USER_ID, "incidentbot", "incidentbot", "America/Los_Angeles", bot=True),
        _user(ALICE, "alice", "Alice Example", "Europe/Berlin", email="alice@example.com"),
        _user(BOB, "bob", "Bob Example", "America/New_York", email="bob@example.com"),
        _user(CAROL, "carol", "Carol Example", "America/Los_Angeles",
              email="carol@example.com"),
        _user(DAN, "dan", "Dan Example", "Asia/Tokyo", email="dan@example.com"),
        _user(ERIN, "erin", "Erin Example", "Europe/London", email="erin@example.com",
              deleted=True),
    ],
    "channels": [
        _channel(INCIDENTS, "incidents", [BOT_USER_ID, ALICE, BOB],
                 purpose="Where incidents are announced"),
        _channel(GENERAL, "general", [ALICE, BOB, CAROL, DAN], general=True,
                 purpose="This is the one channel that will always include everyone."),
        _channel(SECURITY, "security-incidents", [BOT_USER_ID, CAROL], private=True),
    ],
})

# -- Slack's rules --------------------------------------------------------------------------
# https://docs.slack.dev/reference/methods/conversations.create#naming : "Channel names may only
# contain lowercase letters, numbers, hyphens, and underscores, and must be 80 characters or
# less"; invalid_name_punctuation: "Value passed for name contained only punctuation."
_NAME_CHARS = re.compile(r"[a-z0-9_-]+")
_TS = re.compile(r"\d{1,10}\.\d{6}")


def channel_name_error(name: str) -> str | None:
    """Slack's error code for an unusable channel name, or None when the name is fine."""
    if not name:
        return "invalid_name_required"
    if len(name) > 80:
        return "invalid_name_maxlength"
    if not _NAME_CHARS.fullmatch(name):
        return "invalid_name_specials"
    if not re.search(r"[a-z0-9]", name):
        return "invalid_name_punctuation"
    return None


def is_ts(value: Any) -> bool:
    return isinstance(value, str) and _TS.fullmatch(value) is not None


def ts_micros(ts: str) -> int:
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1_000_000 + int(fraction.ljust(6, "0")[:6] or 0)


def format_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def bound_micros(value: Any) -> int:
    """A history `oldest`/`latest` bound (a Unix time, maybe fractional); ValueError if not."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite() or number < 0:
        raise ValueError(value)
    return int(number * 1_000_000)


def encode_cursor(kind: str, key: str) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


def decode_cursor(kind: str, cursor: str) -> str | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, sep, key = text.partition(":")
    return key if sep and prefix == kind and key else None


# -- the state and what can happen in it ----------------------------------------------------
class SlackError(Exception):
    """A Slack error answer, `{"ok": false, "error": code, **extra}`; helpers raise it too."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


# Messages Slack itself writes into a channel's history; nobody can edit them.
SYSTEM_SUBTYPES: Final = frozenset({
    "channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
    "channel_archive", "channel_unarchive",
})
_SKIN_TONES = frozenset(f"skin-tone-{i}" for i in range(2, 7))


def is_reply(message: Mapping[str, Any]) -> bool:
    return bool(message.get("thread_ts", message["ts"]) != message["ts"])


def render(message: Mapping[str, Any], *, metadata: bool = True) -> dict[str, Any]:
    out = copy.deepcopy(dict(message))
    if not metadata:
        out.pop("metadata", None)
    return out


def check_emoji_name(name: str) -> str:
    """An emoji short name ("thumbsup", "+1", "thumbsup::skin-tone-2"); else invalid_name."""
    base, _, tone = name.partition("::")
    valid = bool(base) and len(name) <= 100 and all(
        c.isascii() and (c.islower() or c.isdigit() or c in "_-+'") for c in base)
    if not valid or (tone and tone not in _SKIN_TONES):
        raise SlackError("invalid_name")
    return name


def channel_object(channel: Mapping[str, Any], *, num_members: bool = False) -> dict[str, Any]:
    """A stored channel as the API shows it to the bot."""
    # https://docs.slack.dev/reference/objects/conversation-object
    obj = {
        "id": channel["id"], "name": channel["name"], "is_channel": True, "is_group": False,
        "is_im": False, "is_mpim": False, "is_private": channel["is_private"],
        "created": channel["created"], "is_archived": channel["is_archived"],
        "is_general": channel["is_general"], "unlinked": 0, "name_normalized": channel["name"],
        "is_shared": False, "is_org_shared": False, "is_ext_shared": False,
        "is_pending_ext_shared": False, "pending_shared": [], "context_team_id": TEAM_ID,
        "parent_conversation": None, "creator": channel["creator"],
        "shared_team_ids": [TEAM_ID], "is_member": BOT_USER_ID in channel["members"],
        "topic": dict(channel["topic"]), "purpose": dict(channel["purpose"]),
        "previous_names": list(channel["previous_names"]),
    }
    if num_members:
        obj["num_members"] = len(channel["members"])
    return obj


def permalink(channel_id: str, message: Mapping[str, Any]) -> str:
    # https://docs.slack.dev/reference/methods/chat.getPermalink
    link = f"{TEAM_URL}archives/{channel_id}/p{message['ts'].replace('.', '')}"
    if is_reply(message):
        link += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
    return link


_STATE_KEYS = ("users", "channels", "messages", "ephemerals", "bookmarks", "pins", "views",
               "triggers", "activity", "counters")


class SlackState:
    """Everything the workspace holds, as plain JSON-ready data; starts seeded."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        # Per channel, every message (top-level and thread replies) in ts order.
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.bookmarks: dict[str, list[dict[str, Any]]] = {}
        self.pins: dict[str, list[dict[str, Any]]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, dict[str, Any]] = {}
        self.activity: list[dict[str, Any]] = []
        self.counters: dict[str, int] = {}
        self.load({})

    def load(self, data: Mapping[str, Any]) -> None:
        seed = thaw(WORKSPACE)
        self.users = {u["id"]: u for u in seed["users"]}
        self.channels = {c["id"]: c for c in seed["channels"]}
        self.messages = {cid: [] for cid in self.channels}
        self.ephemerals, self.activity = [], []
        self.bookmarks, self.pins, self.views, self.triggers = {}, {}, {}, {}
        self.counters = {"channel": 0, "view": 0, "bookmark": 0, "trigger": 0, "last_ts": 0}
        for key in _STATE_KEYS:
            if key in data:
                setattr(self, key, copy.deepcopy(data[key]))

    def dump(self) -> dict[str, Any]:
        return {key: copy.deepcopy(getattr(self, key)) for key in _STATE_KEYS}

    # -- ids --------------------------------------------------------------------------------
    def next_number(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    def next_ts(self, now: float) -> str:
        """A message ts from the clock, strictly after every ts issued before."""
        micros = max(int(now * 1_000_000), self.counters.get("last_ts", 0) + 100)
        self.counters["last_ts"] = micros
        return format_ts(micros)

    # -- lookups ----------------------------------------------------------------------------
    def channel_named(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.channels.values() if c["name"] == name), None)

    def message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel_id, []) if m["ts"] == ts), None)

    def visible(self, channel_id: str, actor: str = BOT_USER_ID) -> dict[str, Any]:
        """The channel, if it exists and `actor` may see it (private: members only)."""
        channel = self.channels.get(channel_id)
        if channel is None or (channel["is_private"] and actor not in channel["members"]):
            raise SlackError("channel_not_found")
        return channel

    def existing(self, channel: Mapping[str, Any], ts: str) -> dict[str, Any]:
        found = self.message(channel["id"], ts) if ts else None
        if found is None:
            raise SlackError("message_not_found")
        return found

    # -- changes, by the bot or a person ----------------------------------------------------
    def record(self, now: float, actor: str, action: str, channel: str, **details: Any) -> None:
        self.activity.append({"at": now, "user": actor, "action": action, "channel": channel,
                              **details})

    def new_message(self, now: float, actor: str, *, as_app: bool = True) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "ts": self.next_ts(now), "user": actor,
                                   "team": TEAM_ID}
        if as_app and actor == BOT_USER_ID:
            message.update({"bot_id": BOT_ID, "app_id": APP_ID})
        return message

    def system(self, now: float, channel: Mapping[str, Any], actor: str, subtype: str,
               text: str, **extra: Any) -> None:
        """A message Slack writes itself (joins, topic changes, archiving)."""
        message = self.new_message(now, actor, as_app=False)
        message.update({"subtype": subtype, "text": text, **extra})
        self.messages[channel["id"]].append(message)

    def post(self, now: float, actor: str, channel: Mapping[str, Any], content: Mapping[str, Any],
             thread_ts: str | None = None, broadcast: bool = False) -> dict[str, Any]:
        message = self.new_message(now, actor)
        message.update({"text": "", **content})
        if thread_ts:
            parent = self.message(channel["id"], thread_ts)
            if parent is not None and is_reply(parent):  # a reply's ts: join its thread
                thread_ts = str(parent["thread_ts"])
                parent = self.message(channel["id"], thread_ts)
            message["thread_ts"] = thread_ts
            if parent is not None:
                message["parent_user_id"] = parent["user"]
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if actor not in users:
                    users.append(actor)
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = message["ts"]
            if broadcast:
                message["subtype"] = "thread_broadcast"
        self.messages[channel["id"]].append(message)
        self.record(now, actor, "message", channel["id"], ts=message["ts"],
                    thread_ts=message.get("thread_ts"))
        return message

    def pin(self, now: float, actor: str, channel: Mapping[str, Any], ts: str) -> None:
        message = self.existing(channel, ts)
        pins = self.pins.setdefault(channel["id"], [])
        if any(p["ts"] == ts for p in pins):
            raise SlackError("already_pinned")
        pins.append({"ts": ts, "created": int(now), "created_by": actor})
        message.setdefault("pinned_to", []).append(channel["id"])
        self.record(now, actor, "pins.add", channel["id"], ts=ts)

    def react(self, now: float, actor: str, channel: Mapping[str, Any], ts: str,
              name: str) -> None:
        check_emoji_name(name)
        message = self.existing(channel, ts)
        if channel["is_archived"]:
            raise SlackError("is_archived")
        reactions = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if actor in reaction["users"]:
            raise SlackError("already_reacted")
        reaction["users"].append(actor)
        reaction["count"] = len(reaction["users"])
        self.record(now, actor, "reactions.add", channel["id"], ts=ts, name=name)

    def remove_member(self, now: float, channel: Mapping[str, Any], user_id: str,
                      action: str) -> None:
        channel["members"].remove(user_id)
        self.system(now, channel, user_id, "channel_leave", f"<@{user_id}> has left the channel")
        self.record(now, BOT_USER_ID, action, channel["id"], member=user_id)
