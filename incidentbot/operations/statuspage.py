"""The public status page: a static site built from the monitor's data and public incidents.

No script runs in the visitor's browser: everything is in the files (HTML, the Atlassian
Statuspage v2 JSON API, shields.io badges, Atom feeds, Upptime's files, an iCalendar). Only
incidents marked `public` (and neither `private` nor `drill`) appear anywhere
(publicincidents.py); Jinja autoescapes HTML.

The cost of a build follows the page's window, not the history kept: the front page shows
90 days and one page of recent incidents; history pages are numbered from the oldest, so an
old page never changes, and a page whose inputs did not change since the last build (its
digest is in `.build.json`) is not rendered again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from incidentbot.adapters import daycache
from incidentbot.adapters.monitordata import DataDir
from incidentbot.core.config import Config
from incidentbot.core.health import coverage
from incidentbot.core.ports import Issue
from incidentbot.core.render import statusapi, statusbars, upptimeapi
from incidentbot.core.render.daystats import DayStats
from incidentbot.core.render.publicincidents import (
    MAINTENANCE_LABEL,
    Maintenance,
    PublicIncident,
    maintenance,
    public_incidents,
)
from incidentbot.core.render.publicupdates import Update, public_update
from incidentbot.core.text import templates_dir

__all__ = ["MAINTENANCE_LABEL", "Maintenance", "PublicIncident", "build",
           "maintenance", "public_incidents", "public_update"]

TEMPLATES = templates_dir() / "status"
YEAR = 366  # days of data read: Upptime's 1-year figures
RECENT = timedelta(days=7)  # resolved incidents listed on the front page
MANIFEST = ".build.json"


@dataclass
class _Writer:
    """Writes files under `root`; a page whose digest is unchanged and whose file exists is
    left alone (and not even rendered, when the caller asks `fresh` first)."""

    root: Path
    previous: dict[str, str]
    digests: dict[str, str] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    folders: set[Path] = field(default_factory=set)

    def fresh(self, relative: str, digest: str) -> bool:
        self.digests[relative] = digest
        if self.previous.get(relative) == digest and (self.root / relative).exists():
            return True
        return False

    def write(self, relative: str, text: str) -> None:
        self.digests.setdefault(relative, "-")  # made by this build, rendered every time
        path = self.root / relative
        if path.parent not in self.folders:  # one mkdir per folder, not per file
            path.parent.mkdir(parents=True, exist_ok=True)
            self.folders.add(path.parent)
        path.write_text(text, "utf-8")
        self.written.append(path)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


INPUTS = "<inputs>"  # the manifest's entry for what the whole build was made from


def _inputs(config: Config, data: DataDir, issues: Sequence[Issue],
            updates: Mapping[int, Sequence[Update]], maintenances: Sequence[Maintenance],
            now: datetime) -> str:
    """A digest of everything a build reads: the configuration and templates, the data's
    files (by name and size: they are only ever appended to or replaced under a new name),
    the issues as listed, their updates, maintenance and the moment."""
    files = []
    for folder in [data.root / s.slug for s in config.services] + [data.root / "runs"]:
        if folder.is_dir():
            files += sorted((p.name, p.stat().st_size) for p in folder.iterdir())
    for extra in (data.root / "runs.ndjson", _logo_source(config)):
        if extra is not None and extra.is_file():
            files.append((extra.name, extra.stat().st_size))
    state = data.root / "state.json"
    return _digest(config, _templates(), now, files,
                   state.read_bytes() if state.exists() else b"",
                   [(i.number, i.title, i.state, i.labels, i.created_at, i.updated_at,
                     i.closed_at) for i in issues],
                   sorted((n, tuple(said)) for n, said in updates.items()), maintenances)


def _templates() -> str:
    return _digest(*(p.read_text("utf-8") for p in sorted(TEMPLATES.glob("*.j2"))))


def _environment(config: Config) -> Any:
    from zoneinfo import ZoneInfo

    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from incidentbot.core.render.messages import duration

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"]))
    zone = ZoneInfo(config.timezone)

    def when(moment: datetime) -> str:
        """`2026-11-22 10:00 UTC (11:00 CET)`: UTC, and the team's time where it differs."""
        utc = moment.astimezone(UTC)
        local = utc.astimezone(zone)
        shown = f"{utc:%Y-%m-%d %H:%M} UTC"
        return shown if local.utcoffset() == timedelta(0) else \
            f"{shown} ({local:%H:%M %Z})"

    def span(delta: timedelta) -> str:
        """42 min, 3 h 5 min, 2 d 1 h."""
        text = duration(delta)
        return (text.replace("d ", " d ").replace("h ", " h ").replace("m", " min")
                .replace(" 0 min", "").replace(" 0h", "")) if delta else "0 min"

    env.filters["when"] = when
    env.filters["span"] = span
    return env


def _stamp(text: str) -> datetime | None:
    """A state's `since` (None when unknown or unreadable)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _logo_source(config: Config) -> Path | None:
    """The logo's file next to incidentbot.yml (None for none, or a URL)."""
    logo = config.status_page.logo
    if not logo or logo.startswith(("http://", "https://")):
        return None
    folder = Path(config.source).parent if not config.source.startswith("(") else Path.cwd()
    return folder / logo


def _logo(config: Config, writer: _Writer) -> str | None:
    """The logo's address from the pages at the site's root: a URL as it is, a file next
    to incidentbot.yml copied into the site (config.check refused anything else)."""
    logo = config.status_page.logo
    source = _logo_source(config)
    if not logo:
        return None
    if source is None:
        return logo
    if not source.is_file():
        raise ValueError(f"status_page.logo: {logo!r} does not exist next to "
                         f"{config.source}")
    target = f"assets/{source.name}"
    (writer.root / "assets").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, writer.root / target)
    writer.digests[target] = "-"
    return target


def build(config: Config, data: DataDir, issues: Sequence[Issue], out: str | Path, *,
          now: datetime | None = None,
          updates: Mapping[int, Sequence[Update]] | None = None,
          maintenances: Sequence[Maintenance] = (),
          reads: daycache.Reads | None = None) -> list[Path]:
    """Write the site under `out`; the files written (unchanged pages are not rewritten)."""
    now = now or datetime.now(UTC)
    reads = reads if reads is not None else daycache.Reads()
    root = Path(out)
    try:
        previous = json.loads((root / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        previous = {}
    writer = _Writer(root, previous if isinstance(previous, dict) else {})
    # The site is a function of these inputs: when none changed (not even the moment) and
    # every file the last build made is there, there is nothing to write.
    inputs = _inputs(config, data, issues, updates or {}, maintenances, now)
    if writer.previous.get(INPUTS) == inputs and all(
            (root / relative).is_file() for relative in writer.previous if relative != INPUTS):
        return []
    writer.digests[INPUTS] = inputs
    incidents = public_incidents(issues, config, updates)
    unresolved = [i for i in incidents if i.resolved is None]
    services = [s for s in config.services if s.public and not s.private]
    saved = data.states()
    states = {slug: s.state for slug, s in saved.items()}
    stats: dict[str, DayStats] = {}
    components = []
    # Each window's first day is read sample by sample; every other day is its kept sum.
    cuts = [now - span for _, span in statusbars.WINDOWS] + \
        [now - span for _, _, span in upptimeapi.SPANS if span is not None]
    for position, service in enumerate(services, start=1):
        stats[service.slug] = daycache.service_stats(
            data.root, service.slug, now, YEAR, cuts=cuts, reads=reads,
            excluded=[(m.start, m.end) for m in maintenances if service.slug in m.services])
        latest = stats[service.slug].latest
        check_state = states.get(service.slug) or (latest.state if latest else None)
        components.append(statusbars.component(
            config, position, service.slug, service.name, service.group,
            stats[service.slug], check_state, now, incidents, maintenances,
            since=_stamp(saved[service.slug].since) if service.slug in saved else None))
    maintenance_now = any(m.active(now) for m in maintenances)
    indicator, description = statusbars.indicator(components, unresolved, maintenance_now)
    status = {"indicator": indicator, "description": description}
    env = _environment(config)
    templates = _templates()
    logo = _logo(config, writer)
    common = {"title": config.status_page.title, "timezone": config.timezone,
              "navbar": config.status_page.navbar, "logo": logo,
              "canonical": statusapi.site_url(config)}
    site_digest = _digest(templates, common, config.status_page.statuses)

    def page(relative: str, template: str, digest: str | None, **values: Any) -> None:
        if digest is not None and writer.fresh(relative, _digest(site_digest, digest)):
            return
        depth = relative.count("/")
        writer.write(relative, env.get_template(template).render(
            **{**common, "base": "../" * depth, "now": None, **values}))

    # History: resolved incidents, oldest first, in pages that never change once full.
    per_page = config.status_page.history_per_page
    past = sorted((i for i in incidents if i.resolved is not None),
                  key=lambda i: (i.opened, i.number))
    pages = max(1, -(-len(past) // per_page))
    for n in range(1, pages + 1):
        chunk = past[(n - 1) * per_page:n * per_page][::-1]
        page(f"history/{n}.html", "history.html.j2", _digest(chunk, n, pages == n),
             items=chunk, number=n, pages=pages)
    for i in incidents:
        page(f"incidents/{i.number}.html", "incident.html.j2", _digest(i), incident=i)
    for m in maintenances:
        page(f"maintenance/{m.number}.html", "maintenance.html.j2",
             _digest(m, m.state(now)), m=m, state=m.state(now))
    for c in components:
        page(f"services/{c['slug']}.html", "service.html.j2", None, c=c, now=now,
             past=[i for i in incidents if c["slug"] in i.services][:20])

    groups: dict[str, list[dict[str, Any]]] = {}
    for component in components:  # in the config's order, ungrouped services first
        groups.setdefault(component["group"] or "", []).append(component)
    runs = data.runs()
    last_run = runs[-1][0] if runs else None
    delayed = last_run is not None and now - last_run > timedelta(seconds=runs[-1][1] * 3)
    covered = coverage(runs, now - timedelta(days=1), now) if runs else None
    recent_past = [i for i in incidents if i.resolved is not None
                   and now - i.resolved <= RECENT][:per_page]
    writer.write("index.html", env.get_template("index.html.j2").render(
        **common, base="", now=now, status=status, legend=statusbars.GRADES,
        coverage=None if covered is None else f"{covered:.0%}", last_run=last_run,
        delayed=delayed, intro=config.status_page.intro,
        groups=sorted(groups.items(), key=lambda kv: kv[0] != ""),
        maintenances=[m for m in maintenances if m.end > now], active=unresolved,
        recent=recent_past, history_pages=pages if past else 0))

    documents = statusapi.documents(config, components, incidents, now, maintenances, status)
    for name, document in documents.items():
        writer.write(f"api/v2/{name}", json.dumps(document, indent=1, sort_keys=True) + "\n")
    for c in components:
        endpoint, svg = statusapi.badge(c)
        writer.write(f"badges/{c['slug']}.json", json.dumps(endpoint))
        writer.write(f"badges/{c['slug']}.svg", svg)
        writer.write(f"feeds/{c['slug']}.atom", statusapi.atom(
            config, [i for i in incidents if c["slug"] in i.services], now,
            path=f"feeds/{c['slug']}.atom", title=f"{config.status_page.title}: {c['name']}"))
    for name, document in upptimeapi.files(services, stats, states, now).items():
        writer.write(name, json.dumps(document, indent=2) + "\n")
    writer.write("feed.atom", statusapi.atom(config, incidents, now))
    writer.write("maintenance.ics", statusapi.ical(config, maintenances, now))
    if config.status_page.cname:
        writer.write("CNAME", config.status_page.cname + "\n")
    # What the last build made and this one did not (an incident made private, a service
    # removed) must not stay published.
    for relative in sorted(set(writer.previous) - set(writer.digests) - {MANIFEST}):
        stale = root / relative
        if stale.is_file() and stale.resolve().is_relative_to(root.resolve()):
            stale.unlink()
    writer.write(MANIFEST, json.dumps(writer.digests, indent=0, sort_keys=True) + "\n")
    return writer.written
