"""Health checks: probe each service, record every run as data, and turn confirmed outages
into incidents.

- Probes (HTTP(S), TCP, TLS expiry) run concurrently, each with its own timeout and one
  quick retry inside the run. `$NAME` in URLs and headers is read from the environment at
  probe time and never written anywhere: results carry the service, never the URL.
- Hysteresis (pure): a service is `down` after `fail_after` consecutive failed runs
  (default 2) and `up` again after `recover_after` good ones (default 2). One bad run is
  recorded, not announced.
- Data: the files each run writes and uptime computed from them are in monitordata.py
  (what the status page reads, without the probes); its names are importable from here.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from incidentbot.config import Config
from incidentbot.model import HealthCheck, Service
from incidentbot.monitordata import DEGRADED as DEGRADED
from incidentbot.monitordata import DOWN as DOWN
from incidentbot.monitordata import INTERVAL as INTERVAL
from incidentbot.monitordata import UP as UP
from incidentbot.monitordata import DataDir as DataDir
from incidentbot.monitordata import Probe as Probe
from incidentbot.monitordata import Sample as Sample
from incidentbot.monitordata import ServiceState as ServiceState
from incidentbot.monitordata import Uptime as Uptime
from incidentbot.monitordata import coverage as coverage
from incidentbot.monitordata import parse_samples as parse_samples
from incidentbot.monitordata import uptime as uptime

_RANK = {UP: 0, DEGRADED: 1, DOWN: 2}
_VAR = re.compile(r"\$([A-Z_][A-Z0-9_]*)")
FAIL_AFTER = 2
RECOVER_AFTER = 2


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


STARTED_MARKER = "<!-- incidentbot:started {} -->"


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
