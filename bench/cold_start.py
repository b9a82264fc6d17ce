"""Print the CLI's cold-start time beside `python -c pass`, measured in the same run.

    .venv/bin/python bench/cold_start.py [--runs 15] [--installed]

Every GitHub Actions run is a cold start, so this is what each workflow pays before doing
anything. `list` and `sync N` run against a sandbox started here (real HTTP on 127.0.0.1, so
the time includes their requests): `sync N` once with nothing to do (the sweep's usual case)
and once with work (the severity changed on GitHub before each run: a Slack message, the
card rewritten). The package's bytecode is compiled first, as `pip install` does (an editable
checkout under PYTHONDONTWRITEBYTECODE would otherwise compile every module on every run).

Two floors are timed beside them: what `list` cannot do without (parse its command line
with click, read incidentbot.yml with PyYAML, make one HTTPS request and read its JSON), and
the same with Jinja, which renders what a sync compares with the card. `--installed` also
times everything in a new virtualenv with `pip install .`, as the workflows install the
package: there `python -c pass` skips the editable checkout's import hook (about 30 ms), so
every ratio is larger.

It prints medians and ratios; it asserts nothing (timings here are noisy). bench/budget.py
imports `measure` and `installed`.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidentbot.sandbox import Sandbox

BASE = "python -c pass"
# What one HTTPS request with a JSON answer needs, whoever makes it; the least `list` imports
# besides (click for its command line, PyYAML for incidentbot.yml); a sync also renders with
# Jinja.
FLOOR_HTTPS = "import json, socket, ssl"
FLOOR_LIST = "import click, yaml, json, socket, ssl"
FLOOR_SYNC = FLOOR_LIST + ", jinja2"
FLOORS = {f"floor of one HTTPS request: python -c '{FLOOR_HTTPS}'": FLOOR_HTTPS,
          f"floor of list: python -c '{FLOOR_LIST}'": FLOOR_LIST,
          "floor of sync: the same and jinja2": FLOOR_SYNC}
Row = tuple[str, float, float]  # (command, median ms, ratio to `python -c pass`)


def console_script() -> str:
    """The console script of this interpreter's environment, whether or not it is on PATH."""
    beside = Path(sys.executable).parent / "incidentbot"
    return str(beside) if beside.exists() else shutil.which("incidentbot") or "incidentbot"


def _median_ms(argv: Sequence[str], runs: int, *, env: dict[str, str] | None = None,
               before: Callable[[int], None] | None = None) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system, of the child alone: less moved
    by other load on the machine) of `argv`, each run a new process; `before(n)` (untimed)
    prepares run n."""
    walls, cpus = [], []
    for n in range(runs):
        if before is not None:
            before(n)
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env, cwd=ROOT)
        walls.append((time.perf_counter() - start) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def measure(runs: int = 15, *, python: str = "",
            script: str = "") -> list[tuple[str, float, float, float, float]]:
    """(command, wall ms, wall ratio, CPU ms, CPU ratio) for each case, the ratios to
    `python -c pass` measured in this same run; `python` and `script`: another environment's
    interpreter and console script (default: this one's)."""
    if not python:
        compileall.compile_dir(ROOT / "incidentbot", quiet=1)
    python, script = python or sys.executable, script or console_script()
    plain: dict[str, list[str]] = {
        BASE: [python, "-c", "pass"],
        "python -c 'import click'": [python, "-c", "import click"],
        **{label: [python, "-c", code] for label, code in FLOORS.items()},
        "incidentbot --help": [script, "--help"],
        "incidentbot config check": [script, "config", "check"],
    }
    found: dict[str, tuple[float, float]] = {}
    with Sandbox() as sandbox:
        env = {**os.environ, **sandbox.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"}
        number = _seed(script, env, sandbox)

        def change_severity(n: int) -> None:  # on GitHub, as a person: the sync has work
            old, new = ("sev:3", "sev:4") if n % 2 == 0 else ("sev:4", "sev:3")
            sandbox.github_relabel("alice", number, add=[new], remove=[old])

        against: dict[str, tuple[list[str], Callable[[int], None] | None]] = {
            "incidentbot list": ([script, "list"], None),
            f"incidentbot sync {number} (nothing to do)": ([script, "sync", str(number)], None),
            f"incidentbot sync {number} (severity changed)":
                ([script, "sync", str(number)], change_severity),
        }
        for argv in [*plain.values(), *(a for a, _ in against.values())]:
            # Warm the page cache once, not timed (the sync also settles the incident).
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False, env=env, cwd=ROOT)
        for label, argv in plain.items():
            found[label] = _median_ms(argv, runs)
        for label, (argv, before) in against.items():
            found[label] = _median_ms(argv, runs, env=env, before=before)
    found["python -c 'import github, slack_sdk'"] = _median_ms(
        [python, "-c", "import github, slack_sdk"], runs)
    wall, cpu = found[BASE]
    return [(label, w, w / wall, c, c / cpu) for label, (w, c) in found.items()]


def rows(runs: int = 15) -> list[Row]:
    """(command, median wall ms, ratio to `python -c pass`) for each case, all in this run."""
    return [(label, wall, ratio) for label, wall, ratio, _cpu, _cpu_ratio in measure(runs)]


@contextmanager
def installed() -> Iterator[tuple[str, str]]:
    """(python, console script) of a new virtualenv with this checkout installed by
    `pip install .`, as the workflows install it (not editable: no import hook at start-up);
    removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="incidentbot-installed-") as where:
        venv = Path(where) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", str(ROOT)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield str(venv / "bin" / "python"), str(venv / "bin" / "incidentbot")


def _seed(script: str, env: dict[str, str], sandbox: Sandbox) -> int:
    """One open incident with its channel, synced once: the state a sweep finds."""
    subprocess.run([script, "open", "--title", "Checkout returns 502"], check=True, env=env,
                   cwd=ROOT, stdout=subprocess.DEVNULL)
    number = max(i.number for i in sandbox.github.store.issues.values())
    subprocess.run([script, "sync", str(number)], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return number


def _table(found: list[tuple[str, float, float, float, float]]) -> None:
    width = max(len(label) for label, *_ in found)
    print(f"{'command':{width}} {'wall ms':>8} {'x pass':>7} {'CPU ms':>8} {'x pass':>7}")
    for label, wall, ratio, cpu, cpu_ratio in found:
        print(f"{label:{width}} {wall:8.1f} {ratio:7.2f} {cpu:8.1f} {cpu_ratio:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--installed", action="store_true",
                        help="also in a new virtualenv with `pip install .` (about 20 s more)")
    args = parser.parse_args()
    print(f"cold start, median of {args.runs} runs (same machine, same run; CPU: the child's "
          "user + system time)")
    print("\nthis checkout's environment (editable install):")
    _table(measure(args.runs))
    if args.installed:
        print("\na new virtualenv with `pip install .`, as the workflows install it:")
        with installed() as (python, script):
            _table(measure(args.runs, python=python, script=script))


if __name__ == "__main__":
    main()
