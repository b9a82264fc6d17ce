"""Health checks against real servers on 127.0.0.1; hysteresis; data with gaps; incidents."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import CONFIG, connections

from incidentbot.adapters import probes
from incidentbot.adapters.monitordata import DataDir
from incidentbot.core import health
from incidentbot.core.health import DOWN, UP, Probe, Sample, ServiceState
from incidentbot.core.model import HealthCheck, Service
from incidentbot.operations import monitor
from incidentbot.sandbox import Sandbox

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


TOGETHER = threading.Barrier(10)  # /together answers only when ten requests are in flight


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {"/ok": (200, b"all good"), "/down": (500, b"boom"),
                  "/teapot": (418, b"teapot"), "/maintenance": (200, b"under maintenance"),
                  "/slow": (200, b"slow but fine")}
        if self.path == "/slow":
            time.sleep(0.3)
        if self.path == "/together":
            try:
                TOGETHER.wait(timeout=20)
                code, body = 200, b"all ten at once"
            except threading.BrokenBarrierError:
                code, body = 503, b"the others never came"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == "/hang":
            time.sleep(3)
        if self.path == "/secret":
            ok = self.headers.get("Authorization") == "Bearer s3cret"
            code, body = (200, b"ok") if ok else (401, b"no")
        else:
            code, body = routes.get(self.path, (404, b"missing"))
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Quiet(ThreadingHTTPServer):
    """The checks hang up on slow answers on purpose (`/hang`): the handler's write then
    fails, seconds later, maybe while another test captures stderr. Not an error here."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = _Quiet(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def http(url: str, **kwargs: object) -> HealthCheck:
    return HealthCheck(kind="http", url=url, timeout_s=1.0, **kwargs)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("path", "kwargs", "state", "detail"), [
    ("/ok", {}, UP, ""),
    ("/down", {}, DOWN, "HTTP 500"),
    ("/teapot", {"expected_status": (418,)}, UP, ""),
    ("/ok", {"expected_status": (201,)}, DOWN, "HTTP 200"),
    ("/ok", {"contains": "good"}, UP, ""),
    ("/maintenance", {"not_contains": "maintenance"}, DOWN, "unwanted text"),
    ("/ok", {"contains": "fine"}, DOWN, "expected text missing"),
    ("/slow", {"max_response_ms": 100}, "degraded", "slow"),
    ("/hang", {}, DOWN, "no answer within 1 s"),
])
def test_http_checks(site: str, path: str, kwargs: dict[str, object], state: str,
                     detail: str) -> None:
    probe = probes.probe_http(http(site + path, **kwargs), {})
    assert probe.state == state
    assert detail in probe.detail


def test_refused_and_tcp(site: str) -> None:
    port = closed_port()
    assert probes.probe_http(http(f"http://127.0.0.1:{port}/"), {}).state == DOWN
    up = HealthCheck(kind="tcp", host="127.0.0.1", port=int(site.rsplit(":", 1)[1]))
    assert probes.probe_tcp(up, {}).state == UP
    down = HealthCheck(kind="tcp", host="127.0.0.1", port=port, timeout_s=1.0)
    assert probes.probe_tcp(down, {}).detail.startswith("TCP connect failed")


def test_secrets_come_from_the_environment_and_are_never_written(site: str,
                                                                  tmp_path: Path) -> None:
    check = http(f"{site}/secret", headers={"Authorization": "Bearer $TOKEN"})
    assert probes.probe_http(check, {"TOKEN": "s3cret"}).state == UP
    missing = probes.probe_http(check, {})
    assert missing.state == DOWN and "TOKEN is not set" in missing.detail
    service = Service("api", "API", checks=(check,))
    config = replace(CONFIG, services=(service,))
    monitor.run(config, DataDir(tmp_path), env={"TOKEN": "s3cret"}, retry=False)
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "s3cret" not in written and "/secret" not in written


def test_a_tls_certificate_close_to_expiry_is_degraded(tmp_path: Path) -> None:
    import ssl
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "3", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = _Quiet(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    try:
        client = ssl.create_default_context(cafile=str(cert))
        check = HealthCheck(kind="tls", host="localhost", port=server.server_port,
                            cert_expiry_days=14, timeout_s=2.0)
        probe = probes.probe_tls(check, {}, context=client)
        assert probe.state == "degraded" and "expires in" in probe.detail
        strict = probes.probe_tls(check, {})  # not trusted by the system's store
        assert strict.state == DOWN and "certificate not valid" in strict.detail
    finally:
        server.shutdown()
        server.server_close()


def test_checks_run_concurrently(site: str) -> None:
    """Ten checks at once: /together answers only when all ten requests are in flight, so
    checks run one after another would all fail (no timing involved)."""
    TOGETHER.reset()
    check = HealthCheck(kind="http", url=site + "/together", timeout_s=30.0)
    services = [Service(f"s{i}", f"S{i}", checks=(check,)) for i in range(10)]
    results = probes.run_checks(services, {}, concurrency=10, retry=False)
    assert len(results) == 10 and all(r.state == UP for r in results.values()), results


# -- hysteresis -----------------------------------------------------------------------------
def play(states: list[str]) -> list[tuple[str, bool]]:
    state, out = ServiceState(), []
    for i, s in enumerate(states):
        state, changed = health.advance(state, Probe(s), T0 + timedelta(minutes=5 * i))
        out.append((state.state, changed))
    return out


def test_one_bad_run_is_recorded_not_announced() -> None:
    assert play([UP, DOWN, UP, DOWN, UP]) == [(UP, False)] * 5


def test_two_bad_runs_make_it_down_and_two_good_ones_up() -> None:
    assert play([DOWN, DOWN, DOWN, UP, DOWN, UP, UP]) == [
        (UP, False), (DOWN, True), (DOWN, False), (DOWN, False), (DOWN, False),
        (DOWN, False), (UP, True)]


# -- data -----------------------------------------------------------------------------------
def test_a_gap_is_no_data_never_up() -> None:
    samples = [Sample(T0 + timedelta(minutes=5 * i), UP) for i in range(12)]  # one hour
    later = [Sample(T0 + timedelta(hours=3, minutes=5 * i), DOWN) for i in range(12)]
    result = health.uptime([*samples, *later], T0, T0 + timedelta(hours=4))
    assert result.up == timedelta(hours=1)
    assert result.down == timedelta(hours=1)
    assert result.no_data == timedelta(hours=2)
    assert result.percent == 50.0


def test_maintenance_is_neither_up_nor_down() -> None:
    samples = [Sample(T0 + timedelta(minutes=5 * i), DOWN) for i in range(12)]
    result = health.uptime(samples, T0, T0 + timedelta(hours=1),
                            excluded=[(T0, T0 + timedelta(minutes=30))])
    assert result.down == timedelta(minutes=30)


def test_coverage_counts_late_and_missing_runs() -> None:
    runs = [(T0 + timedelta(minutes=15 * i), 300) for i in range(4)]  # every 15 min, not 5
    assert health.coverage(runs, T0, T0 + timedelta(hours=1)) == pytest.approx(1 / 3)


# -- incidents from checks ------------------------------------------------------------------
def test_a_sustained_outage_opens_one_incident_and_recovery_fixes_it(
    sandbox: Sandbox, site: str, tmp_path: Path
) -> None:
    c = connections(sandbox)
    target = {"path": "/down"}
    service = replace(CONFIG.service("checkout"),
                      checks=(HealthCheck(kind="http", url="", timeout_s=1.0),))
    config = replace(CONFIG, services=(service,))
    data = DataDir(tmp_path)
    said: list[str] = []
    for i, path in enumerate(["/down", "/ok", "/down", "/down", "/down", "/ok", "/ok"]):
        target["path"] = path
        probed = replace(service, checks=(http(site + path),))
        result, states = monitor.run(replace(config, services=(probed,)), data,
                                     now=T0 + timedelta(minutes=5 * i), retry=False)
        said += monitor.open_for_outages(c, config, result.transitions, states)
        data.write_state(states)
    assert said[0] == "checkout: down; opened #1"
    assert said[1] == "checkout: up; #1 moved to fixed"
    assert len(said) == 2  # the flap at runs 0-1 opened nothing
    issue = c.tracker.get_issue(1)
    assert {"auto", "service:checkout", "status:fixed"} <= set(issue.labels)
    assert "public" not in issue.labels  # internal until a person says otherwise
    lines = (tmp_path / "checkout" / "2026-11-20.ndjson").read_text().splitlines()
    assert len(lines) == 7


def test_an_outage_on_a_service_with_an_open_incident_comments_on_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from incidentbot.operations import incidents as operations

    c = connections(sandbox)
    issue, _ = operations.open_incident(c, title="Checkout is slow", severity=3,
                                        services=["checkout"], request_id="human")
    states = {"checkout": ServiceState(state=DOWN, since="2026-11-20T12:00:00Z")}
    said = monitor.open_for_outages(c, CONFIG, [health.Transition("checkout", DOWN,
                                                                   "HTTP 500")], states)
    assert said == [f"checkout: down; commented on #{issue.number}"]
    assert len(c.tracker.list_incidents(state="all")) == 1
    states["checkout"] = ServiceState(state=UP)
    said = monitor.open_for_outages(c, CONFIG, [health.Transition("checkout", UP, "up")],
                                    states)
    assert said == [f"checkout: up; commented on #{issue.number}"]  # a person's: not moved


def test_the_first_failed_run_of_an_outage_is_remembered_until_it_is_over() -> None:
    from datetime import UTC, datetime, timedelta

    from incidentbot.core.health import DOWN, UP, Probe, ServiceState, advance

    t = datetime(2026, 11, 20, 13, 50, tzinfo=UTC)
    first = "2026-11-20T13:50:00Z"
    state, _ = advance(ServiceState(), Probe(DOWN), t)
    assert state.first_failed == first and state.state != DOWN
    blip, _ = advance(state, Probe(UP), t + timedelta(minutes=5))
    assert blip.first_failed == ""  # one bad run: no outage, nothing to remember
    for n, probe in enumerate([Probe(DOWN), Probe(UP), Probe(DOWN)], start=1):
        state, _ = advance(state, probe, t + timedelta(minutes=5 * n))
        assert state.state == DOWN and state.first_failed == first
    for n in (4, 5):
        state, _ = advance(state, Probe(UP), t + timedelta(minutes=5 * n))
    assert state.state == UP and state.first_failed == ""


def test_a_drill_or_a_fixed_incident_never_absorbs_a_real_outage(sandbox: Sandbox) -> None:
    from incidentbot.core.commands import Change
    from incidentbot.core.model import Status
    from incidentbot.operations import incidents as operations

    c = connections(sandbox)
    drill, _ = operations.open_incident(c, title="Practice: checkout down", severity=2,
                                        services=["checkout"], drill=True, request_id="d")
    fixed, _ = operations.open_incident(c, title="Checkout was slow", severity=3,
                                        services=["checkout"], request_id="f")
    operations.update_incident(c, fixed.number, Change(status=Status.FIXED))
    states = {"checkout": ServiceState(state=DOWN, since="2026-11-20T12:00:00Z")}
    said = monitor.open_for_outages(c, CONFIG, [health.Transition("checkout", DOWN,
                                                                   "HTTP 500")], states)
    (opened,) = [i for i in c.tracker.list_incidents(state="all")
                 if i.number not in {drill.number, fixed.number}]
    assert said == [f"checkout: down; opened #{opened.number}"]
    assert states["checkout"].incident == opened.number


def test_the_monitors_words_reach_the_incident_channel(sandbox: Sandbox) -> None:
    from incidentbot.operations import incidents as operations

    c = connections(sandbox)
    operations.open_incident(c, title="Checkout is slow", severity=3, services=["checkout"],
                             request_id="human")
    states = {"checkout": ServiceState(state=DOWN, since="2026-11-20T12:00:00Z")}
    monitor.open_for_outages(c, CONFIG, [health.Transition("checkout", DOWN, "HTTP 500")],
                             states)
    channel = next(ch["id"] for ch in sandbox.slack.state.channels.values()
                   if ch["name"].startswith("inc-"))
    posted = [m["text"] for m in sandbox.slack.state.messages[channel]]
    assert any("Health checks confirm Checkout is down (HTTP 500)" in t
               for t in posted), posted
    assert not any("**" in t for t in posted), posted  # GitHub's bold is not Slack's
    assert any(":mega: *Update* from Health checks" in t for t in posted), posted
    assert not any("health_checks" in t for t in posted), posted  # an internal id


def test_a_flapping_service_reopens_the_monitors_fixed_incident(
    sandbox: Sandbox, site: str, tmp_path: Path
) -> None:
    """500, 500, 200, 500, 200, 200, 500, 500: one incident, fixed and moved back, told in
    its own channel; no second incident, channel or page."""
    c = connections(sandbox)
    service = replace(CONFIG.service("checkout"),
                      checks=(HealthCheck(kind="http", url="", timeout_s=1.0),))
    config = replace(CONFIG, services=(service,))
    data = DataDir(tmp_path)
    said: list[str] = []
    for i, path in enumerate(["/down", "/down", "/ok", "/down", "/ok", "/ok", "/down",
                              "/down"]):
        probed = replace(service, checks=(http(site + path),))
        result, states = monitor.run(replace(config, services=(probed,)), data,
                                     now=T0 + timedelta(minutes=5 * i), retry=False)
        said += monitor.open_for_outages(c, config, result.transitions, states)
        data.write_state(states)
    assert said == ["checkout: down; opened #1", "checkout: up; #1 moved to fixed",
                    "checkout: down again; #1 moved back to investigating"]
    assert [i.number for i in c.tracker.list_incidents(state="all")] == [1]
    assert "status:investigating" in c.tracker.get_issue(1).labels
    assert states["checkout"].incident == 1
    (channel,) = [ch["id"] for ch in sandbox.slack.state.channels.values()
                  if ch["name"].startswith("inc-")]
    posted = [m["text"] for m in sandbox.slack.state.messages[channel]]
    assert any("Checkout is down again (HTTP 500): back to investigating" in t
               for t in posted), posted
