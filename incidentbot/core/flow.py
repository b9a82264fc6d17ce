"""What the incident flow adds around the reconciler's plan: the facts every message may show
(when it started and ended, the commander, the latest update, the postmortem, the call, what
roles mean, on-call, dependencies), who is invited, the call bookmark and the `-resolved`
rename — all pure — and `gather`, the lookups made before planning through the ports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from incidentbot.core import oncall, people
from incidentbot.core.card import CardState
from incidentbot.core.config import Config
from incidentbot.core.markers import NOTE, signed
from incidentbot.core.model import Role, Status
from incidentbot.core.text import truncate_escaped

if TYPE_CHECKING:
    from incidentbot.core.ports import Chat
    from incidentbot.core.snapshot import Snapshot



def latest_update(snapshot: Snapshot) -> str:
    """The text of the newest update the team posted (untrusted; escaped by the caller)."""
    notes = [c for c in snapshot.comments
             if snapshot.writers.trusts(c) and c.body.startswith(NOTE)]
    if not notes:
        return ""
    newest = max(notes, key=lambda c: (c.created_at, c.id))
    said = signed(newest.body, NOTE)
    return said.text if said is not None else ""


def role_notes(config: Config, state: CardState) -> dict[str, str]:
    """What each held role means, by its label, for the roles the config describes."""
    out: dict[str, str] = {}
    for value in state.roles:
        try:
            role = Role(value)
        except ValueError:
            continue
        note = config.role_descriptions.get(role, "")
        if note:
            out[config.roles.get(role, value)] = note
    return out


def facts_extra(snapshot: Snapshot, config: Config, state: CardState) -> dict[str, Any]:
    """Keyword arguments for `messages.Facts` beyond the labels and the card's basics."""
    return {
        "opened_at": snapshot.issue.created_at,
        "closed_at": snapshot.issue.closed_at,
        "commander": state.roles.get(Role.COMMANDER.value),
        "latest_update": latest_update(snapshot),
        "postmortem_url": state.postmortem_url,
        "role_notes": role_notes(config, state),
        "call_url": call_url(config, state.name, snapshot.issue.number),
        "extra_lines": (*oncall.lines(state, state.directory),
                        *dependency_lines(snapshot.fields.services, config)),
    }


def upstream(slugs: Sequence[str], config: Config) -> list[str]:
    """The services the affected ones depend on (not themselves affected)."""
    found: list[str] = []
    for slug in slugs:
        try:
            found += [d for d in config.service(slug).depends_on if d not in slugs]
        except KeyError:
            continue
    return list(dict.fromkeys(found))


def downstream(slugs: Sequence[str], config: Config) -> list[str]:
    """The services that depend on the affected ones (and may suffer with them)."""
    return [s.slug for s in config.services
            if s.slug not in slugs and set(s.depends_on) & set(slugs)]


def dependency_lines(slugs: Sequence[str], config: Config) -> list[str]:
    """Summary lines (escaped) naming what the affected services depend on, and what
    depends on them."""
    lines = []
    up, down = upstream(slugs, config), downstream(slugs, config)
    if up:
        lines.append("Depends on: " + truncate_escaped(", ".join(config.service_names(up)), 500))
    if down:
        lines.append("Used by: " + truncate_escaped(", ".join(config.service_names(down)), 500))
    return lines


def call_url(config: Config, name: str, number: int) -> str | None:
    """The incident's call: the configured bridge, or its pattern filled in."""
    if not config.call:
        return None
    return config.call.format(name=quote(name, safe=""), number=number)


def links(snapshot: Snapshot, config: Config, state: CardState) -> list[tuple[str, str]]:
    """Bookmarks the flow adds to the channel's: the call."""
    url = call_url(config, state.name, snapshot.issue.number)
    return [("Call", url)] if url else []


def invitees(snapshot: Snapshot, config: Config, state: CardState) -> list[str]:
    """Everyone the incident's channel should have, as references (people.py resolves them):
    with the owners of upstream services when the severity says so (SEV1-2 by default)."""
    extra: list[str] = []
    level = snapshot.fields.severity
    if level is not None and config.severity(level).invite_upstream:
        for slug in upstream(snapshot.fields.services, config):
            extra += list(config.service(slug).owners)
    extra += oncall.emails(state)
    return people.references(snapshot, config, state, extra)


def gather(snapshot: Snapshot, config: Config, chat: Chat, pager: object = None) -> CardState:
    """The lookups planning needs, made before it (through the ports) and kept in the card:
    who is on call (PagerDuty REST), then emails to Slack ids. Nothing is looked up for a
    closed incident."""
    state = snapshot.card
    if snapshot.issue.state == "closed":
        return state
    state = oncall.gather(snapshot, config, state, pager)
    return people.lookup(invitees(snapshot, config, state), config, state, chat)


def resolved_name(snapshot: Snapshot, config: Config, state: CardState) -> str | None:
    """With `slack.on_resolve: rename`, the channel's name for the incident's status — the
    suffix once fixed (the channel stays open), the plain name again if it is reopened —
    when that differs from its name now. None when nothing is to be renamed."""
    name = state.channel_name
    if config.slack.on_resolve != "rename" or snapshot.issue.state == "closed" \
            or state.channel_id is None or state.archived or not name:
        return None
    suffix = config.slack.resolved_suffix
    fixed = Status.FIXED.rank <= snapshot.fields.status.rank < Status.CLOSED.rank
    if fixed and not name.endswith(suffix):
        return name[: 80 - len(suffix)] + suffix
    if not fixed and name.endswith(suffix):
        return name[: -len(suffix)]
    return None
