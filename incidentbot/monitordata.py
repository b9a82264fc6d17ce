"""The monitor's data: each run's results as files (a checkout of the data branch) and
uptime computed from them, without the probes (monitor.py), so the status page reads it
alone.

One NDJSON line per service per run in `data/<slug>/<YYYY-MM-DD>.ndjson`, one line per run in
`data/runs/<YYYY-MM-DD>.ndjson`, finished months compacted into one file (datastore.py), the
hysteresis state in `data/state.json`. Uptime is computed from samples; a gap longer than
1.5 expected intervals is "no data", never up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from incidentbot import datastore

UP, DEGRADED, DOWN = "up", "degraded", "down"
INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Probe:
    """One check's result. `detail` never holds a URL or a header value."""

    state: str
    code: int | None = None
    ms: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ServiceState:
    state: str = UP
    since: str = ""
    fails: int = 0
    oks: int = 0
    incident: int | None = None
    first_failed: str = ""  # the first failed run of the current streak (the outage's start)


@dataclass(frozen=True, slots=True)
class Sample:
    t: datetime
    state: str
    code: int | None = None
    ms: int | None = None


class DataDir:
    """The monitor's files in a directory (a checkout of the data branch)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def states(self) -> dict[str, ServiceState]:
        path = self.root / "state.json"
        if not path.exists():
            return {}
        data = json.loads(path.read_text("utf-8"))
        return {slug: ServiceState(**value) for slug, value in data.items()}

    def write_run(self, run_id: str, where: str, now: datetime,
                  probes: Mapping[str, Probe], states: Mapping[str, ServiceState],
                  interval: timedelta = INTERVAL) -> list[Path]:
        """Append this run's lines, compact finished months and save the state; the files
        written or removed (one commit). The layout is in datastore.py."""
        stamp = datastore.stamp(now)
        written = []
        for slug, p in sorted(probes.items()):
            written.append(datastore.append(
                datastore.day_file(self.root / slug, now),
                {"t": stamp, "state": p.state, "code": p.code, "ms": p.ms, "run": run_id,
                 "where": where}))
        runs = datastore.append(datastore.day_file(self.root / datastore.RUNS, now),
                                {"t": stamp, "run": run_id, "where": where,
                                 "expected_interval_s": int(interval.total_seconds())})
        compacted = datastore.compact(self.root, now)
        return [*written, runs, *compacted, self.write_state(states)]

    def write_state(self, states: Mapping[str, ServiceState]) -> Path:
        path = self.root / "state.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: asdict(v) for k, v in sorted(states.items())},
                                   indent=1, sort_keys=True) + "\n", "utf-8")
        return path

    def samples(self, slug: str, since: datetime | None = None) -> list[Sample]:
        """The service's samples at or after `since`, from appended and compacted months."""
        return [Sample(datastore.parse_stamp(d["t"]), d["state"], d.get("code"), d.get("ms"))
                for d in datastore.records(self.root / slug, since)]

    def runs(self) -> list[tuple[datetime, int]]:
        return [(datastore.parse_stamp(d["t"]), int(d.get("expected_interval_s") or 300))
                for d in datastore.run_records(self.root)]


def parse_samples(text: str) -> list[Sample]:
    """The samples of one `<slug>/<YYYY-MM>.ndjson` file (read from disk or from the data
    branch through the tracker)."""
    out = []
    for line in text.splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Sample(datetime.fromisoformat(d["t"].replace("Z", "+00:00")),
                              d["state"], d.get("code"), d.get("ms")))
    return out


@dataclass(frozen=True, slots=True)
class Uptime:
    up: timedelta
    degraded: timedelta
    down: timedelta
    no_data: timedelta

    @property
    def measured(self) -> timedelta:
        return self.up + self.degraded + self.down

    @property
    def percent(self) -> float | None:
        """Up (degraded counts as up) over measured time; None with no data at all."""
        if self.measured <= timedelta(0):
            return None
        return 100 * (self.up + self.degraded) / self.measured


def uptime(samples: Sequence[Sample], start: datetime, end: datetime,
           interval: timedelta = INTERVAL,
           excluded: Sequence[tuple[datetime, datetime]] = ()) -> Uptime:
    """Time in each state within [start, end]. Each sample speaks for the time until the
    next one when that came within 1.5 intervals, else for one interval; the rest, and the
    time before the first, is no data.
    `excluded` windows (maintenance) count as neither up nor down."""
    totals = {UP: timedelta(0), DEGRADED: timedelta(0), DOWN: timedelta(0)}
    covered = timedelta(0)
    ordered = sorted(samples, key=lambda s: s.t)
    reach = interval * 1.5
    for i, s in enumerate(ordered):
        nxt = ordered[i + 1].t if i + 1 < len(ordered) else None
        # Until the next sample when it came on time (a late run stretches it up to 1.5
        # intervals); otherwise the sample speaks for one interval and the rest is a gap.
        until = nxt if nxt is not None and nxt - s.t <= reach else s.t + interval
        lo, hi = max(s.t, start), min(until, end)
        if hi <= lo:
            continue
        span = hi - lo
        for ex_lo, ex_hi in excluded:
            overlap = min(hi, ex_hi) - max(lo, ex_lo)
            if overlap > timedelta(0):
                span -= overlap
        totals[s.state if s.state in totals else DOWN] += span
        covered += hi - lo
    return Uptime(totals[UP], totals[DEGRADED], totals[DOWN],
                  max(timedelta(0), (end - start) - covered))


def coverage(runs: Sequence[tuple[datetime, int]], start: datetime, end: datetime) -> float:
    """Actual runs over expected runs in the window (0..1): the schedule's honesty."""
    inside = [r for r in runs if start <= r[0] <= end]
    if not inside:
        return 0.0
    expected = (end - start).total_seconds() / inside[-1][1]
    return min(1.0, len(inside) / expected) if expected > 0 else 1.0
