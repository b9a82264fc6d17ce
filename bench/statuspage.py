"""Building the status page for 50 services × 90 days of 5-minute samples and 10,000
incidents: build time (first, after a monitoring run, unchanged), peak memory, the size of
index.html and of the whole site; what a build reads with 90 days or 2 years of history
kept; and the GitHub requests of page builds with 1,000 past incidents (issue 12's goal:
≤ 3 with nothing changed).

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
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # history.py: past incidents as the product wrote them

from incidentbot.adapters import datastore, daycache
from incidentbot.core import config as configuration
from incidentbot.core.model import Service
from incidentbot.core.ports import Issue
from incidentbot.operations import statuspage

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
    from incidentbot.adapters.monitordata import DataDir

    started = time.perf_counter()
    for service in services:  # every sample, as each build read them before the day sums
        DataDir(data).samples(service.slug, NOW - timedelta(days=367))
    reading = time.perf_counter() - started
    cold, cold_s = _timed(lambda: statuspage.build(config, DataDir(data), issues,
                                                   root / "site", now=NOW))
    later = NOW + timedelta(minutes=5)
    _one_run(data, services, later)
    run, run_s = _timed(lambda: statuspage.build(config, DataDir(data), issues,
                                                 root / "site", now=later))
    again, again_s = _timed(lambda: statuspage.build(config, DataDir(data), issues,
                                                     root / "site", now=later))
    issues.append(Issue(incidents_n + 1, "One more", "", "open",
                        ("incident", "public", "sev:1", "status:open", "service:svc-1"),
                        later, later, "https://x/issues/new"))
    more, more_s = _timed(lambda: statuspage.build(config, DataDir(data), issues,
                                                   root / "site", now=later))
    latest = later + timedelta(minutes=5)
    _one_run(data, services, latest)
    empty, empty_s = _timed(lambda: statuspage.build(config, DataDir(data), issues,
                                                     root / "empty-site", now=latest))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    index = (root / "site" / "index.html").stat().st_size
    total = sum(p.stat().st_size for p in cold)
    print(f"{services_n} services × 90 days of 5-minute samples ({samples:,} samples, "
          f"seeded in {seeded:.1f} s) and {incidents_n:,} incidents; seconds are wall "
          "(process CPU) on a shared machine")
    print(f"  reading every sample, as each build did before the kept day sums: "
          f"{reading:.1f} s")
    print(f"  first build, no day sums kept yet: {cold_s}, {len(cold):,} files written")
    print(f"  build after one more monitoring run (the periodic build): {run_s}, "
          f"{len(run):,} files written")
    print(f"  build again, nothing changed: {again_s}, {len(again):,} files written")
    print(f"  build with one new incident: {more_s}, {len(more):,} files written")
    print(f"  build after a run into an empty site directory (as on an Actions runner, "
          f"which keeps the data branch but not the site): {empty_s}, {len(empty):,} files")
    print(f"  index.html: {index / 1024:.0f} KB (target under 100 KB); site: {len(cold):,} "
          f"files, {total / 1024 / 1024:.1f} MB; peak memory {peak:.0f} MB")
    for kept in (90, 366, 730):
        reads, spent = _history(config, kept)
        print(f"  2 services with {kept} days of history kept, build after a run: {spent}; "
              f"{reads.files} files opened, {reads.sampled} days read sample by sample, "
              f"{reads.summed} from kept sums")
    _requests(config, 5 if args.quick else 1000)
    return 0


def _timed(work: Callable[[], list[Path]]) -> tuple[list[Path], str]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    return out, f"{time.perf_counter() - wall:.1f} s ({time.process_time() - cpu:.1f} s)"


def _one_run(data: Path, services: Sequence[Service], moment: datetime) -> None:
    """One monitoring run's lines, appended to today's files as the monitor appends them."""
    for service in services:
        datastore.append(datastore.day_file(data / service.slug, moment), {
            "t": datastore.stamp(moment), "state": "up", "code": 200, "ms": 120, "run": "r",
            "where": "bench"})


def _history(config: configuration.Config, days: int) -> tuple[daycache.Reads, str]:
    """The warm build's reads with `days` of history kept: the same, whatever `days`."""
    services = tuple(Service(f"svc-{i}", f"Service {i}") for i in range(2))
    config = replace(config, services=services)
    root = Path(tempfile.mkdtemp(prefix="statuspage-history-"))
    for service in services:
        folder = root / "data" / service.slug
        folder.mkdir(parents=True)
        rows: dict[str, list[str]] = {}
        t = NOW - timedelta(days=days)
        while t < NOW:
            rows.setdefault(f"{t:%Y-%m-%d}", []).append(json.dumps(
                {"t": datastore.stamp(t), "state": "up", "code": 200, "ms": 100}))
            t += timedelta(minutes=5)
        for day, lines in rows.items():
            (folder / f"{day}.ndjson").write_text("\n".join(lines) + "\n")
    datastore.compact(root / "data", NOW)
    from incidentbot.adapters.monitordata import DataDir

    statuspage.build(config, DataDir(root / "data"), [], root / "site", now=NOW)
    later = NOW + timedelta(minutes=5)
    _one_run(root / "data", services, later)
    reads = daycache.Reads()
    _, spent = _timed(lambda: statuspage.build(config, DataDir(root / "data"), [],
                                               root / "site", now=later, reads=reads))
    return reads, spent


def _requests(config: configuration.Config, past: int) -> None:
    """GitHub requests of page builds (pagebuild.build_page, as the workflow runs it) on a
    stand-in seeded with `past` closed incidents, as GitHub holds them."""
    from history import seed_past_incidents

    from incidentbot.adapters import github
    from incidentbot.adapters.monitordata import DataDir
    from incidentbot.core.settings import Settings
    from incidentbot.operations import incidents as operations
    from incidentbot.operations import pagebuild
    from incidentbot.sandbox import Sandbox

    root = Path(tempfile.mkdtemp(prefix="statuspage-requests-"))
    with Sandbox() as sb:
        start = datetime.now(UTC).replace(microsecond=0)
        moment = {"now": start}
        sb.github.clock = lambda: moment["now"]
        seeded = seed_past_incidents(sb.github.store, past, end=start)
        settings = Settings.from_env({**sb.env("actions"), "INCIDENTBOT_RETRY_BACKOFF": "0"})
        c = operations.Connections(github.connect(settings), None, None, config)

        def build(minutes: int) -> str:
            moment["now"] = start + timedelta(minutes=minutes)
            sb.clear_calls()
            pagebuild.build_page(config, c, DataDir(root / "data"), root / "site",
                                now=moment["now"])
            calls = sb.calls_to("github")
            counted = len([x for x in calls if x.status != 304])
            return f"{counted} counted ({len(calls)} sent)"

        print(f"GitHub requests of a page build, {past:,} past incidents "
              f"({len(seeded.public)} public) on the stand-in, Actions token:")
        print(f"  first build (nothing kept yet):             {build(0)}")
        print(f"  next build, nothing changed (goal ≤ 3):     {build(5)}")
        moment["now"] = start + timedelta(minutes=7)
        sb.github_comment("alice", seeded.public[-1], "Public update: all good now.")
        print(f"  after a public update on one incident:      {build(10)}")
        moment["now"] = start + timedelta(minutes=12)
        sb.github_open("alice", "Checkout is slow", "Seen by customers.",
                       ["incident", "sev:2", "status:investigating", "service:checkout",
                        "public"])
        print(f"  after a new public incident:                {build(15)}")
        print(f"  the daily full listing, nothing changed:    {build(24 * 60 + 20)}")


if __name__ == "__main__":
    raise SystemExit(main())
