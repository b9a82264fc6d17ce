"""One periodic run with nothing changed, end to end, and what the cadence costs a month in
Actions minutes.

    .venv/bin/python bench/periodic.py

Prints figures; asserts nothing. What is timed, on this machine, with no network:

1. The install, both ways the workflow can meet it. A cache hit restores the cached virtual
   environment (here: extracting its tarball, as actions/cache does after downloading it);
   a miss makes a venv and installs the package and its dependencies from a warm local
   wheel cache (`pip install --no-index --find-links`). Building that wheel cache (the
   "warm" part) is done first and not timed.
2. `incidentbot periodic` from that fresh venv, as the workflow runs it, against the
   sandbox (GitHub + Slack on 127.0.0.1): two services with TCP checks on the sandbox's
   port, three old closed incidents, the data branch and gh-pages on a local bare repo. A
   first pass builds the page and the data branch (not timed); the timed pass is the usual
   one, where nothing changed: checks recorded and pushed, no incident synced, no page.

Minutes: GitHub bills each job of a private repository in whole minutes, rounded up, and
a public repository's standard runners are free. A month here is 30 days. The runner's own
start-up (checkout, setup-python, the cache download) is not measurable here; the figure
printed takes the job as one billed minute whenever the measured work leaves most of that
minute for it.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidentbot.adapters import github, slack
from incidentbot.core import config as configuration
from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.settings import Settings
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox

CADENCES = (5, 10, 15, 30, 60)
MONTH_MINUTES = 30 * 24 * 60
CONFIG = """\
repository: acme/incidents
services:
  - slug: checkout
    name: Checkout
    checks:
      - {{type: tcp, host: 127.0.0.1, port: {port}}}
  - slug: payments
    name: Payments API
    checks:
      - {{type: tcp, host: 127.0.0.1, port: {port}}}
"""


def _timed(args: list[str], **kwargs: object) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False,
                          **kwargs)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])}... failed:\n{done.stdout}{done.stderr}")
    return elapsed, str(done.stdout)


def _seed(sandbox: Sandbox, config: configuration.Config) -> None:
    """Three incidents opened and closed two days ago: nothing for the sweep to do."""
    past = datetime.now(UTC) - timedelta(days=2)
    sandbox.github.clock = lambda: past
    settings = Settings.from_env({**sandbox.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"})
    c = operations.Connections(github.connect(settings), slack.connect(settings), None,
                               config, lambda: past)
    for n in range(3):
        issue, _ = operations.open_incident(c, title=f"Old incident {n}", severity=3,
                                            services=["checkout"], request_id=f"old-{n}")
        operations.update_incident(c, issue.number, Change(status=Status.FIXED))
        operations.close_incident(c, issue.number, force=True)  # no postmortem to wait for
    sandbox.github.clock = lambda: datetime.now(UTC)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="periodic-bench-"))
    wheels = work / "wheels"
    print("warming the wheel cache (not timed)...", file=sys.stderr)
    _timed([sys.executable, "-m", "pip", "wheel", "--quiet", str(ROOT), "-w", str(wheels)])

    venv = work / "venv"
    miss_venv, _ = _timed([sys.executable, "-m", "venv", str(venv)])
    miss_pip, _ = _timed([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", "--no-index", "--find-links",
                          str(wheels), "incidentbot"])
    archive = work / "venv.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # the cache save (not timed)
        tar.add(venv, arcname="venv")
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    hit, _ = _timed(["tar", "-xzf", str(archive), "-C", str(work)])

    with Sandbox(port=0) as sandbox:
        port = urlsplit(sandbox.url).port
        config_path = work / "incidentbot.yml"
        config_path.write_text(CONFIG.format(port=port))
        config = configuration.load(config_path)
        _seed(sandbox, config)
        remote = work / "remote.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), **sandbox.env(),
               "GITHUB_RUN_ID": "1"}
        command = [str(venv / "bin" / "incidentbot"), "periodic", "--config",
                   str(config_path), "--where", "bench", "--data", str(work / "data"),
                   "--data-branch", "status-data", "--out", str(work / "site"),
                   "--site-branch", "gh-pages", "--remote", str(remote)]
        _timed(command, env=env, cwd=work)  # the first pass: page and branch made
        subprocess.run(["rm", "-rf", str(work / "data"), str(work / "site")], check=True)
        calls = len(sandbox.calls)
        quiet, said = _timed(command, env={**env, "GITHUB_RUN_ID": "2"}, cwd=work)
        requests = len(sandbox.calls) - calls

    print("one periodic run with nothing changed, measured here:")
    for line in said.splitlines():
        print(f"    | {line}")
    print(f"  install, cache hit (restore the venv):     {hit:5.1f} s")
    print(f"  install, cache miss (venv + pip, warm):    {miss_venv + miss_pip:5.1f} s")
    print(f"  incidentbot periodic (fresh clone of the data branch, {requests} API "
          f"requests): {quiet:5.1f} s")
    print(f"  total: {hit + quiet:.1f} s on a cache hit, {miss_venv + miss_pip + quiet:.1f} s "
          "on a miss   (goal: < 30 s)")
    print(f"  (the runner's start-up, checkout and cache download come on top and are not "
          f"measurable here: the job stays in its first billed minute while they take under "
          f"{60 - hit - quiet:.0f} s)")
    billed = max(1, math.ceil((hit + quiet) / 60))
    print(f"\nbilled Actions minutes a month for the periodic work ({billed} billed minute "
          "per run; 30-day month):")
    print("  cadence   runs/month   private repo   public repo   dispatcher runs it")
    for every in CADENCES:
        runs = MONTH_MINUTES // every
        print(f"  {every:>3} min   {runs:>10,}   {runs * billed:>12,}   {0:>11}   {0:>18}")
    before = 2 * (MONTH_MINUTES // 5)
    print(f"  before (two 5-minute schedules, each at least a minute): {before:,} a month")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
