"""Probing services: HTTP(S), TCP and TLS expiry, run concurrently, each with its own timeout
and one quick retry inside the run. `$NAME` in URLs and headers is read from the environment
at probe time and never written anywhere: results carry the service, never the URL."""

from __future__ import annotations

import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from incidentbot.core.health import DEGRADED, DOWN, RANK, UP, Probe
from incidentbot.core.model import HealthCheck, Service

_VAR = re.compile(r"\$([A-Z_][A-Z0-9_]*)")

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
    return max(results, key=lambda r: RANK[r.state])  # the first of the worst


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
