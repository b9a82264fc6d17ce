"""Print the CLI's cold-start time beside `python -c pass`, measured in the same run.

    .venv/bin/python bench/cold_start.py [--runs 15]

Every GitHub Actions run is a cold start, so this is what each workflow pays before doing
anything. It prints medians and ratios; it asserts nothing (timings here are noisy).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def _median_ms(argv: Sequence[str], runs: int, env: Mapping[str, str] | None = None) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def console_script() -> str:
    """The console script of this interpreter's environment, whether or not it is on PATH."""
    beside = Path(sys.executable).parent / "incidentbot"
    return str(beside) if beside.exists() else shutil.which("incidentbot") or "incidentbot"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    python = sys.executable
    script = console_script()
    cases = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import click'": [python, "-c", "import click"],
        "incidentbot --help": [script, "--help"],
        "incidentbot config check": [script, "config", "check"],
        "python -c 'import github, slack_sdk'": [python, "-c", "import github, slack_sdk"],
    }
    for argv in cases.values():  # warm the page cache once, not timed
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    base = _median_ms(cases["python -c pass"], runs)
    print(f"cold start, median of {runs} runs (same machine, same run)")
    print(f"{'command':40} {'ms':>8} {'x python -c pass':>18}")
    for label, argv in cases.items():
        ms = base if label == "python -c pass" else _median_ms(argv, runs)
        print(f"{label:40} {ms:8.1f} {ms / base:18.2f}")


if __name__ == "__main__":
    main()
