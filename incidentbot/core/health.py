"""Health, pure: a probe's result, the hysteresis that turns runs into up and down (a service
is down after `fail_after` failed runs, up after `recover_after` good ones), samples, and
uptime computed from them — a gap longer than 1.5 intervals is "no data", never up."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from incidentbot.core import markers

UP, DEGRADED, DOWN = "up", "degraded", "down"
RANK = {UP: 0, DEGRADED: 1, DOWN: 2}
FAIL_AFTER = 2
RECOVER_AFTER = 2
INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Probe:
    """One check's result. `detail` never holds a URL or a header value."""

    state: str
    code: int | None = None
    ms: int | None = None
    detail: str = ""


# -- hysteresis (pure) ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServiceState:
    state: str = UP
    since: str = ""
    fails: int = 0
    oks: int = 0
    incident: int | None = None
    first_failed: str = ""  # the first failed run of the current streak (the outage's start)


@dataclass(frozen=True, slots=True)
class Transition:
    slug: str
    became: str  # "down" or "up"
    detail: str


def advance(previous: ServiceState, probe: Probe, now: datetime, *,
            fail_after: int = FAIL_AFTER, recover_after: int = RECOVER_AFTER,
            ) -> tuple[ServiceState, bool]:
    """The state after one run, and whether it changed between up and down."""
    stamp = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    failed = probe.state == DOWN
    fails = previous.fails + 1 if failed else 0
    oks = 0 if failed else previous.oks + 1
    state = previous.state
    if previous.state != DOWN and fails >= fail_after:
        state = DOWN
    elif previous.state == DOWN and oks >= recover_after:
        state = UP
    elif previous.state != DOWN:
        state = DEGRADED if probe.state == DEGRADED else UP
    changed = (state == DOWN) != (previous.state == DOWN)
    since = stamp if state != previous.state or not previous.since else previous.since
    first = (previous.first_failed or stamp) if failed and (previous.fails or state == DOWN) \
        else stamp if failed else previous.first_failed if state == DOWN else ""
    return replace(previous, state=state, since=since, fails=fails, oks=oks,
                   first_failed=first), changed


FAILING = "failing"


def verdict(probe: Probe, state: ServiceState, *, fail_after: int = FAIL_AFTER,
            recover_after: int = RECOVER_AFTER) -> tuple[str, str]:
    """What one run says of a service, by the rule above, not by its probe alone: `failing`
    (and how many of the failed runs that make an outage) until it is down, `down` while
    it recovers (and how many good runs of those that bring it up), else its state."""
    if state.state == DOWN:
        if probe.state != DOWN:
            return DOWN, f"recovering: {state.oks} of {recover_after} good runs"
        return DOWN, ""
    if probe.state == DOWN:
        return FAILING, f"{state.fails} of {fail_after} failed runs before it is down"
    return state.state, ""


# -- samples and uptime ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Sample:
    t: datetime
    state: str
    code: int | None = None
    ms: int | None = None


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
    """Actual runs over expected runs in the window (0..1): the schedule's honesty. Runs
    are expected only since the first of `runs` (monitoring began then, not at `start`)."""
    if runs:
        start = max(start, min(r[0] for r in runs))
    inside = [r for r in runs if start <= r[0] <= end]
    if not inside:
        return 0.0
    expected = (end - start).total_seconds() / inside[-1][1]
    return min(1.0, len(inside) / expected) if expected > 0 else 1.0


def first_failure(body: str, samples: Sequence[Sample],
                  opened: datetime) -> datetime | None:
    """The first failed check of the streak that made the monitor open the incident: from
    the marker the monitor wrote in the description, else from its data."""
    marked = markers.started_at(body)
    if marked is not None:
        return marked
    first = None
    for s in sorted((s for s in samples if s.t <= opened), key=lambda s: s.t, reverse=True):
        if s.state != DOWN:
            break
        first = s.t
    return first
