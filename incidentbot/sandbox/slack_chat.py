"""chat.*, bookmarks.*, pins.*, reactions.* and views.*."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from incidentbot.sandbox.slack_args import (
    TRIGGER_SECONDS,
    Args,
    Result,
    arg_bool,
    arg_json,
    arg_str,
    invalid_arguments,
)
from incidentbot.sandbox.slack_blocks import view_errors
from incidentbot.sandbox.slack_rules import SlackRules
from incidentbot.sandbox.slack_state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    SYSTEM_SUBTYPES,
    TEAM_ID,
    SlackError,
    check_emoji_name,
    is_ts,
    permalink,
    render,
)


class ChatMethods(SlackRules):
    # -- chat --------------------------------------------------------------------------------
    def _thread_ts(self, args: Args) -> str | None:
        raw = arg_str(args, "thread_ts").strip()
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
                             arg_bool(args, "reply_broadcast") and thread_ts is not None)
        return {"channel": channel["id"], "ts": message["ts"], "message": render(message),
                **warnings}

    def _chat_update(self, args: Args) -> Result:
        channel = self._channel(args)
        message = self.state.existing(channel, arg_str(args, "ts"))
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
        user_id = arg_str(args, "user")
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
        message = self.state.existing(channel, arg_str(args, "message_ts"))
        return {"channel": channel["id"], "permalink": permalink(channel["id"], message)}

    # -- bookmarks, pins, reactions ---------------------------------------------------------
    def _bookmarks_add(self, args: Args) -> Result:
        channel = self._channel(args, "channel_id")
        for field in ("title", "type"):
            if not arg_str(args, field):
                raise invalid_arguments(f"missing required field: {field}")
        if arg_str(args, "type") != "link":
            raise SlackError("invalid_bookmark_type")
        link = arg_str(args, "link")
        if not link.startswith(("http://", "https://")):
            raise SlackError("invalid_link")  # "link should begin with either http:// or https://"
        emoji = arg_str(args, "emoji") or None
        if emoji is not None and not (len(emoji) > 2 and emoji[0] == emoji[-1] == ":"):
            raise SlackError("invalid_emoji")
        n = self.state.next_number("bookmark")
        bookmark = {
            "id": f"Bk0SBX{n:06d}", "channel_id": channel["id"], "title": arg_str(args, "title"),
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
        found = next((b for b in marks if b["id"] == arg_str(args, "bookmark_id")), None)
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
        self.state.react(self.clock(), BOT_USER_ID, self._channel(args), ts, arg_str(args, "name"))
        return {}

    def _reactions_remove(self, args: Args) -> Result:
        ts = self._item_ts(args)
        channel = self._channel(args)
        name = check_emoji_name(arg_str(args, "name"))
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
            raise invalid_arguments("missing required field: view")
        try:
            view = arg_json(args, "view", "invalid_arguments")
        except SlackError:
            raise invalid_arguments("failed to parse view as JSON") from None
        errors = view_errors(view)
        if errors:
            raise invalid_arguments(*errors)
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
        trigger = arg_str(args, "trigger_id") or arg_str(args, "interactivity_pointer")
        if not trigger:
            raise invalid_arguments("missing required field: trigger_id")
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
        view_id, external_id = arg_str(args, "view_id"), arg_str(args, "external_id")
        if not view_id and not external_id:
            raise invalid_arguments("missing required field: view_id")
        entry = self.state.views.get(view_id) if view_id else next(
            (e for e in self.state.views.values() if e["view"]["external_id"] == external_id),
            None)
        if entry is None:
            raise SlackError("not_found")
        current = entry["view"]
        given_hash = arg_str(args, "hash")
        if given_hash and given_hash != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._view_arg(args)
        self._external_taken(view.get("external_id", ""), current["id"])
        stored = self._stored_view(view, current["id"], current["root_view_id"])
        stored["state"] = current["state"]
        entry["view"] = stored
        self._log("views.update", "", view=current["id"])
        return {"view": copy.deepcopy(stored)}
