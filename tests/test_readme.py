"""The README's shell commands, run as written, in order, in a fresh clone, print what the
README says they print.

Each ```sh block is run line by line (a trailing `\\` joins lines) in one bash, as a person
would type them. What the test changes, and why:

- port 8765 becomes a free port: tests run in parallel on shared machines;
- `bash .ci/run` is left out: it is the command running this test (CI runs it);
- `python bench/cold_start.py` gets `--runs 1`: the same output, a fifteenth of the time;
- the whole README runs once, in the venv it makes and installs for real (so a command that
  needs more than the package's own dependencies fails here as it would for a reader); the
  busy-port recipe's quick variant reuses this interpreter's environment instead, with the
  clone's own code first on PYTHONPATH (`python3 -m venv .venv` and `pip install -e .`
  become no-ops): it tests the sandbox's refusal, not the install.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
SKIPPED = {"bash .ci/run": "the test command itself: CI runs it, and here it would recurse"}
# Commands whose non-zero exit the README announces (doctor --fix: the bot is not in #general).
FAILS_ON_PURPOSE = {"incidentbot doctor --fix"}


def shell_commands(text: str = README) -> list[str]:
    """Every command of the README's ```sh blocks, in order, continuation lines joined."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        pending = ""
        for line in block.splitlines():
            pending += line
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip() + " "
                continue
            if pending.strip():
                found.append(pending.strip())
            pending = ""
    return found


def bare(command: str) -> str:
    """The command without its trailing comment."""
    return re.sub(r"\s+#\s.*$", "", command).strip()


def said(command: str) -> str | None:
    """What a command's `# says: …` comment promises it prints."""
    match = re.search(r"#\s*says:\s*(.+)$", command)
    return match.group(1).strip() if match else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "SLACK_", "PAGERDUTY_", "INCIDENTBOT_"))
            and k not in {"VIRTUAL_ENV", "PYTHONPATH"}}


def clone(tmp_path: Path) -> Path:
    """A fresh clone of this checkout, with its uncommitted changes to tracked files (so the
    test checks what you are about to commit; in CI there are none)."""
    where = tmp_path / "incidentbot"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(where)], check=True,
                   capture_output=True, timeout=60)
    changes = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=ROOT, check=True,
                             capture_output=True, timeout=60).stdout
    if changes:
        subprocess.run(["git", "apply", "--whitespace=nowarn"], cwd=where, input=changes,
                       check=True, capture_output=True, timeout=60)
    return where


def script(commands: list[str], *, port: int, quick: bool, where: Path) -> str:
    """One bash script: each command between markers, with its exit code."""
    lines = ["cd " + shlex.quote(str(where))]
    if quick:  # a `.venv` whose activate puts this interpreter and the clone's code first
        bin_dir = Path(sys.executable).parent
        lines += ["mkdir -p .venv/bin",
                  "printf '%s\\n' " + shlex.quote(
                      f"export PATH={shlex.quote(str(bin_dir))}:\"$PATH\" "
                      f"PYTHONPATH={shlex.quote(str(where))}") + " > .venv/bin/activate"]
    for index, command in enumerate(commands):
        run = command.replace("8765", str(port))
        run = run.replace("python bench/cold_start.py", "python bench/cold_start.py --runs 1")
        if quick:
            run = run.replace("python3 -m venv .venv &&", "true &&")
            run = re.sub(r"^pip install -e \.(?=\s|$)", "true", run)
        if bare(command) in SKIPPED:
            run = "true"
        lines += [f"echo '@@@ {index}'", run, "echo \"@@@ rc $?\""]
    lines.append("kill %1 2>/dev/null; wait")  # never leave a sandbox behind
    return "\n".join(lines) + "\n"


def run_readme(tmp_path: Path, commands: list[str], *, quick: bool = True,
               port: int | None = None, env: dict[str, str] | None = None,
               ) -> list[tuple[str, str, int]]:
    """(command, output, exit code) for each command."""
    where = clone(tmp_path)
    text = script(commands, port=port or _free_port(), quick=quick, where=where)
    done = subprocess.run(["bash", "-c", text], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=240,
                          env={**_env(), **(env or {})})
    results = []
    for chunk in re.split(r"^@@@ (?=\d+\n)", done.stdout, flags=re.M)[1:]:
        index, rest = chunk.split("\n", 1)
        output, _, code = rest.rpartition("@@@ rc ")
        results.append((commands[int(index)], output, int(code.split()[0])))
    assert len(results) == len(commands), done.stdout[-3000:]
    return results


def normalized(text: str) -> list[str]:
    """The output without what differs from run to run: port, date, times, ids."""
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"acknowledged in \d+ ms", "acknowledged in N ms", text)
    text = re.sub(r"\b20\d{6}\b", "YYYYMMDD", text)
    text = re.sub(r"\b20\d\d-\d\d\b", "YYYY-MM", text)
    text = re.sub(r"\b\d\d:\d\d UTC\b", "HH:MM UTC", text)
    text = re.sub(r"issuecomment-\d+", "issuecomment-N", text)
    text = re.sub(r"proposed for \w{3} \d\d \w{3} \d\d:\d\d \w+", "proposed for DAY", text)
    return text.splitlines()


def demo_sample() -> list[str]:
    """The demo output the README shows (its elided part, `…`, left out)."""
    section = README.split("## Try it", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"^```\n(.*?)^```$", re.sub(r"^```sh\n.*?^```$", "", section,
                                                   flags=re.S | re.M), re.S | re.M)[0]
    lines, skipping = [], False
    for line in normalized(block):
        skipping = line.lstrip().startswith("…") or (skipping and line.strip() != "")
        if not skipping:
            lines.append(line)
    return lines


def assert_in_order(expected: list[str], output: str) -> None:
    got = normalized(output)
    at = 0
    for line in expected:
        try:
            at = got.index(line, at) + 1
        except ValueError:
            pytest.fail(f"the README shows {line!r}, the command did not print it "
                        f"(after line {at}):\n" + "\n".join(got))


def test_the_readme_is_what_this_test_runs() -> None:
    commands = shell_commands()
    assert commands[:3] == ["python3 -m venv .venv && . .venv/bin/activate   # every later "
                            "command runs in this venv",
                            "pip install -e .                                # the package "
                            "alone: all the demo needs", "incidentbot demo"]
    assert "bash .ci/run" in [bare(c) for c in commands]
    assert any(c.startswith("incidentbot sandbox --port 8765 --env-file") for c in commands)
    assert not any(".venv/bin/" in c for c in commands[1:])  # the venv is active throughout
    assert "[test]" not in " ".join(commands[:3])  # the demo needs no test extras


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_every_readme_command_in_a_fresh_clone_and_a_real_venv(tmp_path: Path) -> None:
    """The README as written, in order: a new venv, `pip install -e .` (the package alone),
    the demo, then every later command in that venv."""
    commands = shell_commands()
    results = run_readme(tmp_path, commands, quick=False)
    for command, output, code in results:
        expected = 1 if bare(command) in FAILS_ON_PURPOSE else 0
        assert code == expected, f"{command}\nexited {code}:\n{output}"
        assert "Traceback" not in output, f"{command}\n{output}"
        promised = said(command)
        if promised:
            assert promised in output, f"{command}\nshould print {promised!r}:\n{output}"
    demo = next(output for command, output, _ in results if command == "incidentbot demo")
    assert_in_order(demo_sample(), demo)
    where = tmp_path / "incidentbot"
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                            cwd=where, capture_output=True, text=True, check=True).stdout
    new = [line for line in status.splitlines() if line.startswith("??")]
    assert new == [], "the README's commands left files git sees:\n" + "\n".join(new)
    assert not (where / "sandbox.env").exists()  # removed when the sandbox stopped


class _RealGitHub(BaseHTTPRequestHandler):
    """Stands for the real API a person's shell may point at: it must hear nothing."""

    heard: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.heard.append(self.path)
        self.send_response(500)
        self.end_headers()

    do_POST = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Other(_RealGitHub):
    heard: ClassVar[list[str]] = []


@pytest.fixture
def real_github() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RealGitHub)
    _RealGitHub.heard = []
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_sandbox_recipe_on_a_busy_port_reaches_no_real_service(
        tmp_path: Path, real_github: str) -> None:
    commands = shell_commands()
    start = next(i for i, c in enumerate(commands) if c.startswith("incidentbot sandbox"))
    end = commands.index("kill %1", start)
    recipe = [*commands[:2], *commands[start:end + 1]]  # the venv, then the sandbox's block
    other = ThreadingHTTPServer(("127.0.0.1", 0), _Other)  # another program on the port
    threading.Thread(target=other.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    port = other.server_port
    try:
        results = run_readme(tmp_path, recipe, port=port, env={
            "GITHUB_API_URL": real_github, "GITHUB_TOKEN": "ghp_a_real_token",
            "GITHUB_REPOSITORY": "acme/incidents", "SLACK_API_URL": f"{real_github}/api/",
            "SLACK_BOT_TOKEN": "xoxb-a-real-token", "INCIDENTBOT_GITHUB_LOGIN": "someone"})
    finally:
        other.shutdown()
        other.server_close()
    first = results[2][1] + results[3][1]
    assert f"error: port {port} on 127.0.0.1 is already in use" in first
    assert "Traceback" not in "".join(output for _, output, _ in results)
    assert _RealGitHub.heard == []
    doctor = next(output for command, output, _ in results if command.startswith(
        "incidentbot doctor --fix"))
    assert "GITHUB_TOKEN is set: missing" in doctor


def test_the_config_error_the_readme_quotes(tmp_path: Path) -> None:
    quoted = re.search(r"A wrong file stops everything and says where: `([^`]+)`",
                       README.replace("\n", " "))
    assert quoted is not None
    (tmp_path / "incidentbot.yml").write_text(
        'repository: acme/incidents\nseverities:\n  - level: 1\n    label: "sev:1"\n'
        '    name: SEV1\n  - level: 2\n    label: "sev:2"\n    name: SEV2\n'
        '    meaning: "Major"\n    postmortem: true\n    update_every: 1h\n'
        '    page: "yes please"\n')
    done = subprocess.run([sys.executable, "-m", "incidentbot", "config", "check"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env())
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {quoted.group(1)}"
