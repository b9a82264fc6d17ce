"""Building the status page for 50 services × 90 days of 5-minute samples and 10,000
incidents: build time, peak memory, the size of index.html and of the whole site.

    .venv/bin/python bench/statuspage.py [--quick]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidentbot import config as configuration  # noqa: E402
from incidentbot import datastore, statuspage  # noqa: E402
from incidentbot.model import Service  # noqa: E402
from incidentbot.ports import Issue  # noqa: E402

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="5 services, 1,000 incidents")
    args = parser.parse_args()
    services_n, incidents_n = (5, 1000) if args.quick else (50, 10_000)
    config = configuration.load(ROOT / "incidentbot.yml")
    services = tuple(Service(f"svc-{i}", f"Service {i}") for i in range(services_n))
    config = replace(config, services=services)
    root = Path(tempfile.mkdtemp(prefix="statuspage-bench-"))
    data = root / "data"
    started = time.perf_counter()
    samples = 0
    for i, service in enumerate(services):
        (data / service.slug).mkdir(parents=True)
        lines: dict[str, list[str]] = {}
        t = NOW - timedelta(days=90)
        while t < NOW:
            state = "down" if (t.hour == i % 24 and t.day % 7 == 0) else "up"
            stamp = t.isoformat().replace("+00:00", "Z")
            lines.setdefault(f"{t:%Y-%m-%d}", []).append(json.dumps(
                {"t": stamp, "state": state, "code": 200, "ms": 100 + t.minute, "run": "r",
                 "where": "bench"}))
            t += timedelta(minutes=5)
            samples += 1
        for day, rows in lines.items():  # the monitor's layout: a file per day...
            (data / service.slug / f"{day}.ndjson").write_text("\n".join(rows) + "\n")
    datastore.compact(data, NOW)  # ...and one per finished month, as its runs leave them
    seeded = time.perf_counter() - started
    issues = []
    for n in range(1, incidents_n + 1):
        opened = NOW - timedelta(hours=n % (24 * 365))
        labels = ("incident", "public" if n % 3 else "private", "sev:2", "status:closed",
                  f"service:svc-{n % services_n}")
        issues.append(Issue(n, f"Incident {n}", "", "closed", labels, opened,
                            opened + timedelta(hours=1), f"https://x/issues/{n}",
                            closed_at=opened + timedelta(hours=1)))
    from incidentbot.monitor import DataDir

    started = time.perf_counter()
    for service in services:  # the monitor's storage alone (what the build must read)
        DataDir(data).samples(service.slug, NOW - timedelta(days=367))
    reading = time.perf_counter() - started
    started = time.perf_counter()
    written = statuspage.build(config, DataDir(data), issues, root / "site", now=NOW)
    built = time.perf_counter() - started
    started = time.perf_counter()
    again = statuspage.build(config, DataDir(data), issues, root / "site", now=NOW)
    rebuilt = time.perf_counter() - started
    issues.append(Issue(incidents_n + 1, "One more", "", "open",
                        ("incident", "public", "sev:1", "status:open", "service:svc-1"),
                        NOW, NOW, "https://x/issues/new"))
    started = time.perf_counter()
    more = statuspage.build(config, DataDir(data), issues, root / "site", now=NOW)
    one_more = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    index = (root / "site" / "index.html").stat().st_size
    total = sum(p.stat().st_size for p in written)
    print(f"{services_n} services × 90 days of 5-minute samples ({samples:,} samples, "
          f"seeded in {seeded:.1f} s) and {incidents_n:,} incidents")
    print(f"  build: {built:.1f} s, of which reading the samples (monitor.DataDir) "
          f"~{reading:.1f} s; peak memory {peak:.0f} MB (the whole process)")
    print(f"  build again, nothing changed: {rebuilt:.1f} s, {len(again):,} files written")
    print(f"  build with one new incident: {one_more:.1f} s, {len(more):,} files written")
    print(f"  index.html: {index / 1024:.0f} KB (target under 100 KB); site: {len(written):,} "
          f"files, {total / 1024 / 1024:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
