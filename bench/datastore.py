"""The status-data branch after a year of 5-minute runs for 50 services, with real git:
its packed size and object count, what a reader's depth-1 clone costs, and what one run pushes.

    .venv/bin/python bench/datastore.py [--days 365] [--services 50] [--commit-every 7]

Prints figures; asserts nothing.

How the year is simulated, and why the figure is the policy's own:

- The data is written in the real layout, line for line: every 5-minute run appends one
  line per service and one run line to the day's files, and `datastore.compact` (the real
  code) compacts each month once it is over. To save hours, a day's 288 runs are appended
  to each file in one write instead of 288; the bytes are the same, and the script checks
  first that its lines and paths are exactly what `DataDir.write_run` writes for a run.
- The branch policy is `databranch.publish`, the real code, pushing with a lease to a local
  bare repository: a commit per day of the month (each day's last run's), the current run's
  commit on top, and an orphan commit at the first run of a month. Every run of the real
  workflow replaces the tip; here one publish per simulated day (`--commit-every`) stands
  for the day's 288 runs, whose commits would each be replaced within minutes by the next.
  What stays reachable is the same either way (the last commit of each day of the month),
  so the branch at the end of the year is what the policy leaves, and its packed size and
  object count are what is printed. The year ends on 31 December with a full month not yet
  compacted: the largest the branch gets.
- The last day is published as the workflow publishes it: its runs, then one more run
  through `DataDir.write_run`, whose push is measured (the pack git sends for it: the
  objects its parent, the day before's commit, does not have).
- GitHub keeps a replaced commit's objects until its own maintenance prunes them; the
  branch's figure is the remote after `git gc --prune=now`.
- Samples are synthetic but shaped like real ones: runs start late by an exponential delay
  (mean 60 s: Actions schedules are late), response times are log-normal (median 150 ms),
  one run in a thousand fails, run ids grow like GitHub's. Real response times may vary
  more, and compress a little worse.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidentbot.adapters import databranch, datastore
from incidentbot.adapters.monitordata import DataDir
from incidentbot.core.health import DOWN, UP, Probe, ServiceState

START = datetime(2026, 1, 1, tzinfo=UTC)
RUNS_PER_DAY = 288
WHERE = "github-actions"


def _sample_line(stamp: str, probe: Probe, run_id: str) -> str:
    return json.dumps({"t": stamp, "state": probe.state, "code": probe.code, "ms": probe.ms,
                       "run": run_id, "where": WHERE}, separators=(",", ":")) + "\n"


def _run_line(stamp: str, run_id: str) -> str:
    return json.dumps({"t": stamp, "run": run_id, "where": WHERE,
                       "expected_interval_s": 300}, separators=(",", ":")) + "\n"


def _same_as_write_run(scratch: Path) -> None:
    """The batched lines below are byte for byte what the monitor writes for one run."""
    now, probe = START, Probe(UP, 200, 123)
    DataDir(scratch).write_run("42", WHERE, now, {"svc-0": probe},
                               {"svc-0": ServiceState()})
    stamp = datastore.stamp(now)
    if ((scratch / "svc-0" / "2026-01-01.ndjson").read_text()
            != _sample_line(stamp, probe, "42")
            or (scratch / "runs" / "2026-01-01.ndjson").read_text() != _run_line(stamp, "42")):
        raise SystemExit("the simulated lines differ from DataDir.write_run's: fix the bench")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True,
                          check=True).stdout


def _pack_bytes(repo: Path, revs: str, *, thin: bool = False) -> int:
    """The bytes of the pack git sends for `revs` (a fetch, or a push when `thin`)."""
    args = ["git", "-C", str(repo), "pack-objects", "--revs", "--stdout", "-q"]
    return len(subprocess.run([*args, *(["--thin"] if thin else [])], input=revs.encode(),
                              capture_output=True, check=True).stdout)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _objects(repo: Path) -> dict[str, int]:
    found = {}
    for line in _git("-C", str(repo), "count-objects", "-v").splitlines():
        key, _, value = line.partition(": ")
        found[key] = int(value)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--commit-every", type=int, default=1, metavar="DAYS",
                        help="publish (the day's commit) every this many simulated days")
    args = parser.parse_args()
    rng = random.Random(18)  # noqa: S311 (synthetic samples, not secrets)
    work = Path(tempfile.mkdtemp(prefix="datastore-bench-"))
    _same_as_write_run(work / "scratch")
    remote = work / "remote.git"
    _git("init", "--quiet", "--bare", str(remote))
    branch = databranch.Branch(str(remote), "status-data")
    data = work / "data"
    lease = databranch.checkout(branch, data)
    slugs = [f"svc-{i}" for i in range(args.services)]
    run_id = 14_000_000_000
    started = time.perf_counter()
    publishes = 0
    for day in range(args.days):
        midnight = START + timedelta(days=day)
        final = day + 1 == args.days
        datastore.compact(data, midnight)  # what the day's first write_run does
        samples: dict[str, list[str]] = {slug: [] for slug in slugs}
        runs: list[str] = []
        for n in range(RUNS_PER_DAY - 1 if final else RUNS_PER_DAY):
            moment = midnight + timedelta(seconds=300 * n + int(rng.expovariate(1 / 60)))
            moment = min(moment, midnight + timedelta(days=1, seconds=-120))
            stamp = datastore.stamp(moment)
            run_id += rng.randint(10_000, 2_000_000)
            runs.append(_run_line(stamp, str(run_id)))
            for slug in slugs:
                failed = rng.random() < 0.001
                probe = (Probe(DOWN, 503, int(rng.lognormvariate(5, 0.3)), "HTTP 503")
                         if failed else Probe(UP, 200, int(rng.lognormvariate(5, 0.3))))
                samples[slug].append(_sample_line(stamp, probe, str(run_id)))
        for slug, lines in samples.items():
            path = datastore.day_file(data / slug, midnight)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write("".join(lines))
        runs_path = datastore.day_file(data / datastore.RUNS, midnight)
        runs_path.parent.mkdir(parents=True, exist_ok=True)
        with runs_path.open("a", encoding="utf-8") as out:
            out.write("".join(runs))
        DataDir(data).write_state({slug: ServiceState() for slug in slugs})
        if (day + 1) % args.commit_every == 0 or final:
            end = midnight + timedelta(days=1, seconds=-300)
            lease = databranch.publish(branch, data, lease, f"day {day + 1}",
                                       now=end) or lease
            publishes += 1
    elapsed = time.perf_counter() - started
    runs_total = args.days * RUNS_PER_DAY
    tree = _size(data) - _size(data / ".git")
    # The day's last run, written and published exactly as the workflow's run does it.
    last = START + timedelta(days=args.days, seconds=-60)
    DataDir(data).write_run(str(run_id + 1), WHERE, last,
                            {slug: Probe(UP, 200, 150) for slug in slugs},
                            {slug: ServiceState() for slug in slugs})
    new = databranch.publish(branch, data, lease, "last run", now=last) or lease
    push_bytes = _pack_bytes(data, f"{new}\n^{lease}\n", thin=True)
    push_objects = len(_git("-C", str(data), "rev-list", "--objects", new,
                            f"^{lease}").splitlines())  # what `git push` sends
    _git("-C", str(remote), "gc", "--quiet", "--prune=now")
    packed = _objects(remote)
    reader = work / "reader"  # a reader: the page build, a person, another host
    _git("clone", "--quiet", "--depth", "1", "--branch", "status-data",
         f"file://{remote}", str(reader))
    fetch_bytes = sum(p.stat().st_size for p in (reader / ".git" / "objects").rglob("*")
                      if p.is_file())
    read_back = len(DataDir(reader).samples(slugs[0]))
    commits = int(_git("-C", str(remote), "rev-list", "--count", "status-data").strip())

    def mb(kib: int) -> str:
        return f"{kib / 1024:.1f} MB"

    print(f"simulated: {args.days} days x {RUNS_PER_DAY} runs = {runs_total:,} runs, "
          f"{args.services} services ({runs_total * args.services:,} samples), "
          f"{publishes} publishes, in {elapsed:.0f} s")
    print(f"working tree: {tree / 2**20:.1f} MB in "
          f"{sum(1 for p in data.rglob('*') if p.is_file() and '.git' not in p.parts)} files")
    print(f"branch: {commits} commits (one per day of the month so far, the last run's on top)")
    print(f"remote packed (git gc --prune=now): {mb(packed['size-pack'])}, "
          f"{packed['in-pack']:,} objects   (goal: < 50 MB, < 100k objects)")
    print(f"a depth-1 clone: {fetch_bytes / 2**20:.1f} MB of objects; it reads back "
          f"{read_back:,} samples of {slugs[0]}")
    print(f"the day's last run pushes {push_bytes / 1024:,.0f} KiB in {push_objects} objects "
          "(today's files, the trees above them, the commit)")
    print(f"a month's first run pushes the whole tree once: {fetch_bytes / 2**20:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
