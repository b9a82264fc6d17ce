"""How fast the dispatcher acknowledges Slack, with a slow GitHub and Slack behind it.

    .venv/bin/python bench/dispatcher.py [--quick]

1. 500 signed slash commands over real HTTP (waitress) with 300 ms injected on every GitHub
   and Slack call: acknowledgement time p50 / p99 / max per command (Slack's limit is 3 s).
2. From an `open` form submission to the incident channel existing, with that latency.
3. Requests per second on one core for the cheap path (`/incident help`).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidentbot import config as configuration  # noqa: E402
from incidentbot import github, operations, pagerduty, slack  # noqa: E402
from incidentbot.dispatcher import Dispatcher  # noqa: E402
from incidentbot.sandbox import DEFAULTS, Sandbox  # noqa: E402
from incidentbot.sandbox.slack_requests import SignedRequest, SlackRequests, open_values  # noqa: E402
from incidentbot.settings import Settings  # noqa: E402

CONFIG = configuration.load(ROOT / "incidentbot.yml")
SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]


def serve(app: Dispatcher) -> tuple[str, object]:
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server  # type: ignore[union-attr]


def post(session: requests.Session, base: str, request: SignedRequest) -> tuple[int, float]:
    started = time.perf_counter()
    answer = session.post(base + request.path, data=request.body, headers=request.headers,
                          timeout=10)
    return answer.status_code, time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def acks(total: int) -> None:
    with Sandbox() as sb:
        settings = Settings.from_env({**sb.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"})
        conn = operations.Connections(github.connect(settings), slack.connect(settings),
                                      pagerduty.connect(settings), CONFIG)
        app = Dispatcher(CONFIG, SECRET, lambda: conn, workers=8)
        base, server = serve(app)
        make = SlackRequests(sb.slack, sb.url, SECRET)
        # An incident channel for the channel commands, made before the latency starts.
        issue, outcome = operations.open_incident(conn, title="Bench", severity=3,
                                                  request_id="bench")
        channel = outcome.card.channel_id if outcome.card else ""
        sb.faults.add(kind="latency", seconds=0.3, service="github", times=None)
        sb.faults.add(kind="latency", seconds=0.3, service="slack", times=None)
        kinds = ["help", "list", "status fixing", "sev 9", "open Checkout down"]
        times: dict[str, list[float]] = {k: [] for k in kinds}
        failures = 0
        session = requests.Session()
        for i in range(total):
            text = kinds[i % len(kinds)]
            where = channel if text.startswith(("status", "sev")) else "C0INCIDENTS"
            request = make.command(text, channel=where or "C0INCIDENTS")
            status, elapsed = post(session, base, request)
            failures += status != 200
            times[text].append(elapsed)
        everything = [t for v in times.values() for t in v]
        print(f"1. acknowledgement of {total} signed slash commands, 300 ms on every "
              "GitHub and Slack call behind them")
        print(f"   {'command':<22} {'p50':>8} {'p99':>8} {'max':>8}")
        for text, values in [*times.items(), ("all", everything)]:
            print(f"   {text:<22} {pct(values, 50) * 1000:>6.1f}ms {pct(values, 99) * 1000:>6.1f}ms"
                  f" {max(values) * 1000:>6.1f}ms")
        print(f"   non-200 answers: {failures}")
        sb.faults.clear()
        app.drain(timeout=300)

        # 2. From the form's submission to the channel existing.
        sb.faults.add(kind="latency", seconds=0.3, service="github", times=None)
        sb.faults.add(kind="latency", seconds=0.3, service="slack", times=None)
        before = {c["id"] for c in sb.slack.state.channels.values()}
        post(session, base, make.command("open The form"))
        deadline = time.monotonic() + 30
        while not sb.slack.views and time.monotonic() < deadline:
            time.sleep(0.02)
        view = list(sb.slack.views.values())[-1]
        sb.clear_calls()
        started = time.perf_counter()
        status, ack = post(session, base, make.view_submission(
            view, open_values("The form", 2, ("checkout",)), view_id="V0BENCH0001"))
        created = None
        while time.monotonic() < deadline:
            new = [c for c in sb.slack.state.channels.values() if c["id"] not in before
                   and c["name"].startswith("inc-")]
            if new:
                created = time.perf_counter() - started
                break
            time.sleep(0.01)
        app.drain(timeout=120)
        calls = sb.calls
        gh = sum(1 for c in calls if c.service == "github")
        sl = sum(1 for c in calls if c.service == "slack")
        print(f"\n2. open form submitted: acknowledged in {ack * 1000:.0f} ms; channel created "
              f"after {created:.2f} s; the whole provisioning took {gh} GitHub and {sl} Slack "
              "calls at 300 ms each" if created else "\n2. the channel was not created")
        app.close()
        server.close()  # type: ignore[attr-defined]
        del issue


SERVER = """
import logging, sys, waitress
logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth" under load
sys.path.insert(0, {root!r})
from incidentbot import config as configuration
from incidentbot.dispatcher import Dispatcher
app = Dispatcher(configuration.load({config!r}), {secret!r}, lambda: None)
server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
print(server.effective_port, flush=True)
server.run()
"""


def throughput(seconds: float, clients: int) -> None:
    code = SERVER.format(root=str(ROOT), config=str(ROOT / "incidentbot.yml"), secret=SECRET)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        os.sched_setaffinity(process.pid, {0})
        base = f"http://127.0.0.1:{port}"
        with Sandbox() as sb:  # only to mint signed requests; the server makes no API call
            make = SlackRequests(sb.slack, sb.url, SECRET)
            prebuilt = [make.command("help") for _ in range(int(4000 * seconds / 5))]
        counter = {"done": 0, "failed": 0}
        lock = threading.Lock()
        stop = time.monotonic() + seconds

        def client(chunk: list[SignedRequest]) -> None:
            session = requests.Session()
            for request in chunk:
                if time.monotonic() > stop:
                    return
                status, _ = post(session, base, request)
                with lock:
                    counter["done"] += 1
                    counter["failed"] += status != 200

        chunks = [prebuilt[i::clients] for i in range(clients)]
        threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        print(f"\n3. /incident help on one core (waitress, 4 threads, {clients} clients): "
              f"{counter['done'] / elapsed:.0f} requests/s over {elapsed:.1f} s, "
              f"{counter['failed']} failed")
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    acks(50 if args.quick else 500)
    throughput(1.0 if args.quick else 5.0, 4)
    print("\nThe acknowledgement never waits for GitHub or Slack: each command's slow work "
          "runs after the answer.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
