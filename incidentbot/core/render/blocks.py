"""Block Kit for the incident announcement: fields and buttons beside the plain text (pure).

The text stays the message's fallback (notifications, search, old clients); the blocks show
the same facts as fields — severity, status, commander, started, latest update — and the
buttons the dispatcher answers (Join, Take command, Post update). A closed incident has no
buttons: its channel is archived, so the message says how long it took and links the
postmortem instead. Every untrusted value is escaped here, as in `messages`.

Limits (https://docs.slack.dev/reference/block-kit/blocks/section-block): a section's text
at most 3,000 characters, at most 10 fields of at most 2,000 each; a button's text at most
75, its value at most 2,000.
"""

from __future__ import annotations

import json
from typing import Any

from incidentbot.core.model import Status
from incidentbot.core.render.messages import Facts, duration, person
from incidentbot.core.text import one_line, truncate_escaped

JOIN = "join_incident"
TAKE_COMMAND = "take_command"
POST_UPDATE = "open_update"  # the reminders' button too
FIELD_MAX = 2000


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": f"*{label}*\n{value}"[:FIELD_MAX]}


def _date(when: Any) -> str:
    """Slack's date formatting: each reader sees their own time zone."""
    if when is None:
        return "—"
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _button(action_id: str, text: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "value": value,
                              "text": {"type": "plain_text", "text": text, "emoji": True}}
    if style:
        button["style"] = style
    return button


def announcement(facts: Facts, text: str) -> list[dict[str, Any]]:
    """The announcement's blocks; `text` is its headline (messages.announcement, escaped)."""
    closed = facts.status is Status.CLOSED
    headline = text.split("\n", 1)[0]
    commander = person(facts.commander) if facts.commander else "_nobody yet_"
    latest = truncate_escaped(one_line(facts.latest_update), 300) or "_none yet_"
    fields = [
        _field("Severity", truncate_escaped(one_line(facts.severity), 100)),
        _field("Status", facts.status.value),
        _field("Commander", commander),
        _field("Started", _date(facts.opened_at)),
        _field("Latest update", latest),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline[:3000]}},
        {"type": "section", "fields": fields},
    ]
    if closed:
        took = duration(facts.closed_at - facts.opened_at) \
            if facts.closed_at and facts.opened_at else "—"
        rest = text.split("\n", 1)[1] if "\n" in text else ""
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": (f"Resolved after {took}. {rest}")[:3000]}]})
        return blocks
    number = str(facts.number)
    # A private (security) incident's channel is joined by invitation only: no Join button.
    join = [] if facts.private else [_button(JOIN, "Join", number, "primary")]
    blocks.append({"type": "actions", "block_id": f"incident-{number}", "elements": [
        *join,
        _button(TAKE_COMMAND, "Take command", number),
        _button(POST_UPDATE, "Post update", number),
    ]})
    return blocks


def encode(blocks: list[dict[str, Any]]) -> str:
    """Blocks as they ride in a planned action (compact, stable for digests)."""
    return json.dumps(blocks, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
