"""The rules every Slack method group shares: finding a channel, membership, archived
channels, message content and the workspace's activity log."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from incidentbot.sandbox.slack_args import TEXT_LIMIT, TRUNCATED, Args, Result, arg_json, arg_str
from incidentbot.sandbox.slack_blocks import block_errors
from incidentbot.sandbox.slack_state import (
    BOT_USER_ID,
    SlackError,
    SlackState,
    is_ts,
)


class SlackRules:
    token: str
    state: SlackState
    clock: Callable[[], float]

    def _log(self, action: str, channel: str, **details: Any) -> None:
        self.state.record(self.clock(), BOT_USER_ID, action, channel, **details)

    def _system(self, channel: dict[str, Any], actor: str, subtype: str, text: str,
                **extra: Any) -> None:
        self.state.system(self.clock(), channel, actor, subtype, text, **extra)

    # -- shared rules ---------------------------------------------------------------------------
    def _channel(self, args: Args, key: str = "channel", *, by_name: bool = False
                 ) -> dict[str, Any]:
        ref = arg_str(args, key).strip()
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
        ts = arg_str(args, "timestamp")
        if not ts or not arg_str(args, "channel"):
            raise SlackError("no_item_specified")
        if not is_ts(ts):
            raise SlackError("bad_timestamp")
        return ts

    def _content(self, args: Args, *, update: bool = False) -> tuple[dict[str, Any], Result]:
        """The message fields the call sets, and any warnings for the answer."""
        content: dict[str, Any] = {}
        warnings: Result = {}
        if "text" in args and args["text"] is not None:
            content["text"] = arg_str(args, "text")
        markdown = arg_str(args, "markdown_text")
        blocks = arg_json(args, "blocks", "invalid_blocks_format")
        attachments = arg_json(args, "attachments", "invalid_attachments")
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
        metadata = arg_json(args, "metadata", "invalid_metadata_format")
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
            warnings = copy.deepcopy(TRUNCATED)
        return content, warnings
