"""Upptime's files, exactly as Upptime writes them: `history/summary.json`
(upptime/uptime-monitor src/summary.ts) and the shields.io endpoints `api/<slug>/*.json`
(upptime/graphs src/index.ts), so badges and embeds made for Upptime keep working (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from incidentbot.model import Service
from incidentbot.monitor import Sample, uptime

# Upptime's windows: all, day, week, month (2,628,288 s), year; and the badge labels.
SPANS = (("", "", None), ("Day", "24h", timedelta(days=1)), ("Week", "7d", timedelta(days=7)),
         ("Month", "30d", timedelta(seconds=2_628_288)), ("Year", "1y", timedelta(days=365)))


def uptime_colour(percent: float) -> str:
    """upptime/graphs getUptimeColor."""
    for floor, colour in ((95, "brightgreen"), (90, "green"), (85, "yellowgreen"),
                          (80, "yellow"), (75, "orange")):
        if percent > floor:
            return colour
    return "red"


def response_colour(ms: int) -> str:
    """upptime/graphs getResponseTimeColor."""
    if ms == 0:
        return "red"
    for ceiling, colour in ((200, "brightgreen"), (400, "green"), (600, "yellowgreen"),
                            (800, "yellow"), (1000, "orange")):
        if ms < ceiling:
            return colour
    return "red"


def _number(percent: float) -> str:
    """JavaScript's `${parseFloat("99.60%")}`: 99.6, 100."""
    return f"{percent:.2f}".rstrip("0").rstrip(".")


def site_url(service: Service) -> str:
    """The service's address as Upptime's `url`: its first HTTP check's URL, unless that
    names an environment variable (a secret: never written)."""
    for check in service.checks:
        url = check.url or (f"{check.host}" if check.host else None)
        if url and "$" not in url:
            return url
    return ""


def files(services: Sequence[Service], samples: Mapping[str, Sequence[Sample]],
          states: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """`history/summary.json` and `api/<slug>/*.json` for the services with data (Upptime
    leaves out a site with no history yet)."""
    summary = []
    out: dict[str, Any] = {}
    for service in services:
        mine = samples.get(service.slug, ())
        if not mine:
            continue
        first = mine[0].t
        url = site_url(service)
        host = urlsplit(url if "://" in url else f"//{url}").hostname if url else None
        entry: dict[str, Any] = {
            "name": service.name, "url": url,
            "icon": f"https://icons.duckduckgo.com/ip3/{host}.ico" if host else "",
            "slug": service.slug, "status": states.get(service.slug, mine[-1].state)}
        badges: dict[str, Any] = {}
        for suffix, label, span in SPANS:
            start = max(first, now - span) if span else first
            window = [s for s in mine if s.t >= start - timedelta(minutes=10)]
            percent = uptime(window, start, now).percent
            percent = 100.0 if percent is None else percent
            times = [s.ms for s in window if s.ms is not None and s.t >= start]
            average = int(sum(times) / len(times)) if times else 0
            entry[f"uptime{suffix}"] = f"{percent:.2f}%"
            entry[f"time{suffix}"] = average
            key = f"-{suffix.lower()}" if suffix else ""
            badges[f"uptime{key}"] = {
                "schemaVersion": 1, "label": f"uptime {label}".strip(),
                "message": f"{_number(round(percent, 2))}%",
                "color": uptime_colour(round(percent, 2))}
            badges[f"response-time{key}"] = {
                "schemaVersion": 1, "label": f"response time {label}".strip(),
                "message": f"{average} ms", "color": response_colour(average)}
        entry["dailyMinutesDown"] = daily_minutes_down(mine, now)
        # Key order as Upptime's: name, url, icon, slug, status, uptime*, time*, daily…
        ordered = {k: entry[k] for k in ("name", "url", "icon", "slug", "status")}
        ordered.update({f"uptime{s}": entry[f"uptime{s}"] for s, _, _ in SPANS})
        ordered.update({f"time{s}": entry[f"time{s}"] for s, _, _ in SPANS})
        ordered["dailyMinutesDown"] = entry["dailyMinutesDown"]
        summary.append(ordered)
        for name, badge in badges.items():
            out[f"api/{service.slug}/{name}.json"] = badge
    out["history/summary.json"] = summary
    return out


def daily_minutes_down(samples: Sequence[Sample], now: datetime,
                       days: int = 365) -> dict[str, int]:
    """Minutes down per UTC day over the last year, only days with any (as Upptime)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=days - 1)
    buckets: dict[int, list[Sample]] = {}
    for s in samples:
        index = (s.t.astimezone(UTC) - first).days
        if -1 <= index < days:
            buckets.setdefault(index, []).append(s)
    out = {}
    for index in sorted(buckets):
        if index < 0 or not any(s.state == "down" for s in buckets[index]):
            continue
        start = first + timedelta(days=index)
        day = uptime([*buckets.get(index - 1, [])[-1:], *buckets[index]], start,
                     min(start + timedelta(days=1), now))
        minutes = round(day.down.total_seconds() / 60)
        if minutes:
            out[f"{start:%Y-%m-%d}"] = minutes
    return dict(sorted(out.items(), reverse=True))
