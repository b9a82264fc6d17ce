"""Issue 17: what a newcomer met in their first hour, each mistake pinned by a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from incidentbot import config as configuration
from incidentbot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def cli(*argv: str, env: dict[str, str] | None = None,
        cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SLACK_"))}
    return subprocess.run([sys.executable, "-m", "incidentbot", *argv], capture_output=True,
                          text=True, timeout=60, env={**base, **(env or {})}, cwd=cwd)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error a person sees: one line, no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- a YAML alias bomb -------------------------------------------------------------------------
def bomb(levels: int = 9) -> str:
    lines = ["repository: acme/incidents",
             'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        configuration.parse(bomb(), source="incidentbot.yml")
    assert str(caught.value).startswith("incidentbot.yml:")
    assert caught.value.line is not None and 3 <= caught.value.line <= 10
    assert "alias" in str(caught.value)


def test_a_few_aliases_are_still_fine() -> None:
    text = ("repository: acme/incidents\ndefault_severity: 1\n"
            "slack:\n  announce: &where ['#incidents']\n"
            "severities:\n  - {level: 1, label: 'sev:1', name: SEV1, announce: *where}\n")
    assert configuration.parse(text).severities[0].announce == ("#incidents",)


def test_every_yaml_file_people_write_refuses_a_bomb(tmp_path: Path) -> None:
    from incidentbot import drills, upptime

    with pytest.raises(ConfigError, match="alias"):
        drills.parse(bomb(), "x", configuration.Config(), source="drills/x.yml")
    with pytest.raises(ConfigError, match="alias"):
        upptime.convert(bomb(), source=".upptimerc.yml")


def test_the_cli_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "incidentbot.yml"
    path.write_text(bomb())
    result = cli("config", "check", "-f", str(path))
    assert result.returncode == 2
    assert one_line_error(result).startswith(f"error: {path}:")


# -- the sandbox on a busy port ------------------------------------------------------------------
def test_a_busy_port_is_one_line_naming_the_port_and_the_fix(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    env_file.write_text("export GITHUB_API_URL=http://127.0.0.1:1  # from an earlier run\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("sandbox", "--port", str(port), "--env-file", str(env_file))
    assert result.returncode == 2
    line = one_line_error(result)
    assert f"port {port}" in line and "--port 0" in line
    assert result.stdout == ""  # no export line to eval
    assert not env_file.exists()  # and no stale file pointing anywhere


def test_the_env_file_appears_once_listening_and_goes_when_stopped(tmp_path: Path) -> None:
    import signal

    import requests

    env_file = tmp_path / "sandbox.env"
    process = subprocess.Popen(
        [sys.executable, "-m", "incidentbot", "sandbox", "--port", "0", "--env-file",
         str(env_file)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=tmp_path)
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()  # printed after the file is written
        assert env_file.read_text().strip() == first
        assigned = dict(p.split("=", 1) for p in first.removeprefix("export ").split())
        assert requests.get(f"{assigned['GITHUB_API_URL']}/_sandbox/calls", timeout=5).ok
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == 0
    assert not env_file.exists()
