"""The incident card: the bot's one comment on an issue, readable by people, with its state inside.

Everything the bot must remember between runs (the Slack channel, roles, the messages it edits
in place, what it has mirrored, what each side effect last did) lives here — never in a file
on a runner and never only in Slack — so any run, anywhere, can pick up where another stopped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from incidentbot.core import markers
from incidentbot.core.errors import InvalidInput
from incidentbot.core.text import markdown_cell

MARKER = markers.CARD
VERSION = 1
_BLOCK = re.compile(re.escape(MARKER) + r" v(\d+)\n(.*?)\n-->", re.DOTALL)


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
    """The bot's memory of one incident.

    `roles` maps a role to a person reference (a Slack user id, or `@login` for someone known
    only on GitHub). `messages` are the posts the bot owns, by key; `digests` the text each
    edited-in-place message last had, so an unchanged one costs no call. `seen_*` are what
    the channel has already been told. `seq` numbers change messages so each has its own key.
    """

    name: str
    channel_id: str | None = None
    channel_name: str | None = None
    private: bool = False
    archived: bool = False
    purpose_set: bool = False
    reporter: str | None = None
    page_requested: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)
    topic: str = ""
    bookmarks: tuple[str, ...] = ()
    messages: Mapping[str, Posted] = field(default_factory=dict)
    digests: Mapping[str, str] = field(default_factory=dict)
    last_comment: int = 0
    seen_status: str | None = None
    seen_severity: int | None = None
    seen_services: tuple[str, ...] = ()
    seen_roles: Mapping[str, str] = field(default_factory=dict)
    seq: int = 0
    reopens: int = 0
    previous_channel: str | None = None
    invited: tuple[str, ...] = ()
    invite_failed: Mapping[str, str] = field(default_factory=dict)
    paged: str | None = None
    page_resolved: bool = False
    postmortem_url: str | None = None
    # Who made each change the channel was told of: (UTC ISO time, what, by, where), so the
    # timeline can name the person behind a label the bot wrote for them.
    history: tuple[tuple[str, str, str, str], ...] = ()
    # A drill that asked for update reminders (drills get none otherwise).
    drill_reminders: bool = False
    drill_scenario: str | None = None
    effects: Mapping[str, Effect] = field(default_factory=dict)
    # People reached through another reference (an email, an on-call lookup): the
    # reference -> their Slack user id ("" when Slack has nobody for it), looked up once.
    directory: Mapping[str, str] = field(default_factory=dict)
    # Who was on call when the incident paged: escalation policy id -> {name, email, policy}
    # ({} when nobody was), looked up once per policy (oncall.py).
    oncall: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Notifications sent beyond Slack, by key (notify.py): each change told once.
    notified: tuple[str, ...] = ()
    # The turn the next reconcile takes (operations/turns.py): each saved card names the one
    # after the turn that saved it, so runs that read the same card contend for one turn.
    turn: int = 0

    def with_effect(self, name: str, ok: bool, detail: str = "") -> CardState:
        return replace(self, effects={**self.effects, name: Effect(ok, detail)})

    def with_message(self, key: str, posted: Posted) -> CardState:
        return replace(self, messages={**self.messages, key: posted})


_NESTED: Mapping[str, type] = {"messages": Posted, "effects": Effect}


def _to_json(state: CardState) -> str:
    data = asdict(state)
    # `>` and `<` escaped so no text inside can close the HTML comment.
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def _from_json(data: Mapping[str, Any]) -> CardState:
    values: dict[str, Any] = {}
    for f in fields(CardState):
        if f.name not in data:
            continue  # a field added later keeps its default
        value = data[f.name]
        if f.name in _NESTED:
            kind = _NESTED[f.name]
            value = {str(k): kind(**v) for k, v in (value or {}).items()}
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        elif isinstance(value, dict):
            value = {str(k): v for k, v in value.items()}
        values[f.name] = value
    return CardState(**values)


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
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(f"the incident card's machine block is damaged: {exc}") from None


# Keys of posts made once and never edited: the card needs only the recent ones (older ones
# are never planned again: comments by the `last_comment` mark, changes by `seq`, reminders
# by their period), so a long incident's card stays far below GitHub's comment limit.
_TRANSIENT = ("comment:", "change:", "remind:update:")
KEEP_TRANSIENT = 20
KEEP_HISTORY = 200
LIMIT = 65_536  # characters in a GitHub comment


def bounded(state: CardState) -> CardState:
    """The card's memory with old once-only posts forgotten (see _TRANSIENT)."""
    old = [k for k in state.messages if k.startswith(_TRANSIENT)]
    if len(old) <= KEEP_TRANSIENT * len(_TRANSIENT) and len(state.history) <= KEEP_HISTORY:
        return state
    keep: set[str] = set()
    for prefix in _TRANSIENT:
        keys = [k for k in state.messages if k.startswith(prefix)]
        keep |= set(sorted(keys, key=_order)[-KEEP_TRANSIENT:])
    messages = {k: v for k, v in state.messages.items()
                if not k.startswith(_TRANSIENT) or k in keep}
    return replace(state, messages=messages,
                   digests={k: v for k, v in state.digests.items() if k in messages},
                   history=state.history[-KEEP_HISTORY:])


def _order(key: str) -> tuple[int, str]:
    """Oldest first: by the number inside the key (a comment id, a change's seq)."""
    digits = key.split(":")[1]
    return (int(digits) if digits.isdigit() else 0, key)


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
    body = "\n".join(lines)
    if len(body) > LIMIT:
        raise InvalidInput(
            f"the incident card would be {len(body):,} characters, over GitHub's {LIMIT:,} "
            "for a comment; shorten the channel's bookmarks and roles, or report this as a bug")
    return body
