"""200 health checks on loopback (a tenth slow, a tenth failing): concurrent vs one by one.

    .venv/bin/python bench/checks.py

Prints figures; asserts nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidentbot.adapters import probes
from incidentbot.core.model import HealthCheck, Service


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(0.5)
        code = 500 if self.path.startswith("/fail") else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    services = []
    for i in range(200):
        path = "/slow" if i % 10 == 0 else "/fail" if i % 10 == 1 else "/ok"
        services.append(Service(f"s{i}", f"S{i}", checks=(
            HealthCheck("http", url=f"{base}{path}/{i}", timeout_s=5, max_response_ms=300),)))
    rows = []
    for label, concurrency in (("concurrent (20 at a time)", 20), ("one after another", 1)):
        started = time.perf_counter()
        results = probes.run_checks(services, {}, concurrency=concurrency, retry=False)
        elapsed = time.perf_counter() - started
        states = {s: sum(1 for r in results.values() if r.state == s)
                  for s in ("up", "degraded", "down")}
        rows.append((label, elapsed, states))
    print("200 checks on 127.0.0.1: 20 take 0.5 s (degraded), 20 answer 500 (down)")
    for label, elapsed, states in rows:
        print(f"  {label:<28} {elapsed:6.2f} s   {states}")
    print(f"  concurrent runs {rows[1][1] / rows[0][1]:.1f}x faster than one after another")
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
