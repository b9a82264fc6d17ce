"""A service's samples summed per UTC day once, so every window the status page shows (the
90 day cells, 24 h … 1 year, Upptime's files) is a sum of days, not another pass over
every sample (pure).

A day's sum is made of two parts: what its own samples cover (`DaySum`, which depends on
nothing else and so can be kept once the day is over, daycache.py), and what the previous
day's last sample covers after midnight. Only the days a figure cuts into (today, the first
day of each window, maintenance) need their samples; the others need only their sum."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from incidentbot.core.health import DEGRADED, DOWN, INTERVAL, UP, Sample, Uptime, uptime

ZERO = timedelta(0)
DAY = 86400
_REACH = INTERVAL.total_seconds() * 1.5


@dataclass(frozen=True, slots=True)
class DaySum:
    """What one day's own samples cover, in seconds, and what the next day needs of it
    (its last sample) or the summary needs (its first)."""

    up: float
    degraded: float
    down: float
    first_t: float
    last_t: float
    last_state: str
    ms_sum: int
    ms_n: int

    def row(self) -> list[object]:
        return [self.up, self.degraded, self.down, self.first_t, self.last_t,
                self.last_state, self.ms_sum, self.ms_n]

    @classmethod
    def of_row(cls, row: Sequence[object]) -> DaySum:
        up, degraded, down, first_t, last_t, last_state, ms_sum, ms_n = row
        return cls(float(up), float(degraded), float(down),  # type: ignore[arg-type]
                   float(first_t), float(last_t), str(last_state),  # type: ignore[arg-type]
                   int(ms_sum), int(ms_n))  # type: ignore[call-overload]


def _spent(lo_day: float, hi_day: float, times: Sequence[float], states: Sequence[str],
           spent: dict[str, float]) -> None:
    """Add what samples at `times` cover of [lo_day, hi_day] to `spent` (health.uptime's
    rule: a sample speaks until the next one when that came within 1.5 intervals, else for
    one interval), on plain seconds: this is the build's inner loop."""
    interval = INTERVAL.total_seconds()
    last = len(times) - 1
    for i, t in enumerate(times):
        nxt = times[i + 1] if i < last else None
        until = nxt if nxt is not None and nxt - t <= _REACH else t + interval
        lo, hi = max(t, lo_day), min(until, hi_day)
        if hi > lo:
            state = states[i]
            spent[state if state in spent else DOWN] += hi - lo


def day_sum(lo_day: float, times: Sequence[float], states: Sequence[str],
            ms: Sequence[int | None]) -> DaySum:
    """The sum of a finished day [lo_day, lo_day + 1 day] from its own samples (in order)."""
    spent = {UP: 0.0, DEGRADED: 0.0, DOWN: 0.0}
    _spent(lo_day, lo_day + DAY, times, states, spent)
    values = [x for x in ms if x is not None]
    return DaySum(spent[UP], spent[DEGRADED], spent[DOWN], times[0], times[-1],
                  states[-1], sum(values), len(values))


def _total(lo_day: float, hi_day: float, carry: tuple[float, str] | None,
           first_t: float | None, spent: dict[str, float]) -> Uptime:
    """A day's Uptime: the previous day's last sample (`carry`) first, then the day's own
    sums already in `spent`."""
    total = {UP: 0.0, DEGRADED: 0.0, DOWN: 0.0}
    if carry is not None:
        t, state = carry
        until = first_t if first_t is not None and first_t - t <= _REACH \
            else t + INTERVAL.total_seconds()
        lo, hi = max(t, lo_day), min(until, hi_day)
        if hi > lo:
            total[state if state in total else DOWN] += hi - lo
    for key in total:
        total[key] += spent[key]
    covered = sum(total.values())
    return Uptime(timedelta(seconds=total[UP]), timedelta(seconds=total[DEGRADED]),
                  timedelta(seconds=total[DOWN]),
                  timedelta(seconds=max(0.0, hi_day - lo_day - covered)))


@dataclass(frozen=True, slots=True)
class DayStats:
    first: datetime  # midnight UTC of day 0
    now: datetime
    buckets: dict[int, list[Sample]]  # day index -> its samples (-1: the day before), for
    #                                    the days read sample by sample
    totals: list[Uptime]  # per day, [midnight, min(midnight + 1 day, now)]
    ms: list[tuple[int, int]]  # per day: (sum of response times, count)
    lasts: dict[int, Sample] = field(default_factory=dict)  # each day's last sample
    firsts: dict[int, datetime] = field(default_factory=dict)  # each day's first sample

    def day(self, index: int, excluded: Sequence[tuple[datetime, datetime]] = ()) -> Uptime:
        start = self.first + timedelta(days=index)
        end = min(start + timedelta(days=1), self.now)
        excluded = [(lo, hi) for lo, hi in excluded if lo < end and hi > start]
        if not excluded:
            return self.totals[index]
        return self._span(index, start, end, excluded)

    def _samples(self, index: int) -> list[Sample]:
        if index in self.buckets:
            return self.buckets[index]
        if index in self.lasts:
            raise ValueError(f"day {index} was summed, not read: its samples are needed")
        return []

    def _span(self, index: int, start: datetime, end: datetime,
              excluded: Sequence[tuple[datetime, datetime]] = ()) -> Uptime:
        before = self.buckets.get(index - 1, [])[-1:] or \
            ([self.lasts[index - 1]] if index - 1 in self.lasts else [])
        return uptime([*before, *self._samples(index)], start, end, excluded=excluded)

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
        for s in self._samples(index):
            if s.t >= start and s.ms is not None:
                total, count = total + s.ms, count + 1
        for i in range(index + 1, len(self.ms)):
            total, count = total + self.ms[i][0], count + self.ms[i][1]
        return int(total / count) if count else 0

    @property
    def first_sample(self) -> datetime | None:
        """When the first sample of the window (day 0 on) was taken."""
        days = [i for i in self.firsts if i >= 0]
        return self.firsts[min(days)] if days else None

    @property
    def latest(self) -> Sample | None:
        """The newest sample of the window (day -1 on)."""
        return self.lasts[max(self.lasts)] if self.lasts else None


def cut_days(first: datetime, days: int, now: datetime, cuts: Sequence[datetime],
             excluded: Sequence[tuple[datetime, datetime]]) -> set[int]:
    """The days whose samples a build needs: today and yesterday (response times, the last
    check), the first day of each window (`cuts`), days with maintenance (`excluded`)."""
    wanted = {days - 1, days - 2}
    for moment in cuts:
        wanted.add((max(moment, first) - first).days)
    for lo, hi in excluded:
        lo_i = max(0, (lo.astimezone(UTC) - first).days)
        hi_i = min(days - 1, (min(hi, now).astimezone(UTC) - first).days)
        wanted.update(range(lo_i, hi_i + 1))
    return {i for i in wanted if 0 <= i < days}


def assemble(first: datetime, now: datetime, days: int, sums: Mapping[int, DaySum],
             raw: Mapping[int, Sequence[Sample]]) -> DayStats:
    """DayStats from the sums of finished days and the samples of the days read (`raw`,
    which wins where both are given); day -1 gives only its last sample."""
    origin = first.timestamp()
    end_all = now.timestamp()
    buckets: dict[int, list[Sample]] = {}
    lasts: dict[int, Sample] = {}
    firsts: dict[int, datetime] = {}
    for index, day_samples in raw.items():
        ordered = sorted(day_samples, key=lambda x: x.t)
        if ordered:
            buckets[index] = ordered
            lasts[index], firsts[index] = ordered[-1], ordered[0].t
    for index, s in sums.items():
        if index not in buckets:
            lasts[index] = Sample(datetime.fromtimestamp(s.last_t, UTC), s.last_state)
            firsts[index] = datetime.fromtimestamp(s.first_t, UTC)
    totals, ms = [], []
    for index in range(days):
        lo_day = origin + index * DAY
        hi_day = min(lo_day + DAY, end_all)
        before = lasts.get(index - 1)
        carry = (before.t.timestamp(), before.state) if before is not None else None
        if index in buckets or index not in sums:
            mine = buckets.get(index, [])
            times = [s.t.timestamp() for s in mine]
            spent = {UP: 0.0, DEGRADED: 0.0, DOWN: 0.0}
            _spent(lo_day, hi_day, times, [s.state for s in mine], spent)
            values = [s.ms for s in mine if s.ms is not None]
            totals.append(_total(lo_day, hi_day, carry, times[0] if times else None, spent))
            ms.append((sum(values), len(values)))
        else:
            s = sums[index]
            totals.append(_total(lo_day, hi_day, carry, s.first_t,
                                 {UP: s.up, DEGRADED: s.degraded, DOWN: s.down}))
            ms.append((s.ms_sum, s.ms_n))
    return DayStats(first, now, buckets, totals, ms, lasts, firsts)


def window_start(now: datetime, days: int) -> datetime:
    """Midnight UTC of day 0 of a `days`-day window ending today."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days - 1)


def day_stats(samples: Sequence[Sample], now: datetime, days: int) -> DayStats:
    """Bucket the samples by UTC day (one pass) and sum each of the last `days` days."""
    first = window_start(now, days)
    origin = first.timestamp()
    raw: dict[int, list[Sample]] = {}
    for s in sorted(samples, key=lambda x: x.t):  # in order already, usually: linear
        index = int((s.t.timestamp() - origin) // DAY)
        if -1 <= index < days:
            raw.setdefault(index, []).append(s)
    return assemble(first, now, days, {}, raw)
