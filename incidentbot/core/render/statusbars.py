"""Components for the status page: each public service's status from its checks, the public
incidents on it and maintenance, and its 90 days graded by minutes down (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from incidentbot.core.config import Config
from incidentbot.core.health import DEGRADED, DOWN, UP
from incidentbot.core.publicstatus import RESOLVED_WORDS
from incidentbot.core.render.daystats import DayStats

if TYPE_CHECKING:
    from incidentbot.core.render.publicincidents import Maintenance, PublicIncident

DAYS = 90
CHECK_STATUS = {UP: "operational", DEGRADED: "degraded_performance", DOWN: "major_outage"}
# Worst last; maintenance sits below the outages a public incident may declare.
ORDER = ("operational", "degraded_performance", "under_maintenance", "partial_outage",
         "major_outage")
WORDS = {"operational": "Operational", "degraded_performance": "Degraded performance",
         "partial_outage": "Partial outage", "major_outage": "Major outage",
         "under_maintenance": "Under maintenance", "none": "No data"}
WINDOWS = (("24 h", timedelta(days=1)), ("7 d", timedelta(days=7)),
           ("30 d", timedelta(days=30)), ("90 d", timedelta(days=90)))
# A day's grade: u up, m minor (degraded, or down under an hour), p partial (under 6 h
# down), x major (6 h or more), n missing data (none, or a quarter of the day or more
# unwatched), w maintenance; the hours scale with the time the day was monitored (a day
# monitoring began on, today so far), so a day down all the time it was watched is major.
# Each has a pattern and a word.
GRADES = {"u": "Operational", "m": "Minor trouble", "p": "Partial outage",
          "x": "Major outage", "n": "Missing data", "w": "Maintenance"}
_IMPACT_GRADE = {"degraded_performance": "m", "partial_outage": "p", "major_outage": "x"}
_GRADE_RANK = "nuwmpx"
# The public words in which an incident no longer sets its services' status: the fix is in
# (monitoring) or it is over. Its services then show what their checks say, and its days
# are graded by the time it spent in the other words only.
QUIET = frozenset({"monitoring"}) | RESOLVED_WORDS


@dataclass(frozen=True, slots=True)
class Day:
    start: datetime
    grade: str
    down_min: int
    degraded_min: int
    no_data_min: int
    percent: float | None
    incidents: tuple[PublicIncident, ...]
    maintenance: tuple[Maintenance, ...]

    @property
    def words(self) -> str:
        """The day in words, for the service page and screen readers."""
        parts = [GRADES[self.grade]]
        if self.percent is not None:
            parts.append(f"{self.percent:.2f}% up")
        if self.down_min:
            parts.append(f"{_minutes(self.down_min)} down")
        if self.degraded_min:
            parts.append(f"{_minutes(self.degraded_min)} degraded")
        if self.no_data_min and self.percent is not None:
            parts.append(f"{_minutes(self.no_data_min)} without data")
        return ", ".join(parts)


def _minutes(total: int) -> str:
    hours, minutes = divmod(total, 60)
    return f"{hours} h {minutes} min" if hours and minutes else \
        f"{hours} h" if hours else f"{minutes} min"


def grade(down: timedelta, degraded: timedelta,
          measured: timedelta = timedelta(days=1)) -> str:
    """The day's grade from its minutes down and degraded, out of the time it was measured
    (6 h and 1 h down of a whole day; the same shares of a shorter one)."""
    share = min(measured, timedelta(days=1)) / timedelta(days=1)
    if down > timedelta(0) and down >= timedelta(hours=6) * share:
        return "x"
    if down > timedelta(0) and down >= timedelta(hours=1) * share:
        return "p"
    if down > timedelta(0) or degraded > timedelta(0):
        return "m"
    return "u"


def impact_spans(incident: PublicIncident, now: datetime) -> list[tuple[datetime, datetime]]:
    """When the incident set its services' status: from its opening, each stretch its
    public status was not QUIET (investigating, identified), until it was or it ended.
    A change dated at the opening itself is an incident without history (its status
    now, placed there by publicupdates.updates): when the fix came is unknown, so it
    keeps its impact until it ends."""
    end = incident.resolved or now
    # Oldest first; at one moment in the order they were made (updates are newest first).
    changes = sorted(((u.at, u.word) for u in reversed(incident.updates)),
                     key=lambda change: change[0])
    spans: list[tuple[datetime, datetime]] = []
    since: datetime | None = incident.opened  # an incident opens with its impact
    for at, word in changes:
        if at <= incident.opened:
            continue
        at = min(at, end)
        if word in QUIET and since is not None:
            spans.append((since, at))
            since = None
        elif word not in QUIET and since is None:
            since = at
    if since is not None:
        spans.append((since, end))
    return [(lo, hi) for lo, hi in spans if hi > lo]


def days(stats: DayStats, now: datetime, incidents: Sequence[PublicIncident],
         maintenances: Sequence[Maintenance], slug: str) -> list[Day]:
    """The last 90 days, oldest first, from the service's day sums. A day lists every
    incident open on it; only the time an incident set the service's status (its
    impact_spans) grades the day, so a day spent in monitoring reads as the checks do. The
    time before the service's first sample is not "missing": the day monitoring began is
    graded on the hours it was monitored."""
    offset = len(stats.totals) - DAYS
    first = stats.first + timedelta(days=offset)
    # When monitoring began, if within the window (no sample before it).
    began = None if any(i < 0 for i in stats.lasts) else stats.first_sample

    def spread(items: Sequence[Any], lo_of: Any, hi_of: Any) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {}
        for x in items:
            lo = max(0, (lo_of(x).astimezone(UTC) - first).days)
            hi = min(DAYS - 1, (hi_of(x).astimezone(UTC) - first).days)
            for index in range(lo, hi + 1):
                out.setdefault(index, []).append(x)
        return out

    mine = [i for i in incidents if slug in i.services]
    touching = spread(mine, lambda i: i.opened, lambda i: i.resolved or now)
    impact = spread([(i, lo, hi) for i in mine for lo, hi in impact_spans(i, now)],
                    lambda x: x[1], lambda x: x[2])
    planned = spread([m for m in maintenances if slug in m.services and m.start <= now],
                     lambda m: m.start, lambda m: min(m.end, now))
    out = []
    for index in range(DAYS):
        windows = [(m.start, m.end) for m in planned.get(index, [])]
        measured = stats.day(offset + index, windows)
        start = first + timedelta(days=index)
        if began is not None and start < began < start + timedelta(days=1):
            measured = replace(measured, no_data=max(timedelta(0),
                                                     measured.no_data - (began - start)))
        those = tuple(touching.get(index, []))
        g = grade(measured.down, measured.degraded, measured.measured) \
            if measured.measured > timedelta(0) else "n"
        if g == "u" and measured.no_data * 3 > measured.measured:
            g = "n"  # a quarter of the day unwatched is no "Operational" day
        for i, _, _ in impact.get(index, []):
            g = max(g, _IMPACT_GRADE.get(i.component_impact, "m"), key=_GRADE_RANK.index)
        if planned.get(index) and g in {"u", "n"}:
            g = "w"
        out.append(Day(first + timedelta(days=index), g,
                       int(measured.down.total_seconds() // 60),
                       int(measured.degraded.total_seconds() // 60),
                       int(measured.no_data.total_seconds() // 60), measured.percent,
                       those, tuple(planned.get(index, []))))
    return out


def component(config: Config, position: int, slug: str, name: str, group: str | None,
              stats: DayStats, check_state: str | None, now: datetime,
              incidents: Sequence[PublicIncident],
              maintenances: Sequence[Maintenance], *,
              since: datetime | None = None) -> dict[str, Any]:
    """One service: its status (the worst of its checks and the public incidents on it
    not yet QUIET; under maintenance unless an incident says worse), uptime windows and
    days. "No data" only when nothing speaks for it: no check, and today's cell is empty
    too (no samples, no incident's impact, no maintenance).

    `created` (its first data, else its first public incident) and `changed` (the last
    change of its status known: `since`, when its checks last changed state, the public
    incidents on it and its maintenance) are stable from one build to the next."""
    under = any(m.active(now) and slug in m.services for m in maintenances)
    status = CHECK_STATUS.get(check_state or "", "operational")
    if under:
        status = "under_maintenance"
    for i in incidents:
        if i.resolved is None and i.word not in QUIET and slug in i.services:
            status = max(status, i.component_impact, key=ORDER.index)
    excluded = [(m.start, m.end) for m in maintenances if slug in m.services]
    windows = []
    for label, span in WINDOWS:
        percent = stats.window(now - span, excluded).percent
        windows.append({"label": label,
                        "value": f"{percent:.2f}%" if percent is not None else "no data"})
    last = len(stats.totals) - 1
    recent = [s for i in (last - 1, last) for s in stats.buckets.get(i, [])
              if now - s.t <= timedelta(days=1)]
    times = sorted(s.ms for s in recent if s.ms is not None)
    latest = stats.latest
    bar = days(stats, now, incidents, maintenances, slug)
    mine = [i for i in incidents if slug in i.services]
    firsts = [t for t in (stats.first_sample, *(i.opened for i in mine)) if t is not None]
    created = min(firsts) if firsts else None
    moments = [since, *(i.opened for i in mine), *(i.resolved for i in mine),
               *(u.at for i in mine for u in i.updates),
               *(t for m in maintenances if slug in m.services for t in (m.start, m.end))]
    known = [t for t in moments if t is not None and t <= now]
    changed = max(known, default=created)
    no_data = check_state is None and status == "operational" and bar[-1].grade == "n"
    return {
        "slug": slug, "name": name, "position": position, "group": group,
        "status": status, "word": WORDS["none" if no_data else status], "no_data": no_data,
        "windows": windows, "days": bar,
        "p50": times[len(times) // 2] if times else None,
        "p95": times[min(len(times) - 1, int(len(times) * 0.95))] if times else None,
        "last": latest.t if latest else None,
        "created": created, "changed": changed,
    }


# Statuspage's top-level status from its components' blend, worst first
# (https://support.atlassian.com/statuspage/docs/top-level-status-and-incident-impact-calculations/).
_RANK = ("none", "maintenance", "minor", "major", "critical")
# An unresolved incident whose impact is worse than its components' blend (it is monitored,
# so its services are operational again) raises the indicator, in words that name the
# incident's impact and claim no component outage the components do not show.
_INCIDENT_WORDS = {"minor": "Minor Service Outage", "major": "Major Service Outage",
                   "critical": "Critical Service Outage"}


def _blend(statuses: Sequence[str], maintenance_now: bool) -> tuple[str, str]:
    """The components' part of the page status, as Statuspage blends them, worst first:
    every component, or more than half of them, in major outage is `critical`, "Major
    System Outage" (six of nine services down is not a partial outage); any other partial
    or major outage is `major`, "Partial System Outage"; only degraded ones `minor`
    ("Degraded System Service" when all are, else "Partially Degraded Service");
    maintenance; else "All Systems Operational"."""
    present = set(statuses)
    majors = sum(s == "major_outage" for s in statuses)
    if statuses and majors * 2 > len(statuses):
        return "critical", "Major System Outage"
    if present & {"major_outage", "partial_outage"}:
        return "major", "Partial System Outage"
    if present and present <= {"degraded_performance"}:
        return "minor", "Degraded System Service"
    if "degraded_performance" in present:
        return "minor", "Partially Degraded Service"
    if maintenance_now or "under_maintenance" in present:
        return "maintenance", "Service Under Maintenance"
    return "none", "All Systems Operational"


def indicator(components: Sequence[Mapping[str, Any]], unresolved: Sequence[PublicIncident],
              maintenance_now: bool) -> tuple[str, str]:
    """Statuspage's page status: `none`, `minor`, `major`, `critical` or `maintenance`, and
    its description. The worst of the components' blend and of the unresolved incidents'
    impact (a monitored incident keeps its impact until resolved; any unresolved incident
    is at least minor); the words come from the components when they account for it, so
    the banner never claims an outage no component shows. Never "All Systems Operational"
    during maintenance or with no data."""
    level, words = _blend([c["status"] for c in components], maintenance_now)
    impacts = [i.impact if i.impact in _INCIDENT_WORDS else "minor" for i in unresolved]
    worst = max(impacts, key=_RANK.index, default="none")
    if _RANK.index(worst) > _RANK.index(level):
        return worst, _INCIDENT_WORDS[worst]
    if level == "none" and components and all(c["no_data"] for c in components):
        return "none", "No monitoring data yet"
    return level, words
