"""A service's samples summed per UTC day once, so every window the status page shows (the
90 day cells, 24 h … 1 year, Upptime's files) is a sum of days, not another pass over
every sample (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from incidentbot.core.health import DEGRADED, DOWN, INTERVAL, UP, Sample, Uptime, uptime

ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class DayStats:
    first: datetime  # midnight UTC of day 0
    now: datetime
    buckets: dict[int, list[Sample]]  # day index -> its samples (-1: the day before)
    totals: list[Uptime]  # per day, [midnight, min(midnight + 1 day, now)]
    ms: list[tuple[int, int]]  # per day: (sum of response times, count)

    def day(self, index: int, excluded: Sequence[tuple[datetime, datetime]] = ()) -> Uptime:
        if not excluded:
            return self.totals[index]
        start = self.first + timedelta(days=index)
        return self._span(index, start, min(start + timedelta(days=1), self.now), excluded)

    def _span(self, index: int, start: datetime, end: datetime,
              excluded: Sequence[tuple[datetime, datetime]] = ()) -> Uptime:
        return uptime([*self.buckets.get(index - 1, [])[-1:], *self.buckets.get(index, [])],
                      start, end, excluded=excluded)

    def window(self, start: datetime,
               excluded: Sequence[tuple[datetime, datetime]] = ()) -> Uptime:
        """Uptime over [start, now]: whole days summed, the first day cut exactly."""
        start = max(start, self.first)
        index = (start - self.first).days
        head_end = min(self.first + timedelta(days=index + 1), self.now)
        parts = [self._span(index, start, head_end, excluded)]
        parts += [self.day(i, excluded) for i in range(index + 1, len(self.totals))]
        return Uptime(sum((p.up for p in parts), ZERO), sum((p.degraded for p in parts), ZERO),
                      sum((p.down for p in parts), ZERO), sum((p.no_data for p in parts), ZERO))

    def average_ms(self, start: datetime) -> int:
        """Mean response time of the samples since `start` (0 with none)."""
        start = max(start, self.first)
        index = (start - self.first).days
        total = count = 0
        for s in self.buckets.get(index, []):
            if s.t >= start and s.ms is not None:
                total, count = total + s.ms, count + 1
        for i in range(index + 1, len(self.ms)):
            total, count = total + self.ms[i][0], count + self.ms[i][1]
        return int(total / count) if count else 0


def day_stats(samples: Sequence[Sample], now: datetime, days: int) -> DayStats:
    """Bucket the samples by UTC day (one pass) and sum each of the last `days` days, with
    health.uptime's rule (a sample speaks until the next one when that came within 1.5
    intervals, else for one interval), on plain seconds: this is the build's inner loop."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=days - 1)
    origin = first.timestamp()
    buckets: dict[int, list[Sample]] = {}
    stamps: dict[int, list[float]] = {}
    for s in sorted(samples, key=lambda x: x.t):  # in order already, usually: linear
        t = s.t.timestamp()
        index = int((t - origin) // 86400)
        if -1 <= index < days:
            buckets.setdefault(index, []).append(s)
            stamps.setdefault(index, []).append(t)
    interval = INTERVAL.total_seconds()
    reach = interval * 1.5
    end_all = now.timestamp()
    totals, ms = [], []
    for index in range(days):
        lo_day = origin + index * 86400
        hi_day = min(lo_day + 86400, end_all)
        mine = buckets.get(index, [])
        run = [*buckets.get(index - 1, [])[-1:], *mine]
        spent = {UP: 0.0, DEGRADED: 0.0, DOWN: 0.0}
        times = [*stamps.get(index - 1, [])[-1:], *stamps.get(index, [])]
        for i, s in enumerate(run):
            t = times[i]
            nxt = times[i + 1] if i + 1 < len(run) else None
            until = nxt if nxt is not None and nxt - t <= reach else t + interval
            lo, hi = max(t, lo_day), min(until, hi_day)
            if hi > lo:
                spent[s.state if s.state in spent else DOWN] += hi - lo
        covered = sum(spent.values())
        totals.append(Uptime(timedelta(seconds=spent[UP]), timedelta(seconds=spent[DEGRADED]),
                             timedelta(seconds=spent[DOWN]),
                             timedelta(seconds=max(0.0, hi_day - lo_day - covered))))
        values = [s.ms for s in mine if s.ms is not None]
        ms.append((sum(values), len(values)))
    return DayStats(first, now, buckets, totals, ms)
