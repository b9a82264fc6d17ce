"""What a postmortem knows of an incident (`Facts`), the outages the health checks saw, who
opened it (`opener`) and who a person reference names — filled by operations/evidence.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from incidentbot.core import health, intake, markers
from incidentbot.core import timeline as tl
from incidentbot.core.config import Config
from incidentbot.core.model import LabelFields
from incidentbot.core.ports import Issue
from incidentbot.core.trust import Writers

SLACK_ID = re.compile(r"[UW][A-Z0-9]{6,}")
# The line `incidentbot open` wrote before its marker said who opened the issue, and how.
_REPORTED = re.compile(r"^_Reported by (.+) via (.+?)\._\s*$", re.MULTILINE)
_ESCAPED = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class Outage:
    """One affected service as the health checks saw it around the incident."""

    slug: str
    name: str
    down: timedelta
    degraded: timedelta
    samples: tuple[health.Sample, ...]


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a postmortem says that the bot knows."""

    number: int
    name: str
    title: str
    issue_url: str
    fields: LabelFields
    opened: datetime
    closed: datetime | None
    roles: Mapping[str, str]  # role -> display name
    channel_name: str | None
    channel_url: str | None
    timeline: tl.Timeline
    description: str = ""
    close_reason: str = ""
    outages: tuple[Outage, ...] = ()
    role_logins: Mapping[str, str] = field(default_factory=dict)  # role -> GitHub login
    related: tuple[Issue, ...] = ()  # incidents on the same services in the 90 days before
    owner: str = ""  # the postmortem owner's name (set by publishing: the pull's assignee)
    reviewers: tuple[str, ...] = ()  # names
    recent_changes: tuple[Any, ...] = ()  # changes.Change, when services[].repos is set
    changes_known: bool = False
    graph: str = ""  # the graph's file name, beside the postmortem
    meeting: str = ""  # the review meeting's .ics file name, beside the postmortem


def login_of(config: Config, ref: str) -> str | None:
    """The GitHub login of a person reference, when `people:` knows it (or it is one)."""
    ref = ref.lstrip("@")
    person = config.person_by_slack(ref) or config.person_by_github(ref) \
        or config.people.get(ref)
    if person is not None:
        return person.github
    return None if SLACK_ID.fullmatch(ref) else ref


def known_person(config: Config) -> Callable[[str], bool]:
    # A change made with the CLI is recorded by the person's name when `people:` has it.
    names = {p.name for p in config.people.values() if p.name}

    def known(ref: str) -> bool:
        ref = ref.lstrip("@")
        return bool(SLACK_ID.fullmatch(ref) or config.person_by_github(ref)
                    or config.person_by_slack(ref) or ref in config.people or ref in names)
    return known


@dataclass(frozen=True, slots=True)
class Opener:
    """Who opened an incident, and through what: `via` is CLI, Slack, GitHub, GitHub form
    or monitor; `who` a person reference (a Slack id, or a GitHub login: from GitHub, and from
    the CLI, which credits the token's owner; an issue opened by an older CLI may name the
    computer's user), None for the health checks or when the issue does not say."""

    who: str | None
    via: str


def opener(issue: Issue, fields: LabelFields, writers: Writers,
           reporter: str | None = None) -> Opener:
    """Who opened the incident, from what the issue records: the opened marker's `by` and
    `via` (from a trusted author); for issues opened before the marker said it, the Slack
    reporter (the marker's or the card's `reporter`) or the `Reported by … via …` line; an
    issue a person opened on GitHub is theirs, through the issue form when it has its
    answers."""
    if fields.auto:
        return Opener(None, "monitor")
    trusted = writers.trusts(issue)
    asked = markers.parse_opened(issue.body) if trusted else markers.Opened()
    if asked.via:
        via = asked.via.replace("_", " ")
        if via == "CLI" and asked.by is None and not writers.is_bot(issue):
            return Opener(issue.author, via)  # the token's owner wrote the issue
        return Opener(None if via == "monitor" else asked.by, via)
    if asked.reporter or reporter:
        return Opener(asked.reporter or reporter, "Slack")
    if trusted and markers.opened_by_us(issue.body):
        # The last such line before our marker is ours: a description, which comes first,
        # could hold a look-alike.
        before = issue.body.rsplit(markers.OPENED.split(" {")[0], 1)[0]
        said = next(reversed(list(_REPORTED.finditer(before))), None)
        if said is None:
            return Opener(None, "GitHub")
        return Opener(_ESCAPED.sub(r"\1", said.group(1)), _ESCAPED.sub(r"\1", said.group(2)))
    if writers.is_bot(issue):
        return Opener(None, "GitHub")
    return Opener(issue.author, "GitHub form" if intake.answers(issue.body) else "GitHub")
