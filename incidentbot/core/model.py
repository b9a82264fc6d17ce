"""Incidents and their vocabulary: statuses, severities, roles, services, and labels <-> fields."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from incidentbot.core.errors import TransitionNotAllowed


class Status(StrEnum):
    """Where an incident is in its workflow; `closed` means the GitHub issue is closed."""

    OPEN = "open"
    INVESTIGATING = "investigating"
    FIXING = "fixing"
    FIXED = "fixed"
    POSTMORTEM = "postmortem"
    CLOSED = "closed"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    @property
    def active(self) -> bool:
        """Still being worked on: the service may be affected."""
        return self in {Status.OPEN, Status.INVESTIGATING, Status.FIXING}


_ORDER = tuple(Status)
# The public's words for these statuses live in publicstatus.py (configurable).

# Every move an incident may make. Forward skips are allowed (a quick fix goes open -> fixed);
# the moves back are the ones real incidents make: a fix that did not hold, a wrong theory,
# a closed incident that comes back or still owes its postmortem.
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.INVESTIGATING, Status.FIXING, Status.FIXED, Status.CLOSED}),
    Status.INVESTIGATING: frozenset({Status.FIXING, Status.FIXED, Status.CLOSED}),
    Status.FIXING: frozenset({Status.INVESTIGATING, Status.FIXED, Status.CLOSED}),
    Status.FIXED: frozenset(
        {Status.INVESTIGATING, Status.FIXING, Status.POSTMORTEM, Status.CLOSED}
    ),
    Status.POSTMORTEM: frozenset({Status.FIXED, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.INVESTIGATING, Status.FIXING, Status.POSTMORTEM}),
}

REOPEN_STATUS = Status.INVESTIGATING


def allowed_moves(current: Status) -> list[Status]:
    """The statuses `current` may move to, in workflow order."""
    return sorted(TRANSITIONS[current], key=lambda s: s.rank)


def check_move(current: Status, target: Status) -> None:
    """Raise TransitionNotAllowed unless the workflow allows `current -> target` (or no move)."""
    if target != current and target not in TRANSITIONS[current]:
        raise TransitionNotAllowed(current, target, [s.value for s in allowed_moves(current)])


class Role(StrEnum):
    """The people who run an incident."""

    COMMANDER = "commander"
    COMMS = "comms"
    TECH = "tech"
    SUPPORT = "support"


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """How the monitor probes a service; `kind` is http, tcp or tls."""

    kind: str
    url: str | None = None
    host: str | None = None
    port: int | None = None
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    expected_status: tuple[int, ...] = ()
    max_response_ms: int | None = None
    contains: str | None = None
    not_contains: str | None = None
    follow_redirects: bool = True
    timeout_s: float = 10.0
    cert_expiry_days: int = 14


@dataclass(frozen=True, slots=True)
class Severity:
    """One level of the team's scale (SEV1..SEV5 or P1..P3), with what it asks for."""

    level: int
    label: str
    name: str
    meaning: str = ""
    postmortem: bool = False
    page: bool = False
    update_every_minutes: int | None = None
    invite: tuple[str, ...] = ()
    announce: tuple[str, ...] = ()
    private: bool = False
    invite_upstream: bool = False  # owners of the services the affected ones depend on
    escalation_policy: str | None = None  # PagerDuty: who is on call at this level


@dataclass(frozen=True, slots=True)
class Service:
    slug: str
    name: str
    public: bool = True
    owners: tuple[str, ...] = ()
    docs: tuple[Link, ...] = ()
    checks: tuple[HealthCheck, ...] = ()
    depends_on: tuple[str, ...] = ()
    private: bool = False
    group: str | None = None
    repos: tuple[str, ...] = ()  # owner/name of its code: "what changed?" looks there
    max_severity: int | None = None  # the most severe level allowed (a number: 2 = no SEV1)
    max_severity_reason: str = ""
    escalation_policy: str | None = None  # PagerDuty: who is on call for this service


# -- labels ----------------------------------------------------------------------------------
INCIDENT_LABEL = "incident"
STATUS_PREFIX = "status:"
SERVICE_PREFIX = "service:"
FLAG_LABELS = ("public", "private", "drill", "auto")


@dataclass(frozen=True, slots=True)
class LabelFields:
    """What an issue's labels say about the incident, and what was odd about them."""

    is_incident: bool = False
    status: Status = Status.OPEN
    severity: int | None = None
    services: tuple[str, ...] = ()
    public: bool = False
    private: bool = False
    drill: bool = False
    auto: bool = False
    problems: tuple[str, ...] = ()

    @property
    def on_status_page(self) -> bool:
        """Public, and neither private nor a drill."""
        return self.public and not self.private and not self.drill


def _severity_pattern(severities: Sequence[Severity]) -> re.Pattern[str] | None:
    """A pattern for labels that look like a level of this scale (`sev:9` for `sev:1`..)."""
    return _pattern_of(tuple(severities))


@functools.lru_cache(maxsize=8)  # one scale per config: a page build reads 10,000 issues
def _pattern_of(severities: tuple[Severity, ...]) -> re.Pattern[str] | None:
    shapes = {re.escape(re.sub(r"\d+$", "", s.label.lower())) for s in severities if
              re.search(r"\d+$", s.label)}
    if not shapes:
        return None
    return re.compile("(?:" + "|".join(sorted(shapes)) + r")\d+")


def read_labels(
    labels: Iterable[str],
    severities: Sequence[Severity],
    *,
    issue_closed: bool = False,
    newest_last: Sequence[str] = (),
) -> LabelFields:
    """Read an issue's labels into fields; every conflict gets a defined answer and a problem.

    - Labels are matched case-insensitively (`Status:Fixing` is `status:fixing`).
    - Two status labels: the one added last wins when `newest_last` (label names in the
      order they were added) says; otherwise the one earlier in the workflow, so that an
      incident is never reported fixed by mistake.
    - Two severities: the one added last when known; otherwise the most severe (lowest level).
    - A severity-looking label that is not on the scale (`sev:9`) is ignored.
    - The issue's state is the truth for `closed`: a closed issue is closed whatever its
      labels; `status:closed` on an open issue means it was reopened.
    - `public` and `private` together: private wins.
    """
    by_severity_label = {s.label.lower(): s.level for s in severities}
    unknown_severity = _severity_pattern(severities)
    recency = {name.lower(): i for i, name in enumerate(newest_last)}
    problems: list[str] = []
    statuses: list[tuple[str, Status]] = []
    levels: list[tuple[str, int]] = []
    services: list[str] = []
    flags: dict[str, bool] = dict.fromkeys(FLAG_LABELS, False)
    is_incident = False

    for raw in labels:
        name = raw.strip().lower()
        if name == INCIDENT_LABEL:
            is_incident = True
        elif name.startswith(STATUS_PREFIX):
            value = name[len(STATUS_PREFIX):].strip()
            try:
                statuses.append((name, Status(value)))
            except ValueError:
                problems.append(f"label {raw!r} is not a status ({_status_names()}); ignored")
        elif name in by_severity_label:
            levels.append((name, by_severity_label[name]))
        elif unknown_severity is not None and unknown_severity.fullmatch(name):
            problems.append(f"label {raw!r} is not a configured severity; ignored")
        elif name.startswith(SERVICE_PREFIX):
            slug = name[len(SERVICE_PREFIX):].strip()
            if slug and slug not in services:
                services.append(slug)
        elif name in flags:
            flags[name] = True
        else:
            continue
        canonical = _canonical(name, severities)
        if raw != canonical and canonical is not None:
            problems.append(f"label {raw!r} will be written as {canonical!r}")

    status = _pick_status(statuses, recency, problems)
    if issue_closed:
        status = Status.CLOSED
    elif status is Status.CLOSED:
        problems.append(f"label 'status:closed' on an open issue: treated as reopened "
                        f"({REOPEN_STATUS})")
        status = REOPEN_STATUS
    severity = _pick_severity(levels, recency, problems)
    if flags["public"] and flags["private"]:
        problems.append("labels 'public' and 'private' together: treated as private")
    return LabelFields(
        is_incident=is_incident,
        status=status,
        severity=severity,
        services=tuple(sorted(services)),
        public=flags["public"] and not flags["private"],
        private=flags["private"],
        drill=flags["drill"],
        auto=flags["auto"],
        problems=tuple(problems),
    )


def _status_names() -> str:
    return ", ".join(s.value for s in Status)


def _canonical(name: str, severities: Sequence[Severity]) -> str | None:
    for s in severities:
        if s.label.lower() == name:
            return s.label
    if name.startswith(STATUS_PREFIX):
        return STATUS_PREFIX + name[len(STATUS_PREFIX):].strip()
    if name.startswith(SERVICE_PREFIX):
        return SERVICE_PREFIX + name[len(SERVICE_PREFIX):].strip()
    return name


def _pick_status(found: list[tuple[str, Status]], recency: Mapping[str, int],
                 problems: list[str]) -> Status:
    distinct = {s for _, s in found}
    if not distinct:
        return Status.OPEN
    if len(distinct) == 1:
        return distinct.pop()
    if all(name in recency for name, _ in found):
        winner = max(found, key=lambda f: recency[f[0]])[1]
        rule = "the one added last"
    else:
        winner = min(distinct, key=lambda s: s.rank)
        rule = "the earliest in the workflow"
    names = ", ".join(sorted(STATUS_PREFIX + s for s in distinct))
    problems.append(f"several status labels ({names}): {rule} wins, {STATUS_PREFIX}{winner}")
    return winner


def _pick_severity(found: list[tuple[str, int]], recency: Mapping[str, int],
                   problems: list[str]) -> int | None:
    distinct = {level for _, level in found}
    if not distinct:
        return None
    if len(distinct) == 1:
        return distinct.pop()
    if all(name in recency for name, _ in found):
        winner = max(found, key=lambda f: recency[f[0]])[1]
        rule = "the one added last"
    else:
        winner = min(distinct)
        rule = "the most severe"
    names = ", ".join(sorted(name for name, _ in found))
    problems.append(f"several severity labels ({names}): {rule} wins")
    return winner


def labels_for(fields: LabelFields, severities: Sequence[Severity]) -> frozenset[str]:
    """The canonical labels that say exactly `fields` (the inverse of read_labels)."""
    labels = {INCIDENT_LABEL} if fields.is_incident else set()
    labels.add(STATUS_PREFIX + fields.status.value)
    if fields.severity is not None:
        labels.add(_severity_by_level(severities, fields.severity).label)
    labels.update(SERVICE_PREFIX + slug for slug in fields.services)
    for flag in FLAG_LABELS:
        if getattr(fields, flag):
            labels.add(flag)
    return frozenset(labels)


def _severity_by_level(severities: Sequence[Severity], level: int) -> Severity:
    for s in severities:
        if s.level == level:
            return s
    raise KeyError(f"no severity with level {level}")


def is_ours(label: str, severities: Sequence[Severity]) -> bool:
    """Whether incidentbot owns this label (it may add or remove it); others are left alone."""
    name = label.strip().lower()
    pattern = _severity_pattern(severities)
    return (
        name == INCIDENT_LABEL
        or name in FLAG_LABELS
        or name.startswith((STATUS_PREFIX, SERVICE_PREFIX))
        or any(s.label.lower() == name for s in severities)
        or (pattern is not None and pattern.fullmatch(name) is not None)
    )


def relabel(
    current: Iterable[str], fields: LabelFields, severities: Sequence[Severity]
) -> tuple[list[str], list[str]]:
    """Labels to add and to remove so the issue says `fields`; labels people own stay."""
    current = list(current)
    wanted = labels_for(fields, severities)
    keep = {label for label in current if label in wanted}
    remove = sorted(
        label for label in current if is_ours(label, severities) and label not in wanted
    )
    add = sorted(wanted - keep)
    return add, remove


def said(labels: Iterable[str], severities: Sequence[Severity]) -> tuple[list[str], list[str]]:
    """The labels that say a status and those that say a severity."""
    return _said(labels, severities)


def _said(labels: Iterable[str], severities: Sequence[Severity]) -> tuple[list[str], list[str]]:
    """The labels that say a status and those that say a severity (as `read_labels` reads
    them: case aside, on the scale, a known status)."""
    on_scale = {s.label.lower() for s in severities}
    statuses, levels = [], []
    for label in labels:
        name = label.strip().lower()
        if name.startswith(STATUS_PREFIX) \
                and name[len(STATUS_PREFIX):].strip() in {s.value for s in Status}:
            statuses.append(label)
        elif name in on_scale:
            levels.append(label)
    return statuses, levels


def conflicting(labels: Iterable[str], severities: Sequence[Severity]) -> bool:
    """Two statuses or two severities at once: GitHub's label picker adds a label without
    taking the old one off, so which was added last decides (`read_labels(newest_last=…)`)."""
    statuses, levels = _said(labels, severities)
    return len({_key(x, severities) for x in statuses}) > 1 \
        or len({_key(x, severities) for x in levels}) > 1


def status_and_severity(current: Iterable[str], fields: LabelFields,
                        severities: Sequence[Severity]) -> tuple[list[str], list[str]]:
    """Status and severity labels to add and to remove so that they say exactly `fields`
    (one of each; `status:closed` on a closed issue); every other label, and the case a
    label is written in, stays as it is."""
    wanted = {STATUS_PREFIX + fields.status.value}
    if fields.severity is not None:
        wanted.add(_severity_by_level(severities, fields.severity).label)
    statuses, levels = _said(current, severities)
    found = {_key(x, severities): x for x in (*statuses, *levels)}
    lowered = {w.lower() for w in wanted}
    remove = sorted(x for x in (*statuses, *levels) if _key(x, severities) not in lowered)
    add = sorted(w for w in wanted if w.lower() not in found)
    return add, remove


def _key(label: str, severities: Sequence[Severity]) -> str:
    return (_canonical(label.strip().lower(), severities) or "").lower()
