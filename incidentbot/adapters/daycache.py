"""Each service's day sums kept beside the monitor's data, so a page build reads samples
only for the days a figure cuts into, whatever the history kept.

`<data>/.pagecache/days/<slug>.json` holds, for each data file the sums were made from (by
name and size: a finished day's file and a compacted month never change, today's file
grows), the `DaySum` of each finished day in it. A build reads the files that changed since
(today's, a newly compacted month) and, sample by sample, only today, yesterday, the first
day of each window and days with maintenance (daystats.cut_days); every other day is its
sum. The file is rewritten only when a sum was added or dropped (about once a day), so the
data branch's pushes stay small; a missing or unreadable cache is rebuilt from the data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from incidentbot.adapters import datastore
from incidentbot.core.health import Sample
from incidentbot.core.render.daystats import (
    DAY,
    DayStats,
    DaySum,
    assemble,
    cut_days,
    day_sum,
    window_start,
)

CACHE = ".pagecache/days"
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.ndjson$")
VERSION = 1


@dataclass
class Reads:
    """What one build read: files opened, and days summed or read sample by sample."""

    files: int = 0
    summed: int = 0
    sampled: int = 0
    rewritten: list[str] = field(default_factory=list)


def _load(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("v") != VERSION:
        return {}
    return document


def _valid(entry: Any, size: int, low: str, high: str) -> bool:
    """A file's kept sums still hold: same size, made from early enough, and no day that was
    today then (never summed) is over now."""
    return (isinstance(entry, dict) and entry.get("size") == size
            and isinstance(entry.get("days"), dict) and str(entry.get("from")) <= low
            and not any(row is None and day < high for day, row in entry["days"].items()))


def service_stats(root: Path, slug: str, now: datetime, days: int, *,
                  cuts: Sequence[datetime] = (),
                  excluded: Sequence[tuple[datetime, datetime]] = (),
                  reads: Reads | None = None) -> DayStats:
    """The service's DayStats over the last `days` days, as daystats.day_stats would make
    them from every sample, from the kept sums and the few days read."""
    reads = reads if reads is not None else Reads()
    first = window_start(now, days)
    origin = first.timestamp()
    today = days - 1
    floor = f"{first - timedelta(days=1):%Y-%m}"
    low, high = f"{first - timedelta(days=1):%Y-%m-%d}", f"{now.astimezone(UTC):%Y-%m-%d}"
    cache_path = root / CACHE / f"{slug}.json"
    document = _load(cache_path)
    kept: dict[str, Any] = document.get("files") or {}
    kept_raw: dict[str, Any] = document.get("raw") or {}
    if not isinstance(kept, dict) or not isinstance(kept_raw, dict):
        kept, kept_raw = {}, {}
    fresh: dict[str, Any] = {}
    sums: dict[int, DaySum] = {}
    sources: dict[int, list[str]] = {}  # day -> the files holding its samples
    paths: dict[str, Path] = {}
    sizes: dict[str, int] = {}
    loaded: dict[str, datastore.Columns] = {}  # files read
    for month, path in datastore.month_files(root / slug):
        if month < floor:
            continue
        name, size = path.name, path.stat().st_size
        paths[name], sizes[name] = path, size
        entry: Any = kept.get(name)
        if not _valid(entry, size, low, high):
            reads.files += 1
            loaded[name] = datastore.columns(path)
            entry = {"size": size, "from": low, "days": _sums(loaded[name], first, today)}
        if any(row is not None for row in entry["days"].values()):
            fresh[name] = entry  # today's file alone is read every build: never kept
        for day, row in entry["days"].items():
            index = (datetime.fromisoformat(day).replace(tzinfo=UTC) - first).days
            if -1 <= index < days:
                sources.setdefault(index, []).append(name)
                if row is not None:
                    sums[index] = DaySum.of_row(row)
    # A day split over two files (a layout change, a late write) is read sample by sample.
    split = {i for i, names in sources.items() if len(names) > 1}
    wanted = cut_days(first, days, now, cuts, excluded) | split | {
        i for i in sources if i >= today}
    first_day = min((i for i in sources if i >= 0), default=None)
    if first_day is not None:
        wanted.add(first_day)  # Upptime's all-time figures start at the first sample
    wanted = {i for i in wanted if i in sources}
    rows: dict[int, list[list[Any]]] = {}
    unread: dict[str, set[int]] = {}
    for index in wanted:
        day = f"{first + timedelta(days=index):%Y-%m-%d}"
        files = [[n, sizes[n]] for n in sorted(sources[index])]
        hit = kept_raw.get(day)
        if index < today and isinstance(hit, dict) and hit.get("files") == files:
            rows[index] = hit["rows"]
        else:
            for n in sources[index]:
                unread.setdefault(n, set()).add(index)
    for name, indexes in sorted(unread.items()):
        if name not in loaded:
            reads.files += 1
            loaded[name] = datastore.columns(paths[name])
        times, states, codes, ms = loaded[name]
        for k, t in enumerate(times):
            index = int((t - origin) // DAY)
            if index in indexes:
                rows.setdefault(index, []).append([t, states[k], codes[k], ms[k]])
    raw = {i: [Sample(datetime.fromtimestamp(t, UTC), state, code, ms)
               for t, state, code, ms in sorted(found, key=lambda x: x[0])]
           for i, found in rows.items()}
    reads.sampled += len(raw)
    reads.summed += len([i for i in sums if i not in raw and i >= 0])
    # The samples of the finished days read from a month's file are kept too (a day's own
    # file is quick to read again): the windows' first days move once a day, so the next
    # builds decode no month for them.
    fresh_raw = {f"{first + timedelta(days=i):%Y-%m-%d}": {
        "files": [[n, sizes[n]] for n in sorted(sources[i])],
        "rows": sorted(rows[i], key=lambda x: x[0])} for i in sorted(rows)
        if i < today and not all(_DAY_FILE.match(n) for n in sources[i])}
    if fresh != kept or fresh_raw != kept_raw:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps({"v": VERSION, "files": fresh, "raw": fresh_raw},
                                         separators=(",", ":")), "utf-8")
        reads.rewritten.append(slug)
    return assemble(first, now, days, {i: s for i, s in sums.items() if i not in raw}, raw)


def _sums(found: datastore.Columns, first: datetime,
          today: int) -> dict[str, list[object] | None]:
    """The sums of the finished days of one file's samples (from the day before `first`);
    None for today and later, which are never kept."""
    times, states, _, ms = found
    origin = first.timestamp()
    by_day: dict[int, list[int]] = {}
    for k, t in enumerate(times):
        index = int((t - origin) // DAY)
        if index >= -1:
            by_day.setdefault(index, []).append(k)
    out: dict[str, list[object] | None] = {}
    for index, ks in sorted(by_day.items()):
        day = f"{first + timedelta(days=index):%Y-%m-%d}"
        if index >= today:
            out[day] = None
            continue
        ks.sort(key=times.__getitem__)
        out[day] = day_sum(origin + index * DAY, [times[k] for k in ks],
                           [states[k] for k in ks], [ms[k] for k in ks]).row()
    return out
