"""What the reconciler sees and what it plans: the snapshot of an incident (issue, comments,
card, who asked), built from the issue alone, and the plan's actions. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from incidentbot.core import card as cards
from incidentbot.core import commented, markers, names
from incidentbot.core.card import CardState
from incidentbot.core.config import Config
from incidentbot.core.errors import InvalidInput
from incidentbot.core.model import LabelFields, read_labels
from incidentbot.core.ports import Comment, Issue, LabelEvent
from incidentbot.core.trust import Writers

CHANNEL = "@channel"  # stands for the incident channel in a planned action


# -- what was read -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Attribution:
    """Who made the change a sync is about to announce, and where (Slack, CLI, GitHub)."""

    by: str
    source: str


@dataclass(slots=True)
class Snapshot:
    issue: Issue
    fields: LabelFields
    comments: list[Comment]
    card: CardState
    card_comment: Comment | None
    writers: Writers
    events: list[LabelEvent] | None = None
    rebuilt: str = ""  # why the card was rebuilt from the issue ("" when it was read)
    # Who made each change commands in comments made this run ("status", "severity",
    # "services", "role:<role>"; comment_commands.run_commands), for credit.who.
    made: dict[str, Attribution] = field(default_factory=dict)

    @property
    def bot_logins(self) -> set[str]:
        """The logins incidentbot wrote as here (its writers, and Apps seen on the issue)."""
        seen = {c.author for c in self.comments if c.author and self.writers.is_bot(c)}
        return {*self.writers.logins, *seen}




# -- what to do ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Action:
    """One side effect. `effect` names its line in the card's ledger."""

    kind: str
    effect: str
    channel: str = CHANNEL
    key: str = ""
    text: str = ""
    users: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str:
        return dict(self.extra).get(name, "")


@dataclass(slots=True)
class Plan:
    actions: list[Action] = field(default_factory=list)
    card: CardState | None = None  # the card's new memory once every action succeeded
    # Ledger lines settled with no action, each with what the card says of it: work that no
    # longer applies (comments on a closed incident whose channel was archived stay on
    # GitHub), or, on a repair, a failure nothing is left to retry.
    settled: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, effect: str, **kwargs: object) -> None:
        self.actions.append(Action(kind, effect, **kwargs))  # type: ignore[arg-type]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def marker(repository: str, number: int) -> str:
    """Written into the channel purpose: tells whose channel it is."""
    return f"incidentbot:{repository}#{number}"




# -- from the issue alone (pure) -------------------------------------------------------------
def snapshot_of(issue: Issue, comments: list[Comment], writers: Writers, config: Config,
                repository: str) -> Snapshot:
    """What a run knows of an incident, from the issue and its comments alone (pure).

    The card is the oldest card comment written by someone trusted; a card from anyone else
    is text. When the card cannot be read, or was deleted after the bot had worked on the
    issue, it is rebuilt from the issue: nothing people decided lives only in the card."""
    fields = read_labels(issue.labels, config.severities, issue_closed=issue.state == "closed")
    found = [c for c in comments if cards.is_card(c.body) and writers.trusts(c)]
    card_comment = min(found, key=lambda c: c.id) if found else None
    state: CardState | None = None
    why = ""
    if card_comment is not None:
        try:
            state = cards.parse(card_comment.body)
        except InvalidInput as exc:
            why = f"the incident card could not be read ({exc})"
    elif any(writers.is_bot(c) and markers.has_marker(c.body) for c in comments):
        why = "the incident card was deleted"
    if state is None:
        state = rebuild(issue, comments, writers, fields, config,
                        _name(issue, repository), settled=bool(why))
    return Snapshot(issue, fields, comments, state, card_comment, writers, rebuilt=why)


def rebuild(issue: Issue, comments: Sequence[Comment], writers: Writers, fields: LabelFields,
            config: Config, name: str, *, settled: bool) -> CardState:
    """A card from the issue alone: the reporter and paging asked for at open (the body's
    marker, from a trusted author), the roles from every `/role` command that ran
    (core/commented.py: whose it is, refused or not). `settled`:
    the bot worked on this issue before, so its comments were handled and the channel knows
    the current status: nothing old is run or announced again."""
    reply = markers.REPLY.split(" {")[0]
    asked = markers.parse_opened(issue.body) if writers.trusts(issue) else markers.Opened()
    state = CardState(name=name, reporter=asked.reporter, page_requested=asked.page)
    if not settled:
        return state
    roles: dict[str, str] = dict(asked.roles)
    # The bot answered each comment whose commands it refused: the record of the rules that
    # depended on the incident's state then (commented.run checks the rest again).
    answered = {c.body.split("-->")[0].removeprefix(reply).strip() for c in comments
                if writers.trusts(c) and c.body.startswith(reply)}
    for c in sorted(comments, key=lambda c: c.id):
        if str(c.id) in answered:
            continue
        for role, who in (commented.roles_set(c, writers, config, None) or {}).items():
            if who is None:
                roles.pop(role, None)
            else:
                roles[role] = who
    handled = [c.id for c in comments if not cards.is_card(c.body)]
    return replace(state, roles=roles, seen_roles=dict(roles),
                   last_comment=max(handled, default=0), seen_status=fields.status.value,
                   seen_severity=fields.severity, seen_services=fields.services)


def _name(issue: Issue, repository: str) -> str:
    return names.incident_name(issue.number, issue.created_at.date(), repository)
