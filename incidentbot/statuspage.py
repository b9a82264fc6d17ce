"""The public status page: a static site built from the monitor's data and public incidents.

No API call from the visitor's browser: everything is in the files (HTML, the Atlassian
Statuspage v2 JSON API, shields.io badge endpoints and SVG badges, an Atom feed). Only
incidents marked `public` (and neither `private` nor `drill`) appear anywhere; what is
not public is never passed to the templates, so it cannot leak. Jinja autoescapes HTML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from incidentbot.config import Config
from incidentbot.model import LabelFields, Status, read_labels
from incidentbot.monitor import DEGRADED, DOWN, UP, DataDir, Sample, uptime
from incidentbot.ports import Issue

TEMPLATES = Path(__file__).parent / "templates" / "status"
COMPONENT_STATUS = {UP: "operational", DEGRADED: "degraded_performance",
                    DOWN: "major_outage", None: "operational"}
IMPACT = {1: "critical", 2: "major", 3: "minor"}
WINDOWS = (("24 h", timedelta(days=1)), ("7 d", timedelta(days=7)),
           ("30 d", timedelta(days=30)), ("90 d", timedelta(days=90)))


@dataclass(frozen=True, slots=True)
class PublicIncident:
    number: int
    title: str
    status: Status
    impact: str
    services: tuple[str, ...]
    opened: datetime
    resolved: datetime | None
    updated: datetime
    updates: tuple[tuple[datetime, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Maintenance:
    number: int
    title: str
    start: datetime
    end: datetime
    services: tuple[str, ...]

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end


MAINTENANCE_LABEL = "maintenance"


def maintenance(issue: Issue, config: Config) -> Maintenance:
    """A maintenance window from an issue labelled `maintenance`, whose body has lines
    `start: 2026-11-23 02:00`, `end: 2026-11-23 03:00`, `timezone: Europe/Berlin` (default
    the config's) and `services: checkout, payments`. ValueError says what is wrong."""
    from zoneinfo import ZoneInfo

    fields: dict[str, str] = {}
    for line in issue.body.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in {"start", "end", "timezone", "services"}:
            fields[key.strip().lower()] = value.strip()
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
                       end.astimezone(UTC), services)


PUBLIC_MARK = "public update:"


def public_update(body: str) -> str | None:
    """The text of a comment the team wrote for the status page: it starts with
    `Public update:` and what follows is what the public reads. (Not a `/` command: the
    reconciler reads those as incident commands.)"""
    text = body.strip()
    if not text.lower().startswith(PUBLIC_MARK):
        return None
    rest = text[len(PUBLIC_MARK):].strip()
    return rest or None


def public_incidents(issues: Sequence[Issue], config: Config,
                     updates: Mapping[int, Sequence[tuple[datetime, str]]] | None = None,
                     ) -> list[PublicIncident]:
    """The incidents the public may see, and only what it may see of them."""
    out = []
    for issue in issues:
        fields: LabelFields = read_labels(issue.labels, config.severities,
                                          issue_closed=issue.state == "closed")
        if not fields.is_incident or not fields.on_status_page:
            continue
        public_services = {s.slug for s in config.services if s.public and not s.private}
        resolved = issue.closed_at if fields.status.rank >= Status.POSTMORTEM.rank else None
        out.append(PublicIncident(
            number=issue.number, title=" ".join(issue.title.split()), status=fields.status,
            impact=IMPACT.get(fields.severity or 0, "none"),
            services=tuple(s for s in fields.services if s in public_services),
            opened=issue.created_at, resolved=resolved or (
                issue.updated_at if not fields.status.active else None),
            updated=issue.updated_at,
            updates=tuple(sorted((updates or {}).get(issue.number, ()), reverse=True))))
    return sorted(out, key=lambda i: i.opened, reverse=True)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _day_cells(samples: Sequence[Sample], now: datetime,
               incidents: Sequence[PublicIncident], slug: str) -> list[dict[str, Any]]:
    """90 cells, one per day: its worst state, its uptime and its incidents in the title.
    Samples are bucketed by day once (a day's uptime also sees the day before's last
    sample), so the cost grows with the samples, not samples × days."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=89)
    buckets: dict[int, list[Sample]] = {}
    for s in samples:
        index = (s.t.astimezone(UTC) - first).days
        if -1 <= index < 90:
            buckets.setdefault(index, []).append(s)
    touching: dict[int, list[PublicIncident]] = {}
    for i in incidents:
        if slug not in i.services:
            continue
        lo = max(0, (i.opened.astimezone(UTC) - first).days)
        hi = min(89, ((i.resolved or now).astimezone(UTC) - first).days)
        for index in range(lo, hi + 1):
            touching.setdefault(index, []).append(i)
    order = [UP, DEGRADED, DOWN]
    cells = []
    for index in range(90):
        start = first + timedelta(days=index)
        end = min(start + timedelta(days=1), now)
        day_samples = buckets.get(index, [])
        previous = buckets.get(index - 1, [])[-1:]
        day = uptime([*previous, *day_samples], start, end)
        worst = max((s.state for s in day_samples), key=order.index, default=None)
        percent = day.percent
        those = touching.get(index, [])
        if percent is not None and percent >= 100 and not those and \
                day.no_data < timedelta(hours=1):
            cells.append({"state": worst or "none", "title": ""})  # a perfect day: no words
            continue
        label = f"{start:%m-%d}: " + (f"{percent:.2f}% up" if percent is not None
                                       else "no data")
        if those:
            label += "; " + "; ".join(f"#{i.number} {i.title[:60]}" for i in those[:2])
            if len(those) > 2:
                label += f"; and {len(those) - 2} more"
        cells.append({"state": worst or "none", "title": label})
    return cells


def _components(config: Config, data: DataDir, now: datetime,
                incidents: Sequence[PublicIncident],
                windows_off: Sequence[Maintenance] = ()) -> list[dict[str, Any]]:
    states = data.states()
    out = []
    for position, service in enumerate(s for s in config.services
                                       if s.public and not s.private):
        samples = data.samples(service.slug, now - timedelta(days=91))
        state = states[service.slug].state if service.slug in states else (
            samples[-1].state if samples else None)
        excluded = [(m.start, m.end) for m in windows_off if service.slug in m.services]
        windows = []
        for label, span in WINDOWS:
            percent = uptime(samples, now - span, now, excluded=excluded).percent
            windows.append({"label": label,
                            "value": f"{percent:.2f}%" if percent is not None else "no data"})
        times = sorted(s.ms for s in samples if s.ms is not None and now - s.t <= timedelta(1))
        p50 = times[len(times) // 2] if times else None
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))] if times else None
        chart = response_chart(samples, now)
        under = any(m.active(now) and service.slug in m.services for m in windows_off)
        out.append({
            "slug": service.slug, "name": service.name, "position": position + 1,
            "group": getattr(service, "group", None),
            "state": "maintenance" if under else state or "none",
            "status": "under_maintenance" if under else
            COMPONENT_STATUS.get(state, "operational"),
            "windows": windows, "days": _day_cells(samples, now, incidents, service.slug),
            "p50": p50, "p95": p95, "chart": chart,
            "last": (f"{samples[-1].t.astimezone(UTC):%Y-%m-%d %H:%M} UTC, "
                     f"{int((now - samples[-1].t).total_seconds() // 60)} min before this "
                     "update") if samples else None,
        })
    return out


def response_chart(samples: Sequence[Sample], now: datetime, days: int = 30) -> str:
    """Daily p50 and p95 response times over `days` as a small inline SVG (no script)."""
    from markupsafe import Markup

    per_day: dict[int, list[int]] = {}
    for s in samples:
        back = (now - s.t).days
        if s.ms is not None and 0 <= back < days:
            per_day.setdefault(days - 1 - back, []).append(s.ms)
    if not per_day:
        return ""
    points = {}
    for day, values in per_day.items():
        values.sort()
        points[day] = (values[len(values) // 2], values[min(len(values) - 1,
                                                            int(len(values) * 0.95))])
    top = max(p95 for _, p95 in points.values()) or 1
    width, height = 300, 40

    def line(index: int) -> str:
        return " ".join(f"{day * width / (days - 1):.1f},"
                        f"{height - 2 - (pair[index] / top) * (height - 4):.1f}"
                        for day, pair in sorted(points.items()))

    stroke = 'fill="none" stroke="currentColor" vector-effect="non-scaling-stroke"'
    # Only numbers we computed go into this markup: nothing from an issue or a person.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" '
        f'aria-label="Response time, last {days} days: p50 and p95, up to {top} ms">'
        f'<polyline points="{line(1)}" {stroke} opacity=".35"/>'
        f'<polyline points="{line(0)}" {stroke}/></svg>')


def _indicator(components: Sequence[Mapping[str, Any]],
               active: Sequence[PublicIncident]) -> tuple[str, str]:
    statuses = {c["status"] for c in components}
    impacts = {i.impact for i in active}
    # Statuspage's wording: major is a "Partial System Outage", critical a "Major" one.
    if "critical" in impacts or (statuses and statuses <= {"major_outage"}):
        return "critical", "Major System Outage"
    if statuses & {"major_outage", "partial_outage"} or "major" in impacts:
        return "major", "Partial System Outage"
    if "degraded_performance" in statuses or active:
        return "minor", "Minor Service Outage"
    if components and all(c["state"] == "none" for c in components):
        return "none", "No Data Yet"  # no check has run: nothing is known to be operational
    return "none", "All Systems Operational"


def api(config: Config, components: Sequence[Mapping[str, Any]],
        incidents: Sequence[PublicIncident], now: datetime,
        windows_off: Sequence[Maintenance] = ()) -> dict[str, Any]:
    """The Statuspage v2 documents, field names and enums as Atlassian's."""
    base = (config.status_page.url or "").rstrip("/")
    page = {"id": "incidentbot", "name": config.status_page.title, "url": base or "/",
            "time_zone": config.timezone, "updated_at": _iso(now)}
    comps = [{"id": c["slug"], "name": c["name"], "status": c["status"],
              "created_at": _iso(now), "updated_at": _iso(now), "position": c["position"],
              "description": None, "showcase": True, "start_date": None,
              "group_id": None, "page_id": "incidentbot", "group": False,
              "only_show_if_degraded": False} for c in components]
    by_id = {c["id"]: c for c in comps}

    def incident(i: PublicIncident) -> dict[str, Any]:
        status = i.status.public
        return {
            "id": str(i.number), "name": i.title, "status": status,
            "created_at": _iso(i.opened), "updated_at": _iso(i.updated),
            "monitoring_at": _iso(i.updated) if status == "monitoring" else None,
            "resolved_at": _iso(i.resolved), "impact": i.impact,
            "shortlink": f"{base}/incidents/{i.number}.html" if base else
            f"incidents/{i.number}.html",
            "started_at": _iso(i.opened), "page_id": "incidentbot",
            "incident_updates": [{
                "id": f"{i.number}-{n}", "status": status, "body": text,
                "incident_id": str(i.number), "created_at": _iso(at), "updated_at": _iso(at),
                "display_at": _iso(at), "affected_components": None,
                "deliver_notifications": True, "custom_tweet": None, "tweet_id": None}
                for n, (at, text) in enumerate(i.updates or ((i.updated,
                                                              f"The incident is {status}."),))],
            "components": [by_id[s] for s in i.services if s in by_id],
        }

    def scheduled(m: Maintenance) -> dict[str, Any]:
        status = ("in_progress" if m.active(now) else "completed" if m.end <= now
                  else "scheduled")
        return {"id": f"m{m.number}", "name": m.title, "status": status,
                "created_at": _iso(m.start), "updated_at": _iso(now), "monitoring_at": None,
                "resolved_at": _iso(m.end) if m.end <= now else None, "impact": "maintenance",
                "shortlink": f"{base}/" if base else "index.html",
                "started_at": _iso(m.start), "page_id": "incidentbot",
                "scheduled_for": _iso(m.start), "scheduled_until": _iso(m.end),
                "incident_updates": [],
                "components": [by_id[x] for x in m.services if x in by_id]}

    maint = [scheduled(m) for m in windows_off]
    active = [i for i in incidents if i.resolved is None]
    indicator, description = _indicator(components, active)
    status = {"indicator": indicator, "description": description}
    all_incidents = [incident(i) for i in incidents[:50]]
    unresolved = [incident(i) for i in active]
    return {
        "summary.json": {"page": page, "status": status, "components": comps,
                         "incidents": unresolved,
                         "scheduled_maintenances": [m for m in maint
                                                    if m["status"] != "completed"]},
        "status.json": {"page": page, "status": status},
        "components.json": {"page": page, "components": comps},
        "incidents.json": {"page": page, "incidents": all_incidents},
        "incidents/unresolved.json": {"page": page, "incidents": unresolved},
        "scheduled-maintenances.json": {"page": page, "scheduled_maintenances": maint},
        "scheduled-maintenances/upcoming.json": {
            "page": page, "scheduled_maintenances": [m for m in maint
                                                     if m["status"] == "scheduled"]},
        "scheduled-maintenances/active.json": {
            "page": page, "scheduled_maintenances": [m for m in maint
                                                     if m["status"] == "in_progress"]},
    }


def _shield_colour(percent: float | None) -> str:
    if percent is None:
        return "lightgrey"
    return ("brightgreen" if percent >= 99.9 else "green" if percent >= 99 else
            "yellow" if percent >= 95 else "orange" if percent >= 90 else "red")


def upptime_files(config: Config, data: DataDir, now: datetime) -> dict[str, Any]:
    """Upptime's history/summary.json and api/<slug>/*.json shields endpoints, in its
    shapes, so badges and embeds made for Upptime keep working after a switch."""
    spans = {"": timedelta(days=365 * 10), "Day": timedelta(days=1),
             "Week": timedelta(days=7), "Month": timedelta(days=30),
             "Year": timedelta(days=365)}
    states = data.states()
    summary = []
    files: dict[str, Any] = {}
    for service in (s for s in config.services if s.public and not s.private):
        samples = data.samples(service.slug, now - timedelta(days=366))
        entry: dict[str, Any] = {"name": service.name, "url": "", "icon": "",
                                 "slug": service.slug,
                                 "status": states[service.slug].state
                                 if service.slug in states else "up"}
        for suffix, span in spans.items():
            window = [x for x in samples if now - x.t <= span]
            percent = uptime(window, now - span, now).percent if window else None
            text = f"{percent:.2f}%" if percent is not None else "no data"
            times = [x.ms for x in window if x.ms is not None]
            average = round(sum(times) / len(times)) if times else 0
            entry[f"uptime{suffix}"] = text
            entry[f"time{suffix}"] = average
            key = f"-{suffix.lower()}" if suffix else ""
            files[f"api/{service.slug}/uptime{key}.json"] = {
                "schemaVersion": 1, "label": f"uptime {suffix.lower()}".strip(),
                "message": text, "color": _shield_colour(percent)}
            files[f"api/{service.slug}/response-time{key}.json"] = {
                "schemaVersion": 1, "label": f"response time {suffix.lower()}".strip(),
                "message": f"{average} ms",
                "color": "brightgreen" if average < 500 else "yellow" if average < 1000
                else "red"}
        entry["dailyMinutesDown"] = {}
        summary.append(entry)
    files["history/summary.json"] = summary
    return files


BADGE_COLOURS = {"operational": "brightgreen", "degraded_performance": "yellow",
                 "partial_outage": "orange", "major_outage": "red"}


def badge_svg(label: str, message: str, colour: str) -> str:
    hexes = {"brightgreen": "#2da44e", "yellow": "#bf8700", "orange": "#d1640f",
             "red": "#cf222e", "lightgrey": "#8c959f"}
    lw, mw = 6 * len(label) + 12, 6 * len(message) + 12
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + mw}" height="20" '
            f'role="img" aria-label="{xml_escape(label)}: {xml_escape(message)}">'
            f'<title>{xml_escape(label)}: {xml_escape(message)}</title>'
            f'<rect width="{lw}" height="20" fill="#555"/>'
            f'<rect x="{lw}" width="{mw}" height="20" fill="{hexes.get(colour, "#8c959f")}"/>'
            '<g fill="#fff" font-family="Verdana,sans-serif" font-size="11">'
            f'<text x="6" y="14">{xml_escape(label)}</text>'
            f'<text x="{lw + 6}" y="14">{xml_escape(message)}</text></g></svg>\n')


def atom(config: Config, incidents: Sequence[PublicIncident], now: datetime) -> str:
    base = (config.status_page.url or "").rstrip("/")
    entries = []
    for i in incidents[:50]:
        link = f"{base}/incidents/{i.number}.html"
        entries.append(
            f"<entry><id>{xml_escape(link)}</id><title>{xml_escape(i.title)}</title>"
            f"<updated>{_iso(i.updated)}</updated><link href=\"{xml_escape(link)}\"/>"
            f"<summary>{xml_escape(i.status.public)}</summary></entry>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>{xml_escape(base or 'urn:incidentbot:status')}</id>"
            f"<title>{xml_escape(config.status_page.title)}</title><updated>{_iso(now)}"
            f"</updated>{''.join(entries)}</feed>\n")


def ical(config: Config, maintenances: Sequence[Maintenance], now: datetime) -> str:
    """An iCalendar feed of maintenance windows (RFC 5545)."""
    def text(value: str) -> str:
        return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
                .replace("\n", "\\n"))

    def stamp(moment: datetime) -> str:
        return f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//incidentbot//status page//EN",
             f"X-WR-CALNAME:{text(config.status_page.title)} maintenance"]
    for m in maintenances:
        lines += ["BEGIN:VEVENT", f"UID:maintenance-{m.number}@incidentbot",
                  f"DTSTAMP:{stamp(now)}", f"DTSTART:{stamp(m.start)}", f"DTEND:{stamp(m.end)}",
                  f"SUMMARY:{text(m.title)}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def build(config: Config, data: DataDir, issues: Sequence[Issue], out: str | Path, *,
          now: datetime | None = None,
          updates: Mapping[int, Sequence[tuple[datetime, str]]] | None = None,
          maintenances: Sequence[Maintenance] = ()) -> list[Path]:
    """Write the site under `out`; the files written."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    now = now or datetime.now(UTC)
    root = Path(out)
    incidents = public_incidents(issues, config, updates)
    components = _components(config, data, now, incidents, maintenances)
    documents = api(config, components, incidents, now, maintenances)
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"]))
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(config.timezone)

    def when(moment: datetime) -> str:
        """`2026-11-22 10:00 UTC (11:00 CET)`: UTC, and the team's time where it differs."""
        utc = moment.astimezone(UTC)
        local = utc.astimezone(zone)
        shown = f"{utc:%Y-%m-%d %H:%M} UTC"
        return shown if local.utcoffset() == timedelta(0) else \
            f"{shown} ({local:%H:%M %Z})"

    env.filters["when"] = when
    runs = data.runs()
    last_run = runs[-1][0] if runs else None
    delayed = last_run is not None and now - last_run > timedelta(
        seconds=runs[-1][1] * 3)
    # The front page lists the last 90 days' resolved incidents; each has its own page.
    months: dict[str, list[PublicIncident]] = {}
    recent = [i for i in incidents if i.resolved is not None
              and now - i.opened <= timedelta(days=90)][:50]
    for i in recent:
        months.setdefault(f"{i.opened:%B %Y}", []).append(i)
    common = {"title": config.status_page.title, "timezone": config.timezone,
              "now": now, "status": documents["status.json"]["status"]}
    written = []

    def write(relative: str, text: str) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        written.append(path)

    grouped: dict[str, list[dict[str, Any]]] = {}
    for component in components:  # in the config's order, ungrouped services first
        grouped.setdefault(component["group"] or "", []).append(component)
    from incidentbot.monitor import coverage

    covered = coverage(runs, now - timedelta(days=1), now) if runs else None
    write("index.html", env.get_template("index.html.j2").render(
        coverage=None if covered is None else f"{covered:.0%}",
        **common, base="", groups=sorted(grouped.items(), key=lambda kv: kv[0] != ""),
        maintenances=[m for m in maintenances if m.end > now],
        active=[i for i in incidents if i.resolved is None], months=months,
        last_run=last_run, delayed=delayed, intro=config.status_page.intro))
    for i in incidents:
        write(f"incidents/{i.number}.html", env.get_template("incident.html.j2").render(
            **common, base="../", incident=i))
    for name, document in documents.items():
        write(f"api/v2/{name}", json.dumps(document, indent=1, sort_keys=True) + "\n")
    for c in components:
        colour = BADGE_COLOURS.get(c["status"], "lightgrey")
        message = c["status"].replace("_", " ")
        write(f"badges/{c['slug']}.json", json.dumps(
            {"schemaVersion": 1, "label": c["name"], "message": message, "color": colour}))
        write(f"badges/{c['slug']}.svg", badge_svg(c["name"], message, colour))
    for name, document in upptime_files(config, data, now).items():
        write(name, json.dumps(document, indent=2) + "\n")
    write("feed.atom", atom(config, incidents, now))
    write("maintenance.ics", ical(config, maintenances, now))
    if config.status_page.cname:
        write("CNAME", config.status_page.cname + "\n")
    return written
