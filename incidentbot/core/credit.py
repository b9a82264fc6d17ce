"""Who made each change the incident channel is told of, and where (pure).

From Slack or the CLI, the caller says who (`Attribution`). A command in a comment is
credited with the changes it made, and only those (`Snapshot.made`). Any other change on
GitHub is credited to the actor of the issue event that made it, never merely to whoever
touched a label or commented last (tests/test_plan.py, tests/test_github_changes.py,
tests/test_trust.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from incidentbot.core.config import Config
from incidentbot.core.model import SERVICE_PREFIX, STATUS_PREFIX, Role, Status
from incidentbot.core.ports import LabelEvent
from incidentbot.core.render import messages
from incidentbot.core.snapshot import Attribution, Snapshot


def who(snapshot: Snapshot, config: Config, changes: Sequence[messages.Change],
         attribution: Attribution | None) -> list[tuple[str, str]]:
    """Who made each change, and where: `attribution` (the caller's) for all of them when
    given; else the command that made a change (`snapshot.made`); else, from GitHub, the
    actor of the event that made that change — a close or reopen for the status to or from
    closed, the status or severity label added (else the old one taken off), the service
    labels added or taken off — never merely whoever touched a label last. A change our own
    identities made is incidentbot's; a role nobody's command set is credited to no one."""
    if attribution is not None:
        return [(attribution.by, attribution.source)] * len(changes)
    by_label = {_label(what, config): who for what, who in snapshot.made.items()}
    state, fields = snapshot.card, snapshot.fields
    events = sorted(snapshot.events or (), key=lambda e: e.id)

    def newest(*wanted: tuple[str, str]) -> LabelEvent | None:
        keys = {(action, label.lower()) for action, label in wanted}
        found = [e for e in events if (e.action, e.label.strip().lower()) in keys]
        return found[-1] if found else None

    def severity(level: int | None) -> str:
        return config.severity(level).label if level else ""

    out = []
    for c in changes:
        if c.what in by_label:
            out.append((by_label[c.what].by, by_label[c.what].source))
            continue
        event = None
        if c.what == "status":
            before = state.seen_status or ""
            if fields.status is Status.CLOSED:
                event = newest(("closed", ""))
            elif before == Status.CLOSED.value:
                event = newest(("reopened", ""))
            else:
                event = newest(("labeled", STATUS_PREFIX + fields.status.value)) \
                    or newest(("unlabeled", STATUS_PREFIX + before))
        elif c.what == "severity":
            event = newest(("labeled", severity(fields.severity))) \
                or newest(("unlabeled", severity(state.seen_severity)))
        elif c.what == "services":
            added = set(fields.services) - set(state.seen_services)
            gone = set(state.seen_services) - set(fields.services)
            event = newest(*(("labeled", SERVICE_PREFIX + s) for s in added),
                           *(("unlabeled", SERVICE_PREFIX + s) for s in gone))
        out.append((_actor(snapshot, event), "GitHub"))
    return out


def _label(what: str, config: Config) -> str:
    """A `made` key as a change names it: a role by the team's word for it."""
    if not what.startswith("role:"):
        return what
    role = what.removeprefix("role:")
    try:
        return config.roles.get(Role(role), role)
    except ValueError:
        return role


def _actor(snapshot: Snapshot, event: LabelEvent | None) -> str:
    if event is None or event.actor is None:
        return ""
    if snapshot.writers.made(event.actor):
        return "incidentbot"
    return event.actor
