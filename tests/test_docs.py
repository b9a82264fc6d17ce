"""The documentation stays true: every command is documented, every setting is explained."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from incidentbot.core.settings import PURPOSE
from incidentbot.entrypoints.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = README + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found += _commands(command, path + " ")
    return found


COMMANDS = _commands(main)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_has_help_and_is_in_the_docs(path: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"`incidentbot {path}` has no help text"
    assert f"incidentbot {path}" in DOCS, f"`incidentbot {path}` is in neither README nor docs/"
    if not isinstance(command, click.Group):
        assert "Example:" in (command.help or "") or "\n        " in (command.help or ""), (
            f"`incidentbot {path}` --help shows no example"
        )


def test_the_readme_opens_with_the_two_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    assert [re.sub(r"\s+#.*", "", line) for line in blocks[0].strip().splitlines()] == [
        "python3 -m venv .venv && . .venv/bin/activate", "pip install -e .", "incidentbot demo"]
    assert blocks[1].strip() == "bash .ci/run"


def test_ci_runs_the_readme_test_command() -> None:
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "bash .ci/run" in workflow
    assert "pytest" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("name", [*PURPOSE, "GITHUB_API_URL", "SLACK_API_URL",
                                  "PAGERDUTY_API_URL", "INCIDENTBOT_WRITE_SPACING"])
def test_every_setting_is_in_the_readme(name: str) -> None:
    assert f"`{name}`" in README
