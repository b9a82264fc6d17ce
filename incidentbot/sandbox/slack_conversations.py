"""conversations.*: create, rename, archive, topic and purpose, membership, history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from incidentbot.sandbox.slack_args import (
    TOPIC_LIMIT,
    Args,
    Result,
    arg_bool,
    arg_str,
    invalid_arguments,
    page_of,
)
from incidentbot.sandbox.slack_rules import SlackRules
from incidentbot.sandbox.slack_state import (
    BOT_USER_ID,
    SlackError,
    bound_micros,
    channel_name_error,
    channel_object,
    is_reply,
    render,
    ts_micros,
)


class ConversationMethods(SlackRules):
    # -- conversations: lifecycle ------------------------------------------------------------
    def _conversations_create(self, args: Args) -> Result:
        name = arg_str(args, "name")
        code = channel_name_error(name)
        if code is not None:
            raise SlackError(code)
        if self.state.channel_named(name) is not None:  # archived channels keep their names
            raise SlackError("name_taken")
        channel_id = f"C0SBX{self.state.next_number('channel'):06d}"
        channel = {
            "id": channel_id, "name": name, "is_private": arg_bool(args, "is_private"),
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
            channel, num_members=arg_bool(args, "include_num_members"))}

    def _conversations_list(self, args: Args) -> Result:
        types = {t.strip() for t in (arg_str(args, "types") or "public_channel").split(",")
                 if t.strip()}
        if not types <= {"public_channel", "private_channel", "mpim", "im"}:
            raise SlackError("invalid_types")
        wanted = [
            c for c in self.state.channels.values()
            if ("private_channel" in types and c["is_private"] and BOT_USER_ID in c["members"])
            or ("public_channel" in types and not c["is_private"])
        ]
        if arg_bool(args, "exclude_archived"):
            wanted = [c for c in wanted if not c["is_archived"]]
        page, cursor = page_of(wanted, lambda c: c["id"], "team", args, default=100, most=1000)
        return {"channels": [channel_object(c, num_members=True) for c in page],
                "response_metadata": {"next_cursor": cursor}}

    def _conversations_rename(self, args: Args) -> Result:
        channel = self._channel(args)
        self._not_archived(channel)
        self._in(channel)
        name = arg_str(args, "name")
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
            raise invalid_arguments(f"missing required field: {field}")
        self._not_archived(channel)
        self._in(channel)
        value = arg_str(args, field)
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
        listed = raw if isinstance(raw, list) else arg_str(args, "users").split(",")
        users = list(dict.fromkeys(str(u).strip() for u in listed if str(u).strip()))
        if not users:
            raise SlackError("no_user")
        if len(users) > 100:  # "Up to 100 users may be listed."
            raise invalid_arguments("must provide no more than 100 items [json-pointer:/users]")
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
        force = arg_bool(args, "force")
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
        user_id = arg_str(args, "user")
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
        page, cursor = page_of(channel["members"], str, "user", args, default=100, most=1000)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    # -- conversations: reading --------------------------------------------------------------
    def _window(self, args: Args) -> Callable[[dict[str, Any]], bool]:
        """The oldest/latest/inclusive filter of history and replies."""
        bounds: list[int | None] = []
        for name in ("oldest", "latest"):
            raw = arg_str(args, name).strip()
            try:
                bounds.append(bound_micros(raw) if raw else None)
            except ValueError:
                raise SlackError(f"invalid_ts_{name}") from None
        oldest, latest = bounds
        inclusive = arg_bool(args, "inclusive")

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
        page, cursor = page_of(shown, lambda m: m["ts"], "next_ts", args, default=100, most=999)
        metadata = arg_bool(args, "include_all_metadata")
        return {"messages": [render(m, metadata=metadata) for m in page],
                "has_more": bool(cursor), "pin_count": len(self.state.pins.get(channel["id"], [])),
                "response_metadata": {"next_cursor": cursor}}

    def _conversations_replies(self, args: Args) -> Result:
        channel = self._channel(args)
        self._in(channel)
        found = self.state.message(channel["id"], arg_str(args, "ts"))
        if found is None:
            raise SlackError("thread_not_found")
        root = found.get("thread_ts", found["ts"])
        inside = self._window(args)
        thread = [m for m in self.state.messages[channel["id"]]
                  if (m["ts"] == root or m.get("thread_ts") == root) and inside(m)]
        page, cursor = page_of(thread, lambda m: m["ts"], "next_ts", args, default=1000, most=1000)
        metadata = arg_bool(args, "include_all_metadata")
        return {"messages": [render(m, metadata=metadata) for m in page],
                "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}
