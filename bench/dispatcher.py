"""Time the Slack dispatcher over real HTTP (waitress) against the sandbox, 300 ms per API call.

    .venv/bin/python bench/dispatcher.py [--quick]

1. Acknowledgement time per slash command (help, list, status, bad input, open), sent one
   after another over one keep-alive connection: the time until the HTTP response arrives,
   while the slow work (GitHub, Slack) carries on on the dispatcher's worker pool.
2. The time from an `open` modal submission to the incident channel existing, and the number
   of GitHub and Slack calls that took.
3. Requests per second for `/incident help` (no API call) with waitress in a subprocess pinned
   to one CPU, driven from this process by a few client threads with pre-signed requests.

Slack wants an answer within 3 s. Like bench/cold_start.py this prints tables and asserts
nothing: timings on a shared machine are noisy. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import waitress

from incidentbot.adapters import github, pagerduty, slack
from incidentbot.core import config as configuration
from incidentbot.core.settings import Settings
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_requests import SignedRequest, SlackRequests, open_values

ROOT = Path(__file__).resolve().parent.parent
SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]
TEAMS = frozenset({"T0SANDBOX"})
LATENCY = 0.3  # seconds added to every GitHub and Slack call
THREADS = 8  # waitress threads, as `incidentbot serve` defaults
HELP_CPU = 0  # the one CPU the help-path server runs on


class _Tally(logging.Handler):
    """Counts what the dispatcher logs (failed background work), instead of printing it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        reason = f"{record.levelname} {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            reason += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.counts[reason[:150]] += 1


def _connect(sandbox: Sandbox, config: configuration.Config) -> Callable[[], Any]:
    def connect() -> operations.Connections:
        settings = Settings.from_env(sandbox.env())
        return operations.Connections(github.connect(settings), slack.connect(settings),
                                      pagerduty.connect(settings), config,
                                      lambda: datetime.now(UTC))
    return connect


def _serve_in_thread(app: Any) -> tuple[Any, threading.Thread, str]:
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=THREADS,
                                    ident="incidentbot")
    thread = threading.Thread(target=server.run, name="bench-waitress", daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.effective_port}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f}"


def _row(label: str, samples: Sequence[float]) -> str:
    if not samples:
        return f"{label:28} {0:>6}"
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"{label:28} {len(ordered):>6} {_ms(p50)} {_ms(p99)} {_ms(ordered[-1])}"


def _post(session: requests.Session, base: str, request: SignedRequest) -> requests.Response:
    return session.post(base + request.path, data=request.body, headers=request.headers,
                        timeout=10)


def _new_channels(sandbox: Sandbox, before: set[str]) -> list[dict[str, Any]]:
    # list() copies the dict in C, under the GIL: safe while the sandbox thread writes.
    return [c for c in list(sandbox.slack.state.channels.values())
            if c["id"] not in before and str(c["name"]).startswith("inc-")]


def _by_service(sandbox: Sandbox) -> str:
    calls = collections.Counter(c.service for c in sandbox.calls)
    return ", ".join(f"{calls[s]} {s}" for s in ("github", "slack", "pagerduty") if calls[s])


# -- 2. open modal submission -> incident channel -------------------------------------------
def open_to_channel(sandbox: Sandbox, sends: SlackRequests, disp: Dispatcher,
                    session: requests.Session, base: str) -> dict[str, Any]:
    title = "Checkout is slow"
    reply = _post(session, base, sends.command(f"open {title}"))
    disp.drain()  # views.open, in the background
    views = list(sandbox.slack.views.values())
    if reply.status_code != 200 or not views:
        raise SystemExit(f"the open modal did not appear (HTTP {reply.status_code})")
    submission = sends.view_submission(views[-1], open_values(title, 2, services=("checkout",)))
    before = {c["id"] for c in list(sandbox.slack.state.channels.values())}
    sandbox.clear_calls()
    start = time.perf_counter()
    reply = _post(session, base, submission)
    ack = time.perf_counter() - start
    channel: dict[str, Any] | None = None
    deadline = start + 60
    while channel is None and time.perf_counter() < deadline:
        found = _new_channels(sandbox, before)
        if found:
            channel = found[0]
            break
        time.sleep(0.005)
    exists = time.perf_counter() - start
    disp.drain(timeout=60)
    done = time.perf_counter() - start
    calls = sandbox.calls
    upto = next((i + 1 for i, c in enumerate(calls) if c.operation == "conversations.create"),
                len(calls))
    first = collections.Counter(c.service for c in calls[:upto])
    at_channel = f"{first['github']} github, {first['slack']} slack"
    print(f"2. open modal submission -> incident channel ({LATENCY * 1000:.0f} ms per call)")
    print(f"   submission acknowledged        {_ms(ack)} ms  (HTTP {reply.status_code})")
    if channel is None:
        print("   channel never appeared within 60 s")
        return {}
    print(f"   channel exists (polled)        {_ms(exists)} ms  {at_channel} calls, in turn, "
          "up to conversations.create")
    print(f"   all the open work finished     {_ms(done)} ms  {_by_service(sandbox)} calls "
          "(and the reply on the response_url)")
    print(f"   channel: #{channel['name']}")
    return channel


# -- 1. acknowledgement times --------------------------------------------------------------
def acks(sandbox: Sandbox, sends: SlackRequests, disp: Dispatcher, session: requests.Session,
         base: str, channel: dict[str, Any], count: int) -> None:
    mix: list[tuple[str, Callable[[], SignedRequest]]] = [
        ("help", lambda: sends.command("help")),
        ("list", lambda: sends.command("list")),
        ("status fixing (in channel)",
         lambda: sends.command("status fixing", channel=channel["id"],
                               channel_name=channel["name"])),
        ("sev 9 (bad input)",
         lambda: sends.command("sev 9", channel=channel["id"], channel_name=channel["name"])),
        ("open <title>", lambda: sends.command("open Payments timing out")),
    ]
    samples: dict[str, list[float]] = {label: [] for label, _ in mix}
    failures: collections.Counter[str] = collections.Counter()
    views_before = len(sandbox.slack.views)
    sandbox.clear_calls()
    session.get(base + "/healthz", timeout=10)  # the keep-alive connection, not timed
    wall = time.perf_counter()
    for i in range(count):
        label, build = mix[i % len(mix)]
        request = build()  # signing, trigger_id and response_url: not timed
        start = time.perf_counter()
        reply = _post(session, base, request)
        elapsed = time.perf_counter() - start
        samples[label].append(elapsed)
        if reply.status_code != 200:
            failures[f"{label}: HTTP {reply.status_code}"] += 1
    sent = time.perf_counter() - wall
    print(f"1. acknowledgement over HTTP (waitress, {THREADS} threads, keep-alive): "
          f"{count} requests in {sent:.2f} s")
    print(f"   {'command':28} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for label, values in samples.items():
        print("   " + _row(label, values))
    print("   " + _row("all", [v for values in samples.values() for v in values]))
    slow = sum(v > 0.05 for values in samples.values() for v in values)
    print(f"   non-200 answers: {sum(failures.values())}"
          + "".join(f"\n     {k}: {n}" for k, n in failures.items()))
    print(f"   acks over 50 ms: {slow}")
    start = time.perf_counter()
    disp.drain(timeout=180)
    drained = time.perf_counter() - start
    opened = len(sandbox.slack.views) - views_before
    print(f"   the slow work left queued behind the last ack took {drained:.1f} s more to "
          f"drain ({disp.workers} workers, {_by_service(sandbox)} calls)")
    print(f"   open modals shown: {opened} of {len(samples['open <title>'])} "
          "(a trigger_id is good for 3 s; see the log counts below)")


# -- 3. help-path throughput on one core ---------------------------------------------------
def _serve_help() -> None:
    """The child process: a dispatcher that never needs a connection, on one CPU."""
    os.sched_setaffinity(0, {HELP_CPU})
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is 1"
    config = configuration.load(ROOT / "incidentbot.yml")

    def no_connect() -> operations.Connections:
        raise RuntimeError("the help path must not connect")

    app = Dispatcher(config, SECRET, no_connect, allowed_teams=TEAMS)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=THREADS,
                                    ident="incidentbot")
    print(server.effective_port, flush=True)
    server.run()


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def help_throughput(sends: SlackRequests, seconds: float, prebuilt: int, clients: int) -> None:
    start = time.perf_counter()
    pending = collections.deque(sends.command("help") for _ in range(prebuilt))
    built = time.perf_counter() - start
    child = subprocess.Popen([sys.executable, __file__, "--serve-help"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline().strip() or 0)
        if not port:
            raise SystemExit("the help server did not start")
        cpus = os.sched_getaffinity(0)
        others = cpus - {HELP_CPU}
        if others:  # keep the clients off the server's CPU
            os.sched_setaffinity(0, others)
        statuses: collections.Counter[int] = collections.Counter()
        lock = threading.Lock()
        stop = time.perf_counter() + seconds + 0.5

        def client(warm: bool) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            seen: collections.Counter[int] = collections.Counter()
            try:
                while time.perf_counter() < stop:
                    try:
                        request = pending.popleft()
                    except IndexError:
                        break
                    conn.request("POST", request.path, body=request.body,
                                 headers=request.headers)
                    response = conn.getresponse()
                    response.read()
                    seen[response.status] += 1
            finally:
                conn.close()
                if not warm:
                    with lock:
                        statuses.update(seen)

        warm = threading.Thread(target=client, args=(True,))  # 0.5 s warm-up, not counted
        warm.start()
        warm.join()
        stop = time.perf_counter() + seconds
        cpu_before, client_before = _cpu_seconds(child.pid), time.process_time()
        began = time.perf_counter()
        threads = [threading.Thread(target=client, args=(False,)) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 15)
        elapsed = time.perf_counter() - began
        cpu_after, client_cpu = _cpu_seconds(child.pid), time.process_time() - client_before
        os.sched_setaffinity(0, cpus)
    finally:
        child.terminate()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)
    done = sum(statuses.values())
    server_cpu = ("n/a" if cpu_before is None or cpu_after is None
                  else f"{(cpu_after - cpu_before) / elapsed * 100:.0f}% of its core")
    print(f"3. /incident help on one core (waitress {THREADS} threads in a subprocess on CPU "
          f"{HELP_CPU}; {clients} client threads"
          + (f" on CPU {','.join(map(str, sorted(others)))})" if others else ", same CPU)"))
    print(f"   {prebuilt} requests pre-signed in {built:.1f} s (not timed); "
          f"{len(pending)} left unused")
    print(f"   {done} requests in {elapsed:.2f} s: {done / elapsed:8.0f} requests/s")
    print(f"   non-200 answers: {done - statuses[200]}")
    print(f"   server CPU busy {server_cpu}; client CPU {client_cpu / elapsed * 100:.0f}% "
          "(near 100% means the Python client, not the server, is the limit)")


# -- 4. a burst of /incident open ---------------------------------------------------------
def open_burst(count: int = 100, seconds: float = 1.0, latency: float = LATENCY,
               modal_workers: int | None = None) -> dict[str, int]:
    """`count` `/incident open` commands spread over `seconds`, each over its own connection,
    every GitHub and Slack call `latency` slow: the forms shown, and the people told theirs
    could not open (Slack's trigger_id is good for 3 s after the command)."""
    from concurrent.futures import ThreadPoolExecutor

    config = configuration.load(ROOT / "incidentbot.yml")
    with Sandbox() as sandbox:
        disp = Dispatcher(config, SECRET, _connect(sandbox, config), allowed_teams=TEAMS,
                          **({"modal_workers": modal_workers} if modal_workers else {}))
        server, thread, base = _serve_in_thread(disp)
        sends = SlackRequests(sandbox.slack, sandbox.url, SECRET)
        for service in ("github", "slack"):
            sandbox.faults.add(kind="latency", seconds=latency, service=service, times=None)
        start = time.perf_counter()

        def send(i: int) -> int:
            wait = start + i * seconds / count - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            request = sends.command(f"open Burst {i}")  # Slack issues the trigger_id now
            with requests.Session() as session:
                return _post(session, base, request).status_code

        try:
            with ThreadPoolExecutor(max_workers=min(count, 32)) as clients:
                statuses = list(clients.map(send, range(count)))
            sent = time.perf_counter() - start
            disp.drain(timeout=120)
        finally:
            disp.close()
            server.close()
            thread.join(timeout=5)
        told = sum("could not open in time" in e["text"] for e in sandbox.slack.ephemerals)
        return {"sent": count, "acked": statuses.count(200), "shown": len(sandbox.slack.views),
                "expired": told, "views_open": len(sandbox.calls_to("slack", "views.open")),
                "sent_ms": round(sent * 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter runs")
    parser.add_argument("--serve-help", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_help:
        _serve_help()
        return
    count, seconds, prebuilt = (100, 2.0, 8_000) if args.quick else (500, 5.0, 20_000)

    tally = _Tally()
    quiet = logging.getLogger("incidentbot")
    quiet.addHandler(tally)
    quiet.propagate = False
    config = configuration.load(ROOT / "incidentbot.yml")
    with Sandbox() as sandbox:
        disp = Dispatcher(config, SECRET, _connect(sandbox, config), allowed_teams=TEAMS)
        server, thread, base = _serve_in_thread(disp)
        sends = SlackRequests(sandbox.slack, sandbox.url, SECRET)
        for service in ("github", "slack"):
            sandbox.faults.add(kind="latency", seconds=LATENCY, service=service, times=None)
        try:
            with requests.Session() as session:
                channel = open_to_channel(sandbox, sends, disp, session, base)
                print()
                if channel:
                    acks(sandbox, sends, disp, session, base, channel, count)
                    print()
        finally:
            disp.drain(timeout=180)
            disp.close()
            server.close()
            thread.join(timeout=5)
        sandbox.faults.clear()
        help_throughput(sends, seconds, prebuilt, clients=8)
    if tally.counts:
        print()
        print("logged by the dispatcher (warnings and errors, counted):")
        for reason, n in tally.counts.most_common():
            print(f"  {n:5}  {reason}")


if __name__ == "__main__":
    main()
