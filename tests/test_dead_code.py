"""No dead code in the package: vulture finds nothing unused but what is called by name.

Tests, benches and scripts count as users (the sandbox serves them); what vulture cannot see
(names called through click, getattr or the standard library) is listed here with the reason.
"""

from __future__ import annotations

from pathlib import Path

import click
import vulture

import incidentbot

ROOT = Path(incidentbot.__file__).resolve().parent.parent
PACKAGE = Path(incidentbot.__file__).resolve().parent

# Class attributes and methods the standard library's servers read by name.
STDLIB_HOOKS = {"protocol_version", "server_version", "disable_nagle_algorithm",
                "close_connection", "daemon_threads", "do_GET", "do_POST", "do_PUT",
                "do_PATCH", "do_DELETE", "do_HEAD"}
# The exit-code table names every code, 0 included, though only the others are returned.
DOCUMENTED = {"EXIT_OK"}


def _click_callbacks() -> set[str]:
    from incidentbot.entrypoints.cli import main

    names: set[str] = set()
    pending: list[click.Command] = [main]
    while pending:
        command = pending.pop()
        if command.callback is not None:
            names.add(command.callback.__name__)
        if isinstance(command, click.Group):
            pending += command.commands.values()
    return names


def _called_by_name() -> set[str]:
    """Methods found with getattr: the applier's `do_<kind>`, the dispatcher's
    `_job_<kind>`, the GitHub emulator's `_<route>`."""
    from incidentbot.sandbox import github_routes

    names = {f"_{handler}" for _, _, handler in github_routes.TABLE}
    for where, prefix in (("operations/apply.py", "do_"), ("entrypoints/dispatcher", "_job_")):
        path = PACKAGE / where
        source = "".join(f.read_text() for f in sorted(path.glob("*.py"))) if path.is_dir() \
            else path.read_text()
        assert f'"{prefix}' in source or f'f"{prefix}' in source, \
            f"{where} no longer dispatches on {prefix}<kind>; drop the allowance"
        names |= {word.split("(")[0] for word in source.split("def ")[1:]
                  if word.startswith(prefix)}
    return names


def test_vulture_finds_no_dead_code_in_the_package() -> None:
    scan = vulture.Vulture()
    scan.scavenge([str(ROOT / d) for d in ("incidentbot", "tests", "bench", "scripts")
                   if (ROOT / d).is_dir()])
    allowed = STDLIB_HOOKS | DOCUMENTED | _click_callbacks() | _called_by_name()
    found = [f"{Path(item.filename).relative_to(ROOT)}:{item.first_lineno}: {item.message}"
             for item in scan.get_unused_code(min_confidence=60)
             if Path(item.filename).resolve().is_relative_to(PACKAGE)
             and item.name not in allowed]
    assert found == []
