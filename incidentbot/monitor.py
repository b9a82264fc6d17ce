"""Health checks: probe each service, record every run as data, and turn confirmed outages
into incidents.

- Probes (HTTP(S), TCP, TLS expiry) run concurrently, each with its own timeout and one
  quick retry inside the run. `$NAME` in URLs and headers is read from the environment at
  probe time and never written anywhere: results carry the service, never the URL.
- Hysteresis (pure): a service is `down` after `fail_after` consecutive failed runs
  (default 2) and `up` again after `recover_after` good ones (default 2). One bad run is
  recorded, not announced.
- Data (pure + files): one NDJSON line per service per run in `data/<slug>/<YYYY-MM-DD>.ndjson`,
  one line per run in `data/runs/<YYYY-MM-DD>.ndjson`, finished months compacted into one
  file (datastore.py), the hysteresis state in `data/state.json`. Uptime
  is computed from samples; a gap longer than 1.5 expected intervals is "no data", never up.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from incidentbot import datastore
from incidentbot.config import Config
from incidentbot.model import HealthCheck, Service

UP, DEGRADED, DOWN = "up", "degraded", "down"
_RANK = {UP: 0, DEGRADED: 1, DOWN: 2}
_VAR = re.compile(r"\$([A-Z_][A-Z0-9_]*)")
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


def expand(text: str, env: Mapping[str, str]) -> str:
    """`$NAME` from the environment; a missing one is an error naming it (never a value)."""
    def value(m: re.Match[str]) -> str:
        if m.group(1) not in env:
            raise KeyError(m.group(1))
        return env[m.group(1)]
    return _VAR.sub(value, text)


def probe_http(check: HealthCheck, env: Mapping[str, str]) -> Probe:
    import requests

    try:
        url = expand(check.url or "", env)
        headers = {k: expand(v, env) for k, v in check.headers.items()}
    except KeyError as missing:
        return Probe(DOWN, detail=f"environment variable {missing.args[0]} is not set")
    started = time.perf_counter()
    try:
        answer = requests.request(check.method, url, headers=headers, data=check.body,
                                  timeout=check.timeout_s,
                                  allow_redirects=check.follow_redirects)
    except requests.Timeout:
        return Probe(DOWN, detail=f"no answer within {check.timeout_s:g} s")
    except requests.RequestException as exc:
        return Probe(DOWN, detail=f"connection failed ({type(exc).__name__})")
    ms = int((time.perf_counter() - started) * 1000)
    expected = check.expected_status or ()
    ok = answer.status_code in expected if expected else 200 <= answer.status_code < 400
    if not ok:
        return Probe(DOWN, answer.status_code, ms, f"HTTP {answer.status_code}")
    text = answer.text
    if check.contains is not None and check.contains not in text:
        return Probe(DOWN, answer.status_code, ms, "expected text missing from the body")
    if check.not_contains is not None and check.not_contains in text:
        return Probe(DOWN, answer.status_code, ms, "unwanted text found in the body")
    if check.max_response_ms is not None and ms > check.max_response_ms:
        return Probe(DEGRADED, answer.status_code, ms, f"slow: {ms} ms")
    return Probe(UP, answer.status_code, ms)


def probe_tcp(check: HealthCheck, env: Mapping[str, str]) -> Probe:
    host = expand(check.host or urlsplit(check.url or "").hostname or "", env)
    started = time.perf_counter()
    try:
        with socket.create_connection((host, check.port or 443), timeout=check.timeout_s):
            pass
    except OSError as exc:
        return Probe(DOWN, detail=f"TCP connect failed ({type(exc).__name__})")
    ms = int((time.perf_counter() - started) * 1000)
    if check.max_response_ms is not None and ms > check.max_response_ms:
        return Probe(DEGRADED, None, ms, f"slow: {ms} ms")
    return Probe(UP, None, ms)


def probe_tls(check: HealthCheck, env: Mapping[str, str], *,
              now: datetime | None = None, context: ssl.SSLContext | None = None) -> Probe:
    parts = urlsplit(expand(check.url or "", env)) if check.url else None
    host = check.host or (parts.hostname if parts else "") or ""
    port = check.port or (parts.port if parts and parts.port else 443)
    ctx = context or ssl.create_default_context()
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=check.timeout_s) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as tls:
            cert = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return Probe(DOWN, detail=f"certificate not valid ({exc.verify_message})")
    except (OSError, ssl.SSLError) as exc:
        return Probe(DOWN, detail=f"TLS handshake failed ({type(exc).__name__})")
    ms = int((time.perf_counter() - started) * 1000)
    if not cert or "notAfter" not in cert:
        return Probe(DOWN, None, ms, "no certificate")
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    left = expires - (now or datetime.now(UTC))
    if left <= timedelta(0):
        return Probe(DOWN, None, ms, "certificate expired")
    if left < timedelta(days=check.cert_expiry_days):
        return Probe(DEGRADED, None, ms, f"certificate expires in {left.days} days")
    return Probe(UP, None, ms)


PROBES: Mapping[str, Callable[..., Probe]] = {"http": probe_http, "tcp": probe_tcp,
                                              "tls": probe_tls}


def check_service(service: Service, env: Mapping[str, str], *, retry: bool = True,
                  pause: float = 1.0) -> Probe:
    """The worst of the service's checks; a failing check is tried once more first."""
    results = []
    for check in service.checks:
        result = PROBES[check.kind](check, env)
        if result.state != UP and retry:
            time.sleep(pause)
            result = PROBES[check.kind](check, env)
        results.append(result)
    return max(results, key=lambda r: _RANK[r.state])  # the first of the worst


def run_checks(services: Sequence[Service], env: Mapping[str, str] | None = None, *,
               concurrency: int = 20, retry: bool = True,
               pause: float = 1.0) -> dict[str, Probe]:
    """Every service with checks, at most `concurrency` at a time."""
    env = os.environ if env is None else env
    checked = [s for s in services if s.checks]
    if not checked:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(checked)))) as pool:
        results = pool.map(lambda s: check_service(s, env, retry=retry, pause=pause), checked)
        return {s.slug: r for s, r in zip(checked, results, strict=True)}


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


# -- data (files) --------------------------------------------------------------------------
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


STARTED_MARKER = "<!-- incidentbot:started {} -->"


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


# -- incidents from outages ---------------------------------------------------------------
AUTO = "auto"


def open_for_outages(c: Any, config: Config, transitions: Iterable[Transition],
                     states: dict[str, ServiceState], *, severity: int = 2,
                     public: bool = False) -> list[str]:
    """A confirmed outage opens an incident (or comments on the one already open for the
    service); a recovery comments and moves incidents the monitor opened to fixed."""
    from incidentbot import operations, sync
    from incidentbot.commands import Change
    from incidentbot.model import SERVICE_PREFIX, Status, read_labels

    said = []
    open_now = c.tracker.list_incidents(state="open")
    # Said as a note through update_incident, so it reaches the incident's channel at once
    # (the bot's plain comments are never relayed, and Actions' writes start no workflow).
    by = sync.Attribution("health checks", "monitor")
    for t in transitions:
        name = config.service_names([t.slug])[0]
        covering = [i for i in open_now if f"{SERVICE_PREFIX}{t.slug}" in
                    {label.lower() for label in i.labels}]
        # A drill, or an incident whose fix is already in (fixed or later), must not absorb
        # a real outage: the outage opens its own incident, announced and relayed.
        covering = [i for i in covering
                    if _absorbs(read_labels(i.labels, config.severities))]
        if t.became == DOWN:
            if covering:
                number = covering[0].number
                operations.update_incident(
                    c, number, Change(), by=by,
                    note=f":red_circle: Health checks confirm **{name}** is down "
                         f"({t.detail}).")
                said.append(f"{t.slug}: down; commented on #{number}")
            else:
                first = states[t.slug].first_failed or states[t.slug].since
                issue, _ = operations.open_incident(
                    c, title=f"{name} is down", severity=severity, services=[t.slug],
                    description=f"Health checks failed on consecutive runs since "
                                f"{first.replace('T', ' ')[:16]} UTC: "
                                f"{t.detail}.\n\n" + STARTED_MARKER.format(first),
                    public=public, by=by,
                    request_id=f"monitor-{t.slug}-{states[t.slug].since}")
                c.tracker.relabel(issue.number, [AUTO], [])
                number = issue.number
                said.append(f"{t.slug}: down; opened #{number}")
            states[t.slug] = replace(states[t.slug], incident=number)
        else:
            for issue in covering:
                fields = read_labels(issue.labels, config.severities)
                moved = fields.auto and fields.status.rank < Status.FIXED.rank
                operations.update_incident(
                    c, issue.number, Change(status=Status.FIXED) if moved else Change(),
                    by=by, note=f":large_green_circle: Health checks say **{name}** is up "
                                "again.")
                if moved:
                    said.append(f"{t.slug}: up; #{issue.number} moved to fixed")
                else:
                    said.append(f"{t.slug}: up; commented on #{issue.number}")
            states[t.slug] = replace(states[t.slug], incident=None)
    return said


def _absorbs(fields: Any) -> bool:
    """May this open incident take a new outage of its service as a comment?"""
    from incidentbot.model import Status

    return bool(fields.is_incident and not fields.drill
                and fields.status.rank < Status.FIXED.rank)


@dataclass
class RunResult:
    probes: dict[str, Probe] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def run(config: Config, data: DataDir, *, now: datetime | None = None, run_id: str = "",
        where: str = "local", env: Mapping[str, str] | None = None, retry: bool = True,
        pause: float = 1.0, fail_after: int = FAIL_AFTER,
        recover_after: int = RECOVER_AFTER,
        concurrency: int = 20) -> tuple[RunResult, dict[str, ServiceState]]:
    """One monitoring run: probe, advance the hysteresis, write the data."""
    probes = run_checks(config.services, env, retry=retry, pause=pause,
                        concurrency=concurrency)
    return record(data, probes, now=now, run_id=run_id, where=where, fail_after=fail_after,
                  recover_after=recover_after)


def record(data: DataDir, probes: dict[str, Probe], *, now: datetime | None = None,
           run_id: str = "", where: str = "local", fail_after: int = FAIL_AFTER,
           recover_after: int = RECOVER_AFTER) -> tuple[RunResult, dict[str, ServiceState]]:
    """Advance the hysteresis from the saved state and write one run's data (again, on top
    of another writer's data, when a push lost a race)."""
    now = now or datetime.now(UTC)
    states = data.states()
    result = RunResult(probes=probes)
    for slug, p in probes.items():
        new, changed = advance(states.get(slug, ServiceState()), p, now,
                               fail_after=fail_after, recover_after=recover_after)
        states[slug] = new
        if changed:
            result.transitions.append(Transition(slug, DOWN if new.state == DOWN else UP,
                                                 p.detail or new.state))
    result.files = data.write_run(run_id or f"{now:%Y%m%dT%H%M%S}", where, now, probes,
                                  states)
    return result, states
