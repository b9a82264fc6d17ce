"""Upptime's files, exactly as Upptime writes them: `history/summary.json`
(upptime/uptime-monitor src/summary.ts) and the shields.io endpoints `api/<slug>/*.json`
(upptime/graphs src/index.ts), so badges and embeds made for Upptime keep working (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from incidentbot.core.model import Service
from incidentbot.core.render.daystats import DayStats

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


def files(services: Sequence[Service], stats: Mapping[str, DayStats],
          states: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """`history/summary.json` and `api/<slug>/*.json` for the services with data (Upptime
    leaves out a site with no history yet)."""
    summary = []
    out: dict[str, Any] = {}
    for service in services:
        mine = stats.get(service.slug)
        filled = sorted(i for i in mine.lasts if i >= 0) if mine else []
        first = mine.first_sample if mine else None
        if mine is None or not filled or first is None:
            continue
        latest = mine.lasts[filled[-1]]
        url = site_url(service)
        host = urlsplit(url if "://" in url else f"//{url}").hostname if url else None
        entry: dict[str, Any] = {
            "name": service.name, "url": url,
            "icon": f"https://icons.duckduckgo.com/ip3/{host}.ico" if host else "",
            "slug": service.slug, "status": states.get(service.slug, latest.state)}
        for suffix, label, span in SPANS:
            start = max(first, now - span) if span else first
            percent = mine.window(start).percent
            percent = 100.0 if percent is None else percent
            average = mine.average_ms(start)
            entry[f"uptime{suffix}"] = f"{percent:.2f}%"
            entry[f"time{suffix}"] = average
            key = f"-{suffix.lower()}" if suffix else ""
            out[f"api/{service.slug}/uptime{key}.json"] = {
                "schemaVersion": 1, "label": f"uptime {label}".strip(),
                "message": f"{_number(round(percent, 2))}%",
                "color": uptime_colour(round(percent, 2))}
            out[f"api/{service.slug}/response-time{key}.json"] = {
                "schemaVersion": 1, "label": f"response time {label}".strip(),
                "message": f"{average} ms", "color": response_colour(average)}
        # Key order as Upptime's: name, url, icon, slug, status, uptime*, time*, daily…
        entry = {**{k: entry[k] for k in ("name", "url", "icon", "slug", "status")},
                 **{f"uptime{x}": entry[f"uptime{x}"] for x, _, _ in SPANS},
                 **{f"time{x}": entry[f"time{x}"] for x, _, _ in SPANS}}
        entry["dailyMinutesDown"] = {
            f"{mine.first + timedelta(days=i):%Y-%m-%d}": minutes
            for i in range(len(mine.totals) - 1, -1, -1)
            if (minutes := round(mine.totals[i].down.total_seconds() / 60))}
        summary.append(entry)
    out["history/summary.json"] = summary
    return out
