"""Incident metrics: counts and response times per month, severity and service, with charts.

Pure: `Record`s in, Markdown and SVG out. `gather` reads them from the issues (two calls per
incident: events and comments). Drills are left out. Charts are small hand-written SVG: two
chart kinds with fixed layouts do not need a plotting library's weight in every Actions run,
the output is byte-stable (so REPORT.md diffs stay readable), and GitHub renders it inline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

from incidentbot.core import facts, health, names
from incidentbot.core.config import Config
from incidentbot.core.facts import known_person
from incidentbot.core.ports import IssueTracker
from incidentbot.core.render.messages import duration
from incidentbot.core.text import html_text, markdown_cell
from incidentbot.operations import reading

PALETTE = ("#b60205", "#d93f0b", "#fbca04", "#0e8a16", "#1d76db", "#5319e7", "#bfdadc")


@dataclass(frozen=True, slots=True)
class Record:
    number: int
    opened: datetime
    severity: str
    services: tuple[str, ...]
    acknowledge: timedelta | None
    mitigate: timedelta | None
    resolve: timedelta | None
    needs_postmortem: bool
    postmortem_done: bool

    @property
    def month(self) -> str:
        return f"{self.opened:%Y-%m}"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low, high = math.floor(k), math.ceil(k)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    count: int
    acknowledge: tuple[float | None, float | None]  # median, p90 in minutes
    mitigate: tuple[float | None, float | None]
    resolve: tuple[float | None, float | None]
    postmortems: tuple[int, int]  # done, needed


def _minutes(values: Iterable[timedelta | None]) -> list[float]:
    return [v.total_seconds() / 60 for v in values if v is not None]


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    return (median(values) if values else None, percentile(values, 90))


def row(key: str, records: Sequence[Record]) -> Row:
    needed = [r for r in records if r.needs_postmortem]
    return Row(key, len(records),
               _stats(_minutes(r.acknowledge for r in records)),
               _stats(_minutes(r.mitigate for r in records)),
               _stats(_minutes(r.resolve for r in records)),
               (sum(r.postmortem_done for r in needed), len(needed)))


def group(records: Sequence[Record], by: str) -> list[Row]:
    buckets: dict[str, list[Record]] = {}
    for r in records:
        keys = {"month": [r.month], "severity": [r.severity],
                "service": list(r.services) or ["(none)"]}[by]
        for key in keys:
            buckets.setdefault(key, []).append(r)
    return [row(k, buckets[k]) for k in sorted(buckets)]


def _fmt(minutes: float | None) -> str:
    return "—" if minutes is None else duration(timedelta(minutes=minutes))


def table(rows: Sequence[Row], heading: str) -> list[str]:
    lines = [f"| {heading} | Incidents | Acknowledge (median / p90) | Mitigate (median / p90) "
             "| Resolve (median / p90) | Postmortems |",
             "| --- | ---: | --- | --- | --- | --- |"]
    for r in rows:
        done, needed = r.postmortems
        rate = f"{done}/{needed} ({100 * done // needed}%)" if needed else "—"
        lines.append(f"| {markdown_cell(r.key)} | {r.count} | {_fmt(r.acknowledge[0])} / "
                     f"{_fmt(r.acknowledge[1])} | {_fmt(r.mitigate[0])} / "
                     f"{_fmt(r.mitigate[1])} | {_fmt(r.resolve[0])} / {_fmt(r.resolve[1])} "
                     f"| {rate} |")
    return lines


def report(records: Sequence[Record], *, open_action_items: int, since: str | None,
           generated: datetime) -> str:
    """incidents/REPORT.md."""
    lines = ["# Incident report", "",
             f"Incidents{f' since {since}' if since else ''}, drills left out. Generated "
             f"{generated:%Y-%m-%d %H:%M} UTC by `incidentbot report`.", ""]
    if not records:
        return "\n".join([*lines, "No incidents. :tada:", ""])
    total = row("all", records)
    done, needed = total.postmortems
    noun = "incident" if total.count == 1 else "incidents"
    lines += [f"- **{total.count}** {noun}; median time to resolve "
              f"**{_fmt(total.resolve[0])}** (p90 {_fmt(total.resolve[1])})",
              f"- Postmortems written: **{done} of {needed}** that needed one",
              f"- Open action items: **{open_action_items}** (label `incident-followup`)", "",
              "![Incidents per month by severity](report/incidents-per-month.svg)", "",
              "![Time to resolve per month](report/mttr.svg)", "",
              "## By month", "", *table(group(records, "month"), "Month"), "",
              "## By severity", "", *table(group(records, "severity"), "Severity"), "",
              "## By service", "", *table(group(records, "service"), "Service"), ""]
    return "\n".join(lines)


# -- charts -------------------------------------------------------------------------------
W, H, PAD = 640, 260, 40


def _svg(body: list[str], title: str) -> str:
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{html_text(title)}" '
        'font-family="-apple-system,Segoe UI,Helvetica,Arial,sans-serif" font-size="11">',
        f"<title>{html_text(title)}</title>",
        f'<rect width="{W}" height="{H}" fill="#ffffff"/>',
        *body, "</svg>", ""])


def incidents_per_month(records: Sequence[Record], severities: Sequence[str]) -> str:
    """Stacked bars: incidents per month, coloured by severity."""
    months = sorted({r.month for r in records})
    counts = {(m, s): 0 for m in months for s in severities}
    for r in records:
        counts[(r.month, r.severity)] = counts.get((r.month, r.severity), 0) + 1
    peak = max([sum(counts.get((m, s), 0) for s in severities) for m in months] or [1])
    plot_w, plot_h = W - 2 * PAD, H - 2 * PAD - 20
    step = plot_w / max(len(months), 1)
    body = [f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#888"/>']
    for i, month in enumerate(months):
        y: float = H - PAD
        for j, sev in enumerate(severities):
            n = counts.get((month, sev), 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            body.append(f'<rect x="{PAD + i * step + step * 0.15:.1f}" y="{y:.1f}" '
                        f'width="{step * 0.7:.1f}" height="{h:.1f}" '
                        f'fill="{PALETTE[j % len(PALETTE)]}"><title>{html_text(month)} '
                        f'{html_text(sev)}: {n}</title></rect>')
        body.append(f'<text x="{PAD + i * step + step / 2:.1f}" y="{H - PAD + 14}" '
                    f'text-anchor="middle">{html_text(month)}</text>')
    for j, sev in enumerate(severities):
        body.append(f'<rect x="{PAD + j * 70}" y="8" width="10" height="10" '
                    f'fill="{PALETTE[j % len(PALETTE)]}"/><text x="{PAD + j * 70 + 14}" '
                    f'y="17">{html_text(sev)}</text>')
    body.append(f'<text x="{PAD - 6}" y="{PAD + 14}" text-anchor="end">{peak}</text>')
    return _svg(body, "Incidents per month by severity")


def mttr_trend(records: Sequence[Record]) -> str:
    """A line: median time to resolve per month, in hours."""
    points = []
    for r in group(records, "month"):
        if r.resolve[0] is not None:
            points.append((r.key, r.resolve[0] / 60))
    peak = max([p for _, p in points] or [1.0]) or 1.0
    plot_w, plot_h = W - 2 * PAD, H - 2 * PAD - 20
    step = plot_w / max(len(points) - 1, 1)
    coords = [(PAD + i * step, H - PAD - plot_h * v / peak) for i, (_, v) in enumerate(points)]
    body = [f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#888"/>',
            '<text x="40" y="17">Median time to resolve (hours)</text>']
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="#1d76db" '
                    'stroke-width="2"/>')
    for (x, y), (month, value) in zip(coords, points, strict=True):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1d76db">'
                    f'<title>{html_text(month)}: {value:.1f} h</title></circle>')
        body.append(f'<text x="{x:.1f}" y="{H - PAD + 14}" text-anchor="middle">'
                    f'{html_text(month)}</text>')
    body.append(f'<text x="{PAD - 6}" y="{PAD + 14}" text-anchor="end">{peak:.1f}</text>')
    return _svg(body, "Median time to resolve per month")


def internal_page(markdown_report: str, charts: dict[str, str]) -> str:
    """A self-contained HTML page of the report, for the internal site (never the public)."""
    rows = "".join(f"<figure>{svg}</figure>" for svg in charts.values())
    text = html_text(markdown_report)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<meta name=\"robots\" content=\"noindex\"><title>Incident report (internal)"
            "</title><style>body{font:14px/1.5 system-ui,sans-serif;max-width:60rem;"
            "margin:2rem auto;padding:0 1rem}pre{white-space:pre-wrap}svg{max-width:100%;"
            "height:auto}</style></head><body><h1>Incident report (internal)</h1>"
            f"{rows}<pre>{text}</pre></body></html>\n")


# -- gathering ------------------------------------------------------------------------------
def gather(t: IssueTracker, config: Config, *, since: datetime | None) -> list[Record]:
    """Records of every incident opened since `since`, drills and false alarms left out,
    from the issues: per
    incident its events and comments, and for those that need a postmortem whether it is on
    the default branch (merged)."""
    from incidentbot.core import timeline as tl
    from incidentbot.core.model import read_labels
    from incidentbot.operations import evidence

    records = []
    default_branch: str | None = None
    name_of = evidence.person_name(config, None)  # alice on the CLI is U0ALICE on Slack
    for issue in t.list_incidents(state="all"):
        if since is not None and issue.created_at < since:
            continue
        fields = read_labels(issue.labels, config.severities,
                             issue_closed=issue.state == "closed")
        if fields.drill:
            continue
        if issue.state_reason == "not_planned":
            continue  # a false alarm: in the record, not in the figures
        snap = reading.read(t, issue.number, config)
        events = [tl.Event(e.created_at, e.kind, e.actor, label=e.label)
                  for e in t.events(issue.number)]
        events += evidence.comment_events(snap.comments, snap.writers, config,
                                           with_pins=True)
        started = health.first_failure(issue.body, (), issue.created_at) \
            if fields.auto else None
        opener = facts.opener(issue, fields, snap.writers, snap.card.reporter)
        built = tl.build(opened=issue.created_at, reporter=opener.who, opened_via=opener.via,
                         events=events, messages=[], bots=snap.bot_logins,
                         closed=issue.closed_at, started=started, name_of=name_of,
                         changes=evidence.changes(snap.card.history, config, name_of),
                         kinds=evidence.label_kinds(config),
                         is_person=known_person(config),
                         close_reason=issue.state_reason or "")
        figures = built.figures
        severity = config.severity(fields.severity) if fields.severity else None
        done = False
        if severity is not None and severity.postmortem:
            default_branch = default_branch or t.default_branch()
            path = names.postmortem_path(config.postmortem.directory, issue.created_at,
                                         snap.card.name)
            done = t.read_file(path, default_branch) is not None
        records.append(Record(
            number=issue.number, opened=issue.created_at,
            severity=severity.name if severity else "unrated", services=fields.services,
            acknowledge=figures.time_to_acknowledge, mitigate=figures.time_to_mitigate,
            resolve=figures.time_to_resolve,
            needs_postmortem=bool(severity and severity.postmortem),
            postmortem_done=done))
    return records


def write_report(t: IssueTracker, config: Config, *, out_dir: Path, internal_dir: Path,
                 since: datetime | None, now: datetime) -> tuple[int, Path, Path]:
    """Gather and write incidents/REPORT.md, its charts and the internal page; returns (how
    many incidents, the report, the page). `incidentbot report` and the schedule call it."""
    from incidentbot.operations.postmortem import FOLLOWUP_LABEL

    records = gather(t, config, since=since)
    open_items = len(t.list_labelled(FOLLOWUP_LABEL, state="open"))
    text = report(records, open_action_items=open_items,
                  since=f"{since:%Y-%m-%d}" if since else None, generated=now)
    charts = {
        "incidents-per-month.svg": incidents_per_month(
            records, [s.name for s in config.severities]),
        "mttr.svg": mttr_trend(records),
    }
    base = out_dir / config.postmortem.directory
    (base / "report").mkdir(parents=True, exist_ok=True)
    (base / "REPORT.md").write_text(text, "utf-8")
    for name, svg in charts.items():
        (base / "report" / name).write_text(svg, "utf-8")
    internal_dir.mkdir(parents=True, exist_ok=True)
    (internal_dir / "report.html").write_text(internal_page(text, charts), "utf-8")
    return len(records), base / "REPORT.md", internal_dir / "report.html"
