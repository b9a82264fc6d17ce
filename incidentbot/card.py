"""The incident card: the bot's one comment on an issue, readable by people, with its state inside.

Everything the bot must remember between runs (the Slack channel, roles, the messages it edits
in place, what it has mirrored, what each side effect last did) lives here — never in a file
on a runner and never only in Slack — so any run, anywhere, can pick up where another stopped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from incidentbot.errors import InvalidInput
from incidentbot.text import markdown_cell

MARKER = "<!-- incidentbot:card"
VERSION = 1
_BLOCK = re.compile(r"<!-- incidentbot:card v(\d+)\n(.*?)\n-->", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Posted:
    """A Slack message the bot owns and edits in place."""

    channel: str
    ts: str


@dataclass(frozen=True, slots=True)
class Effect:
    """What one side effect last did: done, or the error and what to do about it."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CardState:
    """The bot's memory of one incident."""

    name: str
    channel_id: str | None = None
    channel_name: str | None = None
    archived: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)
    messages: Mapping[str, Posted] = field(default_factory=dict)
    last_comment: int = 0
    seen_status: str | None = None
    seen_severity: int | None = None
    seen_services: tuple[str, ...] = ()
    invited: tuple[str, ...] = ()
    paged: str | None = None
    page_resolved: bool = False
    effects: Mapping[str, Effect] = field(default_factory=dict)

    def with_effect(self, name: str, ok: bool, detail: str = "") -> CardState:
        return replace(self, effects={**self.effects, name: Effect(ok, detail)})

    def with_message(self, key: str, posted: Posted) -> CardState:
        return replace(self, messages={**self.messages, key: posted})


def _to_json(state: CardState) -> str:
    data = asdict(state)
    data["seen_services"] = list(state.seen_services)
    data["invited"] = list(state.invited)
    # `>` and `<` escaped so no text inside can close the HTML comment.
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def _from_json(data: Mapping[str, Any]) -> CardState:
    return CardState(
        name=str(data["name"]),
        channel_id=data.get("channel_id"),
        channel_name=data.get("channel_name"),
        archived=bool(data.get("archived", False)),
        roles={str(k): str(v) for k, v in (data.get("roles") or {}).items()},
        messages={str(k): Posted(**v) for k, v in (data.get("messages") or {}).items()},
        last_comment=int(data.get("last_comment", 0)),
        seen_status=data.get("seen_status"),
        seen_severity=data.get("seen_severity"),
        seen_services=tuple(data.get("seen_services") or ()),
        invited=tuple(data.get("invited") or ()),
        paged=data.get("paged"),
        page_resolved=bool(data.get("page_resolved", False)),
        effects={str(k): Effect(**v) for k, v in (data.get("effects") or {}).items()},
    )


def is_card(body: str) -> bool:
    return MARKER in body


def parse(body: str) -> CardState:
    """The state inside a card comment; InvalidInput if the block is missing or damaged."""
    match = _BLOCK.search(body)
    if match is None:
        raise InvalidInput("not an incident card: its machine block is missing")
    if int(match.group(1)) > VERSION:
        raise InvalidInput(f"incident card v{match.group(1)} is newer than this incidentbot "
                           f"(v{VERSION}); upgrade incidentbot")
    try:
        return _from_json(json.loads(match.group(2)))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"the incident card's machine block is damaged: {exc}") from None


def render(state: CardState, rows: Sequence[tuple[str, str]] = ()) -> str:
    """The card's Markdown: a summary for people (`rows` of label and already-safe Markdown
    value), the ledger of side effects, and the machine block."""
    lines = [f"### Incident card · `{state.name}`", "",
             "_Kept by incidentbot; edits to this comment are overwritten._", ""]
    if rows:
        lines += ["| | |", "| --- | --- |"]
        lines += [f"| {markdown_cell(label)} | {value} |" for label, value in rows]
        lines.append("")
    if state.effects:
        lines.append("**Side effects**")
        lines.append("")
        for name in sorted(state.effects):
            effect = state.effects[name]
            mark = "✅" if effect.ok else "❌"
            detail = f": {markdown_cell(effect.detail)}" if effect.detail else ""
            lines.append(f"- {mark} {markdown_cell(name)}{detail}")
        lines.append("")
    lines.append(f"{MARKER} v{VERSION}\n{_to_json(state)}\n-->")
    return "\n".join(lines)
