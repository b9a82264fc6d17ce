"""The CLI says what is wrong in the words of the command typed: contradictory options, the
health of a service by the 2-failed-runs rule, and a repository that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from incidentbot.entrypoints.cli import main
from incidentbot.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "incidentbot.yml")


@pytest.mark.parametrize("flags", [["--public", "--private"], ["--drill", "--public"],
                                   ["--drill", "--page"]])
def test_open_refuses_contradictory_flags_and_creates_nothing(
    sandbox_env: dict[str, str], sandbox: Sandbox, flags: list[str]
) -> None:
    result = CliRunner().invoke(main, ["open", "-t", "Checkout down", *flags,
                                       "--config", CONFIG])
    assert result.exit_code == 2, result.output
    assert f"{flags[0]} and {flags[1]} contradict each other" in result.output
    assert sandbox.github.store.issues == {}
    assert sandbox.calls_to("github") == []


@pytest.mark.parametrize("flags, said", [
    ({"public": True, "private": True}, "public or private, not both"),
    ({"drill": True, "public": True}, "a drill is never public"),
    ({"drill": True, "page": True}, "a drill never pages anyone"),
])
def test_the_operation_refuses_every_contradiction_too(
        sandbox: Sandbox, flags: dict[str, bool], said: str) -> None:
    """Every entry point (the CLI, the open form, a drill, the monitor) opens through the
    operation: the rules hold there, whatever an entry point checked first."""
    from helpers import connections

    from incidentbot.core.errors import InvalidInput
    from incidentbot.operations import incidents as operations

    with pytest.raises(InvalidInput, match=said):
        operations.open_incident(connections(sandbox), title="x", **flags)
    assert sandbox.github.store.issues == {}


@pytest.mark.parametrize("args, said", [
    (["--reopen", "--status", "closed"], "--reopen and --status closed contradict"),
    (["--service", "checkout", "--remove-service", "checkout"],
     "--service and --remove-service both name checkout"),
])
def test_update_refuses_contradictory_options(sandbox_env: dict[str, str], sandbox: Sandbox,
                                              args: list[str], said: str) -> None:
    result = CliRunner().invoke(main, ["update", "1", *args, "--config", CONFIG])
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert sandbox.calls_to("github") == []


def test_check_shows_a_first_failure_as_failing_and_the_second_as_down(
    sandbox_env: dict[str, str], sandbox: Sandbox, tmp_path: Path
) -> None:
    config = tmp_path / "incidentbot.yml"
    config.write_text("services:\n  - slug: checkout\n    checks:\n"
                      "      - url: http://127.0.0.1:1/health\n", "utf-8")
    argv = ["check", "--config", str(config), "--data", str(tmp_path / "data")]
    first = CliRunner().invoke(main, argv)
    assert first.exit_code == 0, first.output
    line = first.output.splitlines()[0].split()
    assert line[:2] == ["checkout", "failing"]
    assert "1 of 2 failed runs before it is down" in first.output
    assert sandbox.github.store.issues == {}
    second = CliRunner().invoke(main, argv)
    assert second.output.splitlines()[0].split()[:2] == ["checkout", "down"]
    assert "checkout: down; opened #1" in second.output


def test_list_on_a_repository_that_is_not_there_names_the_repository(
    sandbox_env: dict[str, str], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "nobody/nothing")
    result = CliRunner().invoke(main, ["list", "--config", CONFIG])
    assert result.exit_code != 0
    assert "the repository nobody/nothing does not exist or the token cannot see it" \
        in result.output
    assert "check the number" not in result.output
    monkeypatch.setenv("GITHUB_REPOSITORY", sandbox_env["GITHUB_REPOSITORY"])
    shown = CliRunner().invoke(main, ["show", "999", "--config", CONFIG])
    assert "check the number" in shown.output
