"""The status page's machine-readable files: Atlassian's Statuspage v2 JSON documents, Atom
feeds (the page's and one per component), shields.io badges and an iCalendar of maintenance
(pure: values in, text out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape as xml_escape

from incidentbot.core.config import Config

if TYPE_CHECKING:
    from incidentbot.core.render.publicincidents import Maintenance, PublicIncident

PAGE_ID = "incidentbot"
BADGE_COLOURS = {"operational": "brightgreen", "degraded_performance": "yellow",
                 "partial_outage": "orange", "major_outage": "red",
                 "under_maintenance": "blue"}


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def site_url(config: Config) -> str:
    """The page's public address without a trailing slash ("" when unknown): `url`, with
    `base_path` appended when `url` names only a host (https://acme.github.io + /status/)."""
    from urllib.parse import urlsplit

    url = (config.status_page.url or "").rstrip("/")
    if not url:
        return ""
    if urlsplit(url).path in {"", "/"}:
        url += config.status_page.base_path.rstrip("/")
    return url


def group_id(name: str) -> str:
    return "group-" + "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")


def documents(config: Config, components: Sequence[Mapping[str, Any]],
              incidents: Sequence[PublicIncident], now: datetime,
              maintenances: Sequence[Maintenance], status: Mapping[str, str]
              ) -> dict[str, Any]:
    """The Statuspage v2 documents, field names and enums as Atlassian's. Groups are
    components with `group: true` and the ids of their members, as Statuspage's."""
    base = site_url(config)
    page = {"id": PAGE_ID, "name": config.status_page.title, "url": base or "/",
            "time_zone": config.timezone, "updated_at": iso(now)}

    def entry(c: Mapping[str, Any], group: str | None) -> dict[str, Any]:
        # Stable from build to build: the first data and the last status change known
        # (the build's moment only for a component nothing is known of).
        created = c.get("created") or now
        return {"id": c["slug"], "name": c["name"], "status": c["status"],
                "created_at": iso(created), "updated_at": iso(c.get("changed") or created),
                "position": c["position"],
                "description": None, "showcase": True, "start_date": None,
                "group_id": group_id(group) if group else None, "page_id": PAGE_ID,
                "group": False, "only_show_if_degraded": False}

    comps = [entry(c, c["group"]) for c in components]
    by_id = {c["id"]: c for c in comps}
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for c in components:
        if c["group"]:
            groups.setdefault(c["group"], []).append(c)
    from incidentbot.core.render.statusbars import ORDER

    for position, (name, members) in enumerate(groups.items(), start=len(comps) + 1):
        worst = max((m["status"] for m in members), key=ORDER.index)
        created = [m["created"] for m in members if m.get("created")]
        changed = [m["changed"] for m in members if m.get("changed")]
        comps.append({**entry({"slug": group_id(name), "name": name, "status": worst,
                               "position": position,
                               "created": min(created, default=None),
                               "changed": max(changed, default=None)}, None),
                      "group": True, "components": [m["slug"] for m in members]})

    def incident(i: PublicIncident) -> dict[str, Any]:
        return {
            "id": str(i.number), "name": i.title, "status": i.word,
            "created_at": iso(i.opened), "updated_at": iso(i.updated),
            "monitoring_at": iso(i.monitoring_at), "resolved_at": iso(i.resolved),
            "impact": i.impact,
            "shortlink": f"{base}/incidents/{i.number}.html" if base else
            f"incidents/{i.number}.html",
            "started_at": iso(i.opened), "page_id": PAGE_ID,
            "incident_updates": [{
                "id": u.id, "status": u.word, "body": u.body, "incident_id": str(i.number),
                "created_at": iso(u.at), "updated_at": iso(u.at), "display_at": iso(u.at),
                "affected_components": None, "deliver_notifications": True,
                "custom_tweet": None, "tweet_id": None} for u in i.updates],
            "components": [by_id[s] for s in i.services if s in by_id],
        }

    def scheduled(m: Maintenance) -> dict[str, Any]:
        state = m.state(now)
        return {"id": f"m{m.number}", "name": m.title, "status": state,
                "created_at": iso(m.start), "updated_at": iso(now), "monitoring_at": None,
                "resolved_at": iso(m.end) if state == "completed" else None,
                "impact": "maintenance",
                "shortlink": f"{base}/maintenance/{m.number}.html" if base else
                f"maintenance/{m.number}.html",
                "started_at": iso(m.start), "page_id": PAGE_ID,
                "scheduled_for": iso(m.start), "scheduled_until": iso(m.end),
                "incident_updates": [],
                "components": [by_id[x] for x in m.services if x in by_id]}

    maint = [scheduled(m) for m in maintenances]
    unresolved = [incident(i) for i in incidents if i.resolved is None]
    return {
        "summary.json": {"page": page, "status": dict(status), "components": comps,
                         "incidents": unresolved,
                         "scheduled_maintenances": [m for m in maint
                                                    if m["status"] != "completed"]},
        "status.json": {"page": page, "status": dict(status)},
        "components.json": {"page": page, "components": comps},
        "incidents.json": {"page": page, "incidents": [incident(i) for i in incidents[:50]]},
        "incidents/unresolved.json": {"page": page, "incidents": unresolved},
        "scheduled-maintenances.json": {"page": page, "scheduled_maintenances": maint},
        "scheduled-maintenances/upcoming.json": {
            "page": page, "scheduled_maintenances": [m for m in maint
                                                     if m["status"] == "scheduled"]},
        "scheduled-maintenances/active.json": {
            "page": page, "scheduled_maintenances": [m for m in maint
                                                     if m["status"] == "in_progress"]},
    }


def badge_svg(label: str, message: str, colour: str) -> str:
    hexes = {"brightgreen": "#2da44e", "yellow": "#bf8700", "orange": "#d1640f",
             "red": "#cf222e", "blue": "#0969da", "lightgrey": "#8c959f"}
    lw, mw = 6 * len(label) + 12, 6 * len(message) + 12
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + mw}" height="20" '
            f'role="img" aria-label="{xml_escape(label)}: {xml_escape(message)}">'
            f'<title>{xml_escape(label)}: {xml_escape(message)}</title>'
            f'<rect width="{lw}" height="20" fill="#555"/>'
            f'<rect x="{lw}" width="{mw}" height="20" fill="{hexes.get(colour, "#8c959f")}"/>'
            '<g fill="#fff" font-family="Verdana,sans-serif" font-size="11">'
            f'<text x="6" y="14">{xml_escape(label)}</text>'
            f'<text x="{lw + 6}" y="14">{xml_escape(message)}</text></g></svg>\n')


def badge(c: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """A component's shields.io endpoint document and SVG, in the page's words."""
    colour = "lightgrey" if c["no_data"] else BADGE_COLOURS.get(c["status"], "lightgrey")
    message = c["word"].lower()
    return ({"schemaVersion": 1, "label": c["name"], "message": message, "color": colour},
            badge_svg(c["name"], message, colour))


def atom(config: Config, incidents: Sequence[PublicIncident], now: datetime, *,
         path: str = "feed.atom", title: str | None = None) -> str:
    """An Atom feed (RFC 4287): the feed's author, and each entry's summary the incident's
    latest update in words, with its public status."""
    base = site_url(config)
    feed_id = f"{base}/{path}" if base else f"urn:incidentbot:status:{path}"
    entries = []
    for i in incidents[:50]:
        link = f"{base}/incidents/{i.number}.html" if base else f"incidents/{i.number}.html"
        entry_id = link if base else f"urn:incidentbot:incident:{i.number}"
        latest = i.updates[0].body if i.updates else ""
        summary = f"{i.word.capitalize()}: {latest}" if latest else i.word.capitalize()
        if i.services_named:
            summary += f" (affects {', '.join(i.services_named)})"
        entries.append(
            f"<entry><id>{xml_escape(entry_id)}</id><title>{xml_escape(i.title)}</title>"
            f"<updated>{iso(i.updated)}</updated><published>{iso(i.opened)}</published>"
            f"<link rel=\"alternate\" href=\"{xml_escape(link)}\"/>"
            f"<summary>{xml_escape(summary)}</summary></entry>")
    name = xml_escape(config.status_page.title)
    self_link = f'<link rel="self" href="{xml_escape(feed_id)}"/>' if base else ""
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>{xml_escape(feed_id)}</id><title>{xml_escape(title or config.status_page.title)}"
            f"</title><updated>{iso(now)}</updated><author><name>{name}</name></author>"
            f"{self_link}{''.join(entries)}</feed>\n")


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
