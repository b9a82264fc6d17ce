"""Every figure of issue 12's goal table (GitHub's request budget), each beside its goal.

    .venv/bin/python bench/budget.py [--quick]

Against the sandbox, which is checked first to answer `X-RateLimit-*` as GitHub does, to
honour `If-None-Match` with a 304 that costs nothing, and to give the Actions token 1,000
requests an hour; seeded with 1,000 past incidents as GitHub holds them
(tests/history.py: closed issues with their labels, the bot's card,
comments, every tenth public). Request counts leave out 304s (free on GitHub). It reuses
bench/lifecycle.py, bench/cold_start.py and bench/dispatcher.py. Prints; asserts nothing:
times are medians on a shared machine, and the pass marks are for reading, not for CI.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # history.py: past incidents as the product wrote them

from history import seed_past_incidents

from bench import cold_start, lifecycle
from bench import dispatcher as dispatcher_bench
from incidentbot.core.commands import Change
from incidentbot.core.errors import IncidentbotError
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import periodic
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE

BUDGET = 1000  # the Actions GITHUB_TOKEN's requests an hour per repository
RUNS_AN_HOUR = 12  # periodic.yml: cron "*/5 * * * *"
CALL = 0.3  # seconds per API call for the latency figures
# No health checks: the probes would reach the hosts of incidentbot.yml, and cost no request.
CONFIG = replace(lifecycle.CONFIG, services=tuple(replace(s, checks=())
                                                  for s in lifecycle.CONFIG.services))


def billed(sb: Sandbox) -> int:
    """GitHub requests in the call log that count against the budget (a 304 does not)."""
    return sum(1 for c in sb.calls_to("github") if c.status != 304)


def clocked(sb: Sandbox, identity: str,
            clock: Callable[[], datetime]) -> operations.Connections:
    c = lifecycle.connect_as(sb, identity)
    return operations.Connections(c.tracker, c.chat, c.pager, CONFIG, clock)


# -- the stand-in ----------------------------------------------------------------------------
def stand_in() -> str:
    """What the sandbox answers that GitHub's budget depends on, checked over HTTP."""
    with Sandbox() as sb:
        seed_past_incidents(sb, 1)
        env = sb.env("actions")
        url = f"{sb.github_url}/repos/{env['GITHUB_REPOSITORY']}/issues/1"
        headers = {"Authorization": f"Bearer {env['GITHUB_TOKEN']}"}
        first = requests.get(url, headers=headers, timeout=10)
        again = requests.get(url, headers={**headers, "If-None-Match": first.headers["ETag"]},
                             timeout=10)
    limit = first.headers.get("X-RateLimit-Limit")
    used = (first.headers.get("X-RateLimit-Used"), again.headers.get("X-RateLimit-Used"))
    ok = (first.status_code == 200 and again.status_code == 304 and limit == str(BUDGET)
          and used[0] == used[1] == "1" and "X-RateLimit-Reset" in first.headers)
    return (f"stand-in: X-RateLimit-Limit {limit} for the Actions token, Used {used[0]} after "
            f"a GET and {used[1]} after its conditional repeat (HTTP {again.status_code}): "
            + ("as GitHub counts" if ok else "NOT as GitHub counts"))


# -- the page build --------------------------------------------------------------------------
def page_build(history: int) -> tuple[int, int]:
    """Requests of the page build alone with nothing changed: a periodic pass that rebuilds
    it (an hour after the last build) less the same pass five minutes later (not rebuilt).
    Each pass is a new process, as on Actions. Returns (unchanged build, first build)."""
    with Sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        start = datetime.now(UTC).replace(microsecond=0)
        seed_past_incidents(sb, history, end=start, public_every=10)
        moment = {"now": start}
        sb.github.clock = lambda: moment["now"]
        options = periodic.Options(data=Path(tmp) / "data", site=Path(tmp) / "site")

        def one_pass(at: datetime) -> int:
            moment["now"] = at
            c = clocked(sb, "actions", lambda: moment["now"])
            sb.clear_calls()
            periodic.run(CONFIG, lambda: c, options, now=at)
            return billed(sb)

        first = one_pass(start)
        rebuilt = one_pass(start + timedelta(minutes=61))
        quiet = one_pass(start + timedelta(minutes=66))
    return rebuilt - quiet, first - quiet


# -- an hour on the Actions token ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Hour:
    lifecycles: int
    used: int      # the Actions token's requests in the hour
    refused: int   # requests GitHub refused for the budget (403)
    periodic: int  # of `used`: the 12 periodic passes (checks, sweep, page)
    runs: int      # incident workflow runs the lifecycles' writes started
    failed: int    # passes and lifecycle steps that failed (a spent budget)


def hour(lifecycles: int, history: int, *, public_every: int = 5) -> Hour:
    """One hour on a fake clock (no waiting): periodic.yml's 12 passes (sweep, reminders and
    the page when it is due: hourly, or when a public incident changed), and `lifecycles`
    incidents opened from Slack and taken open → fixing → fixed → close three minutes apart,
    spread over the hour, every `public_every`-th public. Every write goes through the
    Actions token (the bound the issue counts: a deployment's dispatcher spends its App's
    budget instead); the incident workflow runs the deliveries start (incident.yml's rules)
    are run too, and each periodic pass and workflow run is a new process."""
    with Sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
        seed_past_incidents(sb, history, public_every=10)
        moment = {"now": t0 - timedelta(minutes=65)}
        clock = lambda: moment["now"]  # noqa: E731
        sb.github.clock = clock
        token = sb.env("actions")["GITHUB_TOKEN"]
        options = periodic.Options(data=Path(tmp) / "data", site=Path(tmp) / "site")
        seen = sb.deliveries()[-1].seq if sb.deliveries() else 0
        spent = {"periodic": 0, "runs": 0, "failed": 0}

        def periodic_pass(identity: str = "actions") -> None:
            before = sb.github.used(token)
            c = clocked(sb, identity, clock)
            periodic.run(CONFIG, lambda: c, options, now=moment["now"])
            spent["periodic"] += sb.github.used(token) - before

        # The pass before the hour: the page built, the records written. With another token,
        # so that the Actions token's hour starts with the first pass of the hour.
        periodic_pass("default")
        by = Attribution(ALICE, "Slack")
        conns: dict[int, operations.Connections] = {}
        numbers: dict[int, int] = {}

        def step(k: int, j: int) -> None:
            if j and k not in numbers:
                raise IncidentbotError("never opened")
            if j == 0:
                conns[k] = c = clocked(sb, "actions", clock)
                issue, _ = operations.open_incident(
                    c, title=f"Lifecycle {k}", severity=2, services=["checkout"],
                    public=public_every > 0 and k % public_every == public_every - 1,
                    reporter=ALICE, by=by)
                numbers[k] = issue.number
            elif j < 3:
                operations.update_incident(conns[k], numbers[k], Change(
                    status=(Status.FIXING, Status.FIXED)[j - 1]), by=by)
            else:
                operations.close_incident(conns[k], numbers[k], force=True, by=by)

        events: list[tuple[datetime, int, int, int]] = [
            (t0 + timedelta(minutes=5 * i), 0, 0, 0) for i in range(RUNS_AN_HOUR)]
        gap = timedelta(minutes=45) / max(lifecycles, 1)
        events += [(t0 + timedelta(seconds=30) + gap * k + timedelta(minutes=3 * j), 1, k, j)
                   for k in range(lifecycles) for j in range(4)]
        sb.clear_calls()
        for when, kind, k, j in sorted(events):
            moment["now"] = when
            try:
                if kind == 0:
                    periodic_pass()
                else:
                    step(k, j)
                seen, started = lifecycle.run_workflows(sb, seen, CONFIG, now=when)
                spent["runs"] += started
            except IncidentbotError:  # the budget spent (counted below), or what follows it
                spent["failed"] += 1
                seen = sb.deliveries()[-1].seq if sb.deliveries() else seen
        used = sb.github.used(token)
        refused = sum(1 for c in sb.calls_to("github") if c.status == 403)
    return Hour(lifecycles, used, refused, spent["periodic"], spent["runs"], spent["failed"])


def lifecycles_an_hour(history: int, probe: int, confirm: bool) -> tuple[int, list[Hour]]:
    """The most lifecycles that fit the hour. The periodic cost with none and the marginal
    cost per lifecycle from `probe` of them give an estimate; simulated hours confirm it,
    bisecting below it when it does not fit (at most four more hours)."""
    hours: dict[int, Hour] = {}

    def fits(n: int) -> bool:
        if n not in hours:
            hours[n] = hour(n, history)
        h = hours[n]
        return h.used <= BUDGET and not h.refused and not h.failed

    if not fits(0):
        return 0, list(hours.values())
    fits(probe)
    per = max(1.0, (hours[probe].used - hours[0].used) / probe)
    best = max(0, int((BUDGET - hours[0].used) // per))
    if not confirm:
        return best, list(hours.values())
    low, high = 0, None
    for _ in range(4):
        if fits(best):
            low = best
            if high is None or best + 1 >= high:
                break
        else:
            high = best
        best = (low + high) // 2 if high is not None else best
        if best <= low:
            break
    return low, list(hours.values())


# -- latency and start-up --------------------------------------------------------------------
def _env(sb: Sandbox, identity: str) -> dict[str, str]:
    mine = ("GITHUB_", "SLACK_", "PAGERDUTY_", "INCIDENTBOT_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(mine)},
            **sb.env(identity)}


def cli_open(runs: int) -> tuple[float, float, int]:
    """`incidentbot open` as a person runs it (own token), every GitHub and Slack call CALL
    slow: seconds from the command's start until the channel exists, until its first request
    left, and the calls made before the channel (medians of `runs`)."""
    script = cold_start.console_script()
    until, first, before = [], [], []
    with Sandbox() as sb:
        env = _env(sb, "carol")
        argv = [script, "open", "--title", "Checkout returns 502", "-s", "2",
                "--service", "checkout"]
        subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=True)  # labels
        for service in ("github", "slack"):
            sb.faults.add(kind="latency", seconds=CALL, service=service, times=None)
        for _ in range(runs):
            sb.clear_calls()
            start = time.time()
            subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=True)
            calls = sb.calls
            made = next(i for i, c in enumerate(calls) if c.operation == "conversations.create")
            until.append(calls[made].at - start)
            first.append(min(c.at for c in calls) - CALL - start)
            before.append(made)
    return statistics.median(until), statistics.median(first), int(statistics.median(before))


def cold_starts(runs: int, *, python: str = "",
                script: str = "") -> dict[str, tuple[float, float]]:
    """(wall ms, CPU ms) of `python -c pass`, `--help`, `list`, a no-op `sync N` and the
    floors of one HTTPS request, of `list` and of a sync: medians from bench/cold_start.py,
    all measured in one run (in another environment with `python` and `script`)."""
    wanted = ("python -c pass", "incidentbot --help", "incidentbot list", "(nothing to do)")
    found = cold_start.measure(runs, python=python, script=script)
    kept = {label: (wall, cpu) for label, wall, _r, cpu, _c in found
            if any(label == w or label.endswith(w) for w in wanted)}
    floors = {label: (wall, cpu) for label, wall, _r, cpu, _c in found
              if label in cold_start.FLOORS}
    return {**kept, **floors}


def _ratios(ms: dict[str, tuple[float, float]]) -> tuple[list[float], list[float], list[float]]:
    """Wall ratios to `python -c pass` of --help, list and sync, their CPU ratios, and the
    wall ratios of the three floors."""
    base, base_cpu = ms["python -c pass"]
    timed = [v for k, v in ms.items() if k != "python -c pass" and k not in cold_start.FLOORS]
    return ([w / base for w, _ in timed], [c / base_cpu for _, c in timed],
            [ms[k][0] / base for k in cold_start.FLOORS])


# -- the table -------------------------------------------------------------------------------
def _mark(ok: bool | None) -> str:
    return "" if ok is None else "pass" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100 past incidents, fewer runs, no confirming hour")
    args = parser.parse_args()
    logging.getLogger("incidentbot").setLevel(logging.CRITICAL)  # counted below instead
    logging.getLogger("github").setLevel(logging.CRITICAL)  # the 403s of a spent budget
    logging.getLogger("waitress").setLevel(logging.ERROR)  # "Task queue depth is 1"
    history = 100 if args.quick else 1000
    runs = 3 if args.quick else 9
    print(stand_in())
    print(f"seeded: {history:,} past incidents (closed, labelled, carded, commented; "
          "every tenth public)\n")

    counted, _ = lifecycle.operations_counted(10, [0.0], history)
    whole, noop = counted["whole lifecycle open → close"], counted["no-op re-sync"]
    gh, slack = whole["gh_read"] + whole["gh_write"], whole["slack"]
    apart_gh, apart_slack = lifecycle.spread(history)
    noop_gh = noop["gh_read"] + noop["gh_write"]
    sweep0, _ = lifecycle.sweeps(0, history)
    sweep50, _ = lifecycle.sweeps(50, history)
    page, first_page = page_build(history)
    best, hours = lifecycles_an_hour(history, probe=5, confirm=not args.quick)
    channel, start_up, before = cli_open(3 if args.quick else 5)
    ms = cold_starts(runs)
    base = ms["python -c pass"][0]
    ratios, cpu_ratios, floors = _ratios(ms)
    installed: tuple[list[float], list[float], list[float]] | None = None
    if not args.quick:
        with cold_start.installed() as (python, script):
            installed = _ratios(cold_starts(runs, python=python, script=script))
    burst = dispatcher_bench.open_burst(100, 1.0, CALL)
    with Sandbox() as sb:
        seed_past_incidents(sb, history, public_every=10)
        app_requests, actions_requests, workflow_runs = lifecycle.deployment(sb)

    rows = [
        ("lifecycle open → fixing → fixed → close", f"{gh} GitHub / {slack} Slack",
         "≤ 15 / ≤ 20", gh <= 15 and slack <= 20),
        ("  the same, its steps three minutes apart", f"{apart_gh} GitHub / {apart_slack} Slack",
         "≤ 15 / ≤ 20", apart_gh <= 15 and apart_slack <= 20),
        (f"lifecycles an hour on {BUDGET:,} requests (sweeps, pages, {history:,} past)",
         f"{best}", "≥ 50", best >= 50),
        ("one sweep, 0 / 50 quiet open incidents", f"{sweep0} / {sweep50}", "≤ 2 / ≤ 10",
         sweep0 <= 2 and sweep50 <= 10),
        (f"status page build, {history:,} past incidents, unchanged", f"{page}", "≤ 3",
         page <= 3),
        ("no-op sync", f"{noop['slack']} Slack, {noop_gh} GitHub (+{noop['gh_304']} 304)",
         "0, ≤ 2", noop["slack"] == 0 and noop_gh <= 2),
        (f"CLI open → channel exists, {CALL * 1000:.0f} ms a call", f"{channel:.2f} s",
         "< 1.5 s", channel < 1.5),
        ("cold start --help / list / sync N vs python -c pass",
         " / ".join(f"{r:.1f}×" for r in ratios) + " (CPU: "
         + " / ".join(f"{r:.1f}×" for r in cpu_ratios) + ")", "< 1.5× / < 3× / < 3×",
         ratios[0] < 1.5 and ratios[1] < 3 and ratios[2] < 3),
        ("  floors: one HTTPS request / list's imports / sync's",
         " / ".join(f"{r:.1f}×" for r in floors), "(no goal: the least possible)", None),
        (f"100 /incident open in 1 s, {CALL * 1000:.0f} ms a call",
         f"{burst['shown']} forms", "100 forms", burst["shown"] == 100),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':{width}}  {'measured':28}  {'goal':22}")
    for figure, measured, goal, ok in rows:
        print(f"{figure:{width}}  {measured:28}  {goal:22}  {_mark(ok)}")

    print("\nHow each was measured:")
    print(f"- lifecycle: bench/lifecycle.py's, in one process as the dispatcher runs it, its "
          f"steps back to back ({whole['gh_304']} more GitHub reads were free 304s), then three "
          "minutes apart on GitHub's clock and the claims' (no free 304 after a card edit).")
    print(f"- lifecycles an hour: simulated hours on a fake clock, {RUNS_AN_HOUR} periodic "
          "passes (periodic.yml's */5) with the page rebuilt when due, lifecycles spread over "
          "the hour (every fifth public), all on the Actions token, the incident workflow "
          "runs they start included:")
    for h in hours:
        print(f"    {h.lifecycles:>3} lifecycles: {h.used:>5} requests ({h.periodic} by the "
              f"periodic passes, {h.runs} workflow runs), {h.refused} refused, "
              f"{h.failed} steps or passes failed")
    empty, some = hours[0], hours[1]
    per = max(1.0, (some.used - empty.used) / max(some.lifecycles, 1))
    print(f"    marginal cost {per:.1f} requests a lifecycle; ({BUDGET:,} − {empty.used}) / "
          f"{per:.1f} = {int((BUDGET - empty.used) // max(per, 1))}; the largest hour that "
          f"fit: {best}")
    print(f"    (a lifecycle opened from Slack through the dispatcher's GitHub App instead: "
          f"{app_requests} requests on the App's own budget, {workflow_runs} workflow runs "
          f"and {actions_requests} Actions-token requests, the sweeps aside)")
    print(f"- sweep: bench/lifecycle.py's periodic pass an hour after the quiet incidents "
          f"opened, {history:,} past incidents beside them.")
    print(f"- page build: a pass that rebuilds the page (hourly) less the same pass unrebuilt, "
          f"each a new process; the first build ever cost {first_page}.")
    print(f"- CLI open: `incidentbot open` in a subprocess, median of its runs: its first "
          f"request left {start_up:.2f} s after start (the start-up), the channel existed "
          f"{channel - start_up:.2f} s later, after {before} call(s) before it.")
    print("- cold start: bench/cold_start.py's timing, median of "
          f"{runs} (python -c pass {base:.0f} ms; "
          + ", ".join(f"{k} {v:.0f} ms" for k, (v, _) in ms.items()
                      if k != "python -c pass" and k not in cold_start.FLOORS)
          + "), list and sync against the sandbox. The floors, in the same run: one HTTPS "
          "request (`import json, socket, ssl`) / list (and click, PyYAML) / sync (and "
          "Jinja): " + " / ".join(f"{r:.1f}×" for r in floors) + ".")
    if installed is not None:
        done, _cpu, floor = installed
        print("  Installed as the workflows install it (`pip install .` in a new virtualenv, "
              "no editable import hook): --help / list / sync "
              + " / ".join(f"{r:.1f}×" for r in done) + "; floors "
              + " / ".join(f"{r:.1f}×" for r in floor) + ".")
    print(f"- burst: bench/dispatcher.py's open_burst over waitress: {burst['acked']} acked, "
          f"{burst['views_open']} views.open, {burst['expired']} told the form expired "
          f"(sent in {burst['sent_ms']} ms).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
