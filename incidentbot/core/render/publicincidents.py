"""What the public may know of incidents and maintenance windows, as values (pure).

Only incidents marked `public` (and neither `private` nor `drill`) become a PublicIncident;
what is not public is never passed on, so no page, feed or JSON can leak it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from incidentbot.core import publicstatus
from incidentbot.core.config import Config
from incidentbot.core.model import LabelFields, Status, read_labels
from incidentbot.core.ports import Issue
from incidentbot.core.render import publicupdates
from incidentbot.core.render.publicupdates import Update
from incidentbot.core.trust import Writers

# Statuspage's incident impact for what the incident does to its services (component_impact).
IMPACT = {"major_outage": "critical", "partial_outage": "major",
          "degraded_performance": "minor"}
MAINTENANCE_LABEL = "maintenance"


@dataclass(frozen=True, slots=True)
class PublicIncident:
    number: int
    title: str
    status: Status
    word: str  # the public status (publicstatus.word)
    impact: str  # Statuspage's incident impact: none, minor, major, critical
    component_impact: str  # what it does to its services: degraded_performance, ...
    services: tuple[str, ...]
    services_named: tuple[str, ...]
    opened: datetime
    resolved: datetime | None
    updated: datetime
    monitoring_at: datetime | None
    updates: tuple[Update, ...]  # newest first

    @property
    def duration(self) -> timedelta:
        return (self.resolved or self.updated) - self.opened


@dataclass(frozen=True, slots=True)
class Maintenance:
    number: int
    title: str
    start: datetime
    end: datetime
    services: tuple[str, ...]
    services_named: tuple[str, ...] = ()
    description: str = ""

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end

    def state(self, now: datetime) -> str:
        """Statuspage's maintenance status: scheduled, in_progress, completed."""
        return "in_progress" if self.active(now) else "completed" if self.end <= now \
            else "scheduled"


def maintenance(issue: Issue, config: Config) -> Maintenance:
    """A maintenance window from an issue labelled `maintenance`, whose body has lines
    `start: 2026-11-23 02:00`, `end: 2026-11-23 03:00`, `timezone: Europe/Berlin` (default
    the config's) and `services: checkout, payments`; other lines describe it. ValueError
    says what is wrong."""
    from zoneinfo import ZoneInfo

    fields: dict[str, str] = {}
    rest = []
    for line in issue.body.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in {"start", "end", "timezone", "services"}:
            fields[key.strip().lower()] = value.strip()
        else:
            rest.append(line)
    zone = ZoneInfo(fields.get("timezone") or config.timezone)
    try:
        start = datetime.fromisoformat(fields["start"]).replace(tzinfo=zone)
        end = datetime.fromisoformat(fields["end"]).replace(tzinfo=zone)
    except (KeyError, ValueError):
        raise ValueError(f"#{issue.number}: maintenance needs `start:` and `end:` lines "
                         "like 2026-11-23 02:00") from None
    if end <= start:
        raise ValueError(f"#{issue.number}: maintenance ends before it starts")
    known = {s.slug for s in config.services if s.public and not s.private}
    services = tuple(x.strip() for x in fields.get("services", "").split(",")
                     if x.strip() in known)
    return Maintenance(issue.number, " ".join(issue.title.split()), start.astimezone(UTC),
                       end.astimezone(UTC), services,
                       tuple(config.service_names(services)),
                       "\n".join(rest).split("<!--", 1)[0].strip()[:2000])


def component_impact(severity: int | None, config: Config) -> str:
    """What a public incident of this severity does to its services (`status_page.impacts`;
    a level not listed, or no severity, degrades them)."""
    if severity is None:
        return "degraded_performance"
    return config.status_page.impacts.get(str(severity), "degraded_performance")


def incident_impact(severity: int | None, config: Config) -> str:
    """Statuspage's incident impact (none, minor, major, critical) of a public incident of
    this severity: from what it does to its services (`status_page.impacts`), so the JSON,
    the banner and the day bars all follow the one setting."""
    return IMPACT.get(component_impact(severity, config), "none")


def public_incidents(issues: Sequence[Issue], config: Config,
                     updates: Mapping[int, Sequence[Update]] | None = None,
                     ) -> list[PublicIncident]:
    """The incidents the public may see, and only what it may see of them, newest first.
    `updates` are each incident's (from publicupdates.updates); without them an incident
    has the updates its opening and its current status imply."""
    public_services = {s.slug for s in config.services if s.public and not s.private}
    names = {s.slug: s.name for s in config.services}
    out = []
    read: dict[tuple[tuple[str, ...], bool], LabelFields] = {}  # incidents share label sets
    for issue in issues:
        key = (issue.labels, issue.state == "closed")
        fields = read.get(key)
        if fields is None:
            fields = read[key] = read_labels(issue.labels, config.severities,
                                             issue_closed=key[1])
        if not fields.is_incident or not fields.on_status_page:
            continue
        word = publicstatus.word(fields.status, config)
        said = tuple((updates or {}).get(issue.number) or publicupdates.updates(
            issue.number, issue.created_at, fields.status, (), (), Writers(), config))
        resolved = None
        if word in publicstatus.RESOLVED_WORDS:
            resolved = issue.closed_at or max([issue.updated_at, *(u.at for u in said)])
        monitoring = [u.at for u in said if u.word == "monitoring"]
        services = tuple(s for s in fields.services if s in public_services)
        out.append(PublicIncident(
            number=issue.number, title=" ".join(issue.title.split()), status=fields.status,
            word=word, impact=incident_impact(fields.severity, config),
            component_impact=component_impact(fields.severity, config),
            services=services, services_named=tuple(names.get(s, s) for s in services),
            opened=issue.created_at, resolved=resolved,
            updated=max([issue.updated_at, *(u.at for u in said)]),
            monitoring_at=min(monitoring) if monitoring else None, updates=said))
    return sorted(out, key=lambda i: (i.opened, i.number), reverse=True)
