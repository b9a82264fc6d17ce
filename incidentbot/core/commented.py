"""What the commands of one issue comment do, and whose they are (pure).

The one rule for the reconciler, which runs new comments (operations/comment_commands.py),
and for a card rebuilt from the issue (snapshot.rebuild), which takes the roles from them:
- a command comment the bot wrote for someone (a `command` marker, believed by
  `trust.vouched`) is theirs, from where they typed it, and the team's rules were checked
  there;
- any other comment is its author's own typed text, from GitHub, a forged marker or not:
  its commands run under the team's rules (`commands.check_policy`) as that author's (a
  marker in the text of someone without push access makes it no command at all, as before);
- a comment's commands run together or not at all: one refused line refuses them all, and
  it sets no role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from incidentbot.core import commands, markers
from incidentbot.core.configtypes import Config
from incidentbot.core.errors import IncidentbotError, InvalidInput
from incidentbot.core.model import LabelFields, Status
from incidentbot.core.ports import Comment
from incidentbot.core.trust import Writers, names_of, vouched


@dataclass(frozen=True, slots=True)
class Commands:
    """A comment's command lines, who they are credited to and from where."""

    by: str
    source: str
    lines: tuple[str, ...]
    relayed: bool  # written by the bot for `by`: the rules were checked where it was typed
    allowed: bool  # the comment's author may steer the incident (trust.Writers.trusts)


@dataclass(frozen=True, slots=True)
class Ran:
    """What a comment's commands did, together: the fields after them, each role they set
    (None: taken off) and whether they closed the incident as not planned."""

    fields: LabelFields
    roles: Mapping[str, str | None] = field(default_factory=dict)
    not_planned: bool = False


class Refused(InvalidInput):
    """A comment's commands were refused: `line` is the one that failed, `reason` why."""

    def __init__(self, line: str, reason: IncidentbotError) -> None:
        super().__init__(str(reason))
        self.line = line
        self.reason = reason


def commands_of(comment: Comment, writers: Writers, config: Config) -> Commands | None:
    """The commands `comment` carries, or None: no command line, or our own bookkeeping (a
    card, a reply, a note)."""
    said = vouched(comment, markers.COMMAND, writers, config)
    if said is not None:
        text, by, source, relayed = said.text, said.author, said.source, True
    else:
        if writers.is_bot(comment):
            return None
        forged = markers.signed(comment.body, markers.COMMAND)
        if forged is not None and writers.trusts(comment):
            text = forged.text  # a marker naming someone else: the author's own text
        elif markers.has_marker(comment.body):
            return None
        else:
            text = comment.body
        by, source, relayed = comment.author or "", "GitHub", False
    lines = commands.command_lines(text)
    if not lines:
        return None
    return Commands(by, source, tuple(lines), relayed, writers.trusts(comment))


def run(found: Commands, fields: LabelFields | None, config: Config) -> Ran:
    """Run a comment's commands together on `fields`, under the team's rules; raises Refused.
    `fields` None: the state they ran on is not known (a rebuild), so only what the comment
    says alone is checked — its author, each line, the rules that do not depend on the state
    (the rebuild takes the bot's reply to a comment as the record of the rest)."""
    line = found.lines[0]
    try:
        if not found.allowed:
            raise InvalidInput(f"@{found.by} cannot run incident commands here: only "
                               "people with write access to the repository can")
        actor = None if found.relayed else names_of(found.by, config)
        roles: dict[str, str | None] = {}
        not_planned = False
        after = fields
        for line in found.lines:
            change = commands.parse(line, config)
            if after is not None:
                if actor is not None:
                    commands.check_policy(after, change, config, actor=actor)
                after = commands.apply(after, change, config)
            elif actor is not None and (change.severity is not None
                                        or change.status is Status.CLOSED):
                commands.check_policy(_UNKNOWN, change, config, actor=actor)
            roles.update(change.roles)
            if change.status is not None:
                not_planned = change.false_alarm
    except Refused:
        raise
    except IncidentbotError as exc:
        raise Refused(line, exc) from exc
    return Ran(after if after is not None else _UNKNOWN, roles, not_planned)


# Stands for the fields a past command ran on, when they are not known: open, no severity
# (so only `slack.close_allowed` can refuse a close or a severity change).
_UNKNOWN = LabelFields(is_incident=True)


def roles_set(comment: Comment, writers: Writers, config: Config,
              fields: LabelFields | None) -> Mapping[str, str | None] | None:
    """The roles `comment`'s commands set (None: a role taken off), or None when it has no
    commands or they were refused (see `run`)."""
    found = commands_of(comment, writers, config)
    if found is None:
        return None
    try:
        return run(found, fields, config).roles
    except Refused:
        return None
