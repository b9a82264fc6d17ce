"""The health-check history on disk: day files appended while the month runs, compacted
into one file once the month is over, so a year of 5-minute runs stays a few megabytes.

Layout of the data directory (a checkout of the data branch)::

    <slug>/<YYYY-MM-DD>.ndjson  a day of the month that runs: one line per run, appended
    <slug>/<YYYY-MM>.json.gz    a finished month: columns, gzip (written once, at compaction)
    <slug>/<YYYY-MM>.ndjson     the old layout's month file: read, and compacted when over
    runs/<YYYY-MM-DD>.ndjson    one line per run; runs/<YYYY-MM>.json.gz once finished
    runs.ndjson                 the old single runs file: read, and moved into runs/ on write
    state.json                  the hysteresis state (monitor.py)
    page.json                   what the last status page was built from (periodic.py)
    .pagecache/                 what page builds keep between runs: each service's day sums
                                (daycache.py) and the page's incidents (pagecache.py)

Why a file per day: a run changes only today's files, so each push of the data branch sends
a few kilobytes per service, and a finished day is never rewritten. Appending to a month
file would make every push send each whole month file again: git finds no delta base for it
among fifty files of the same name and size.

A compacted month keeps every sample's time (seconds), state, HTTP code and response time:
what the readers use. A sample's `run` and `where` are the same as its run's line at the
same time in runs/, so they are kept there, once per run rather than once per service.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

RUNS = "runs"
OLD_RUNS = "runs.ndjson"
VERSION = 1
_FILE = re.compile(r"^(\d{4}-\d{2})(-\d{2})?\.(ndjson|json\.gz)$")
_SAMPLE_COLUMNS = ("state", "code", "ms")
_RUN_COLUMNS = ("run", "where", "expected_interval_s")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def append(path: Path, record: Mapping[str, Any]) -> Path:
    """One NDJSON line at the end of `path` (created with its directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return path


def month_files(directory: Path) -> list[tuple[str, Path]]:
    """(YYYY-MM, path) of the data files in `directory`, oldest first: within a month the
    compacted file, then the old layout's month file, then the days."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        m = _FILE.match(path.name)
        if m is None or (m.group(2) and m.group(3) != "ndjson"):
            continue
        rank = 0 if m.group(3) == "json.gz" else 2 if m.group(2) else 1
        found.append((m.group(1), rank, path.name, path))
    return [(month, path) for month, _, _, path in sorted(found)]


def day_file(directory: Path, moment: datetime) -> Path:
    """Where a record of `moment` is appended."""
    return directory / f"{moment.astimezone(UTC):%Y-%m-%d}.ndjson"


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if isinstance(record, dict):
                yield record


def _columns(path: Path) -> Iterator[dict[str, Any]]:
    document = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    if document.get("v") != VERSION:
        raise ValueError(f"{path}: unknown compacted format {document.get('v')!r}")
    moment = int(document["t0"])
    names = [n for n in document if n not in {"v", "kind", "month", "t0", "dt"}]
    for i, delta in enumerate(document["dt"]):
        moment += int(delta)
        record = {"t": stamp(datetime.fromtimestamp(moment, UTC))}
        record.update({n: document[n][i] for n in names})
        yield record


def read(path: Path) -> Iterator[dict[str, Any]]:
    """The records of one month file, either form."""
    return _columns(path) if path.name.endswith(".json.gz") else _lines(path)


Columns = tuple[list[float], list[str], list[Any], list[Any]]  # times (epoch s), state, code, ms


def columns(path: Path) -> Columns:
    """The samples of one month or day file as columns, in the file's order: a compacted
    month is already columns; a day's lines are parsed once. What the page's day sums read
    (no record or time stamp string is made per sample)."""
    if not path.name.endswith(".json.gz"):
        rows = list(_lines(path))
        return ([datetime.fromisoformat(r["t"].replace("Z", "+00:00")).timestamp()
                 for r in rows], [r["state"] for r in rows], [r.get("code") for r in rows],
                [r.get("ms") for r in rows])
    document = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    if document.get("v") != VERSION:
        raise ValueError(f"{path}: unknown compacted format {document.get('v')!r}")
    times = [float(t) for t in accumulate(document["dt"], initial=int(document["t0"]))][1:]
    n = len(times)
    return (times, list(document.get("state") or [None] * n),
            list(document.get("code") or [None] * n), list(document.get("ms") or [None] * n))


def records(directory: Path, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every record of the month files in `directory` at or after `since`; months wholly
    before it are not opened."""
    floor = f"{since.astimezone(UTC):%Y-%m}" if since is not None else ""
    first_day = f"{since.astimezone(UTC):%Y-%m-%d}" if since is not None else ""
    for month, path in month_files(directory):
        day = _FILE.match(path.name)
        if month < floor or (day is not None and day.group(2) is not None
                             and f"{month}{day.group(2)}" < first_day):
            continue
        for record in read(path):
            if since is None or parse_stamp(record["t"]) >= since:
                yield record


def run_records(root: Path) -> Iterator[dict[str, Any]]:
    """The runs, the old single file first."""
    if (root / OLD_RUNS).exists():
        yield from _lines(root / OLD_RUNS)
    yield from records(root / RUNS)


def _pack(month: str, kind: str, rows: Sequence[Mapping[str, Any]],
          columns: Sequence[str]) -> bytes:
    ordered = sorted(rows, key=lambda r: r["t"])
    times = [int(parse_stamp(r["t"]).timestamp()) for r in ordered]
    t0 = times[0] if times else 0
    document: dict[str, Any] = {"v": VERSION, "kind": kind, "month": month, "t0": t0,
                                "dt": [b - a for a, b in zip([t0, *times], times,
                                                             strict=False)]}
    for name in columns:
        document[name] = [r.get(name) for r in ordered]
    text = json.dumps(document, separators=(",", ":"))
    # mtime=0: the same month always compresses to the same bytes (the same git blob).
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def _compact_month(directory: Path, month: str, kind: str,
                   columns: Sequence[str]) -> list[Path]:
    packed = directory / f"{month}.json.gz"
    appended = [p for m, p in month_files(directory) if m == month and p != packed]
    rows = list(_columns(packed)) if packed.exists() else []
    for path in appended:
        rows += list(_lines(path))
    packed.write_bytes(_pack(month, kind, rows, columns))
    for path in appended:
        path.unlink()
    return [packed, *appended]


def move_old_runs(root: Path) -> list[Path]:
    """Split the old single runs.ndjson into runs/<YYYY-MM-DD>.ndjson (once)."""
    old = root / OLD_RUNS
    if not old.exists():
        return []
    by_day: dict[Path, list[dict[str, Any]]] = {}
    for record in _lines(old):
        by_day.setdefault(day_file(root / RUNS, parse_stamp(record["t"])), []).append(record)
    written = []
    for target, rows in sorted(by_day.items()):
        target.parent.mkdir(parents=True, exist_ok=True)
        earlier = list(_lines(target)) if target.exists() else []
        merged = sorted([*rows, *earlier], key=lambda r: r["t"])
        target.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n"
                                  for r in merged), "utf-8")
        written.append(target)
    old.unlink()
    return [*written, old]


def compact(root: Path, now: datetime) -> list[Path]:
    """Compact every appended month before `now`'s month, services and runs; the paths
    written or removed. Idempotent: a second call finds nothing to do."""
    current = f"{now.astimezone(UTC):%Y-%m}"
    changed = move_old_runs(root)
    if not root.is_dir():
        return changed
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and
                            not p.name.startswith(".")):
        kind, columns = (("runs", _RUN_COLUMNS) if directory.name == RUNS
                         else ("samples", _SAMPLE_COLUMNS))
        finished = sorted({month for month, path in month_files(directory)
                           if month < current and path.name.endswith(".ndjson")})
        for month in finished:
            changed += _compact_month(directory, month, kind, columns)
    return changed
