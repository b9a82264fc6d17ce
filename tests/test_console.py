"""The console script prints the main help page without importing click, and that page is,
byte for byte, what click prints (so the stored copy can never go stale unnoticed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAST = "from incidentbot.entrypoints.console import main"
CLICK = "from incidentbot.entrypoints.cli import main"


def _run(entry: str, argv: list[str], tmp: Path, **env: str) -> tuple[int, str, str, bool]:
    """(exit code, stdout, stderr, whether click was imported) of `incidentbot ARGV` run
    through `entry` in a new process, its output a pipe (as in Actions)."""
    mark = tmp / "imported"
    code = (
        "import atexit, sys\n"
        "sys.argv[0] = 'incidentbot'\n"
        f"atexit.register(lambda: open({str(mark)!r}, 'w').write(str('click' in sys.modules)))\n"
        f"{entry}\n"
        "main()\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          env={**environ, **env}, cwd=ROOT, check=False)
    return done.returncode, done.stdout, done.stderr, mark.read_text() == "True"


@pytest.mark.parametrize("argv", [[], ["--help"], ["-h"]])
def test_the_help_page_is_clicks_without_importing_click(argv: list[str],
                                                         tmp_path: Path) -> None:
    code, out, err, imported = _run(FAST, argv, tmp_path)
    assert (code, out, err) == _run(CLICK, argv, tmp_path)[:3]
    assert imported is False
    page = out or err
    assert page.startswith("Usage: incidentbot [OPTIONS] COMMAND [ARGS]...")
    assert (code, bool(out)) == ((0, True) if argv else (2, False))


def test_the_stored_page_matches_what_the_generator_renders() -> None:
    """scripts/help_page.py writes the page; run it when this fails."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import help_page
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    from incidentbot.entrypoints.helppage import HELP

    assert HELP == help_page.render(), "the help page changed: python scripts/help_page.py"
    assert (ROOT / "incidentbot" / "entrypoints" / "helppage.py").read_text("utf-8") \
        == help_page.source(HELP)


@pytest.mark.parametrize(("argv", "env"), [
    (["--help"], {"COLUMNS": "60"}),  # click wraps narrower: the stored page would be wrong
    (["--version"], {}),
    (["config", "--help"], {}),
])
def test_anything_else_goes_to_click(argv: list[str], env: dict[str, str],
                                     tmp_path: Path) -> None:
    code, out, err, imported = _run(FAST, argv, tmp_path, **env)
    assert (code, out, err) == _run(CLICK, argv, tmp_path, **env)[:3]
    assert imported is True


def test_the_console_script_is_the_fast_entry() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["scripts"] == {
        "incidentbot": "incidentbot.entrypoints.console:main"}
