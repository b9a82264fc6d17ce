"""The `incidentbot` console script: the main help page without click, else the click CLI.

Importing click takes longer than Python takes to start, so `incidentbot`, `incidentbot
--help` and `incidentbot -h` print the page click would render, stored in `helppage.py`
(generated from the click app by `python scripts/help_page.py`; tests/test_console.py fails
when it differs from what click renders now). Anything else, and any case where click would
render the page differently (a terminal narrower than the page, another program name), goes
to click.
"""

from __future__ import annotations

import os
import sys

PROG = "incidentbot"
WIDTH = 80  # click wraps help at min(terminal columns, 80) - 2: the same from 80 columns up


def main() -> None:
    args = sys.argv[1:]
    if args in ([], ["--help"], ["-h"]) and _stored_page_fits():
        from incidentbot.entrypoints.helppage import HELP

        # ASCII is written alike by any stream (click mends a misconfigured encoding its way).
        if HELP.isascii():
            # As click does: asked for, the page goes to stdout; with no command at all it is
            # a usage error, so to stderr with exit code 2.
            stream = sys.stdout if args else sys.stderr
            stream.write(HELP + "\n")
            stream.flush()
            sys.exit(0 if args else 2)
    from incidentbot.entrypoints.cli import main as cli

    cli()


def _stored_page_fits() -> bool:
    """Would click render the stored page? Only under our name, at full width."""
    return os.path.basename(sys.argv[0]) == PROG and _columns() >= WIDTH


def _columns() -> int:
    """shutil.get_terminal_size().columns, which click asks, without importing shutil:
    $COLUMNS, else the terminal's width, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80
