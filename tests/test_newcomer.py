"""Issue 17: what a newcomer met in their first hour, each mistake pinned by a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from incidentbot.core import config as configuration
from incidentbot.core.errors import ConfigError

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
    from incidentbot.core import upptime
    from incidentbot.operations import drills

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


# -- network errors: what failed, where, and the fix -------------------------------------------
@pytest.fixture
def tracker(sandbox):  # type: ignore[no-untyped-def]
    from incidentbot.adapters import github
    from incidentbot.core.settings import Settings

    made = github.connect(Settings.from_env({**sandbox.env(),
                                             "INCIDENTBOT_RETRY_BACKOFF": "0"}))
    yield made
    made.close()


def test_a_refused_connection_names_the_url_and_the_fix_at_once() -> None:
    from incidentbot.adapters import github
    from incidentbot.core.errors import ServiceError
    from incidentbot.core.settings import Settings

    with socket.socket() as spare:  # a port nothing listens on
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    tracker = github.connect(Settings.from_env({
        "GITHUB_API_URL": f"http://127.0.0.1:{port}", "GITHUB_REPOSITORY": "acme/incidents",
        "GITHUB_TOKEN": "t", "INCIDENTBOT_GITHUB_LOGIN": "bot",
        "INCIDENTBOT_RETRY_BACKOFF": "0"}))
    attempts: list[float] = []
    tracker._sleep = attempts.append  # a write would wait here before another attempt
    with pytest.raises(ServiceError) as caught:
        tracker.relabel(1, add=["sev:1"], remove=[])
    text = str(caught.value)
    assert f"cannot connect: http://127.0.0.1:{port}/repos/acme/incidents/issues/1" in text
    assert "GITHUB_API_URL" in text and "incidentbot sandbox" in text
    assert attempts == []  # nothing was sent: no silent retries with back-off


def test_not_found_names_the_repository(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    from incidentbot.core.errors import NotFound

    with pytest.raises(NotFound) as caught:
        tracker.get_issue(404)
    text = str(caught.value)
    assert "issue #404: not found" in text
    assert "/repos/acme/incidents/issues/404" in text and "GITHUB_REPOSITORY" in text


def test_five_502s_are_said_as_such(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    from incidentbot.core.errors import ServiceError

    sandbox.faults.add(kind="error", service="github", status=502, times=None)
    with pytest.raises(ServiceError) as caught:
        tracker.get_issue(1)
    text = str(caught.value)
    assert "GitHub answered 502 5 times for" in text
    assert "/repos/acme/incidents/issues/1" in text
    assert len(sandbox.calls_to("github")) == 5


def test_validation_failed_shows_githubs_reasons(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    from incidentbot.core.errors import ServiceError

    with pytest.raises(ServiceError) as caught:
        tracker.ensure_labels([("sev:1", "not-a-colour", "x")])
    text = str(caught.value)
    assert "HTTP 422: Validation Failed (" in text
    assert "/repos/acme/incidents/labels" in text


def _dead_port() -> int:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        return int(spare.getsockname()[1])


def test_slack_refused_names_the_url_and_is_not_retried() -> None:
    from incidentbot.adapters import slack
    from incidentbot.core.errors import ServiceError
    from incidentbot.core.settings import Settings

    port = _dead_port()
    chat = slack.connect(Settings.from_env({"SLACK_API_URL": f"http://127.0.0.1:{port}/api/",
                                            "SLACK_BOT_TOKEN": "xoxb-x"}))
    with pytest.raises(ServiceError) as caught:
        chat.identity()
    assert f"cannot connect: http://127.0.0.1:{port}/api/auth.test" in str(caught.value)
    assert "SLACK_API_URL" in str(caught.value)
    assert not caught.value.transient  # nothing was sent: SlackChat does not try again


def test_slack_answering_a_page_not_json_says_the_status_and_url(sandbox) -> None:  # type: ignore[no-untyped-def]
    from incidentbot.adapters import slack
    from incidentbot.core.errors import ServiceError
    from incidentbot.core.settings import Settings

    sandbox.faults.add(kind="error", service="slack", status=502, times=None)
    chat = slack.connect(Settings.from_env({**sandbox.env(),
                                            "INCIDENTBOT_RETRY_BACKOFF": "0"}))
    with pytest.raises(ServiceError) as caught:
        chat.identity()
    text = str(caught.value)
    assert "502" in text and "/api/auth.test" in text, text


def test_the_cli_facing_a_dead_api_says_one_line_and_exits_3(tmp_path: Path) -> None:
    port = _dead_port()
    env = {"GITHUB_API_URL": f"http://127.0.0.1:{port}", "GITHUB_REPOSITORY": "acme/incidents",
           "GITHUB_TOKEN": "t", "SLACK_API_URL": f"http://127.0.0.1:{port}/api/",
           "SLACK_BOT_TOKEN": "xoxb-t"}
    result = cli("list", env=env, cwd=tmp_path)
    assert result.returncode == 3
    line = one_line_error(result)
    assert f"http://127.0.0.1:{port}/repos/acme/incidents/issues" in line
    assert "GITHUB_API_URL" in line


# -- the CLI on incidents ------------------------------------------------------------------------
def invoke(*argv: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from incidentbot.entrypoints.cli import main

    result = CliRunner().invoke(main, [*argv, "--config", str(ROOT / "incidentbot.yml")])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def closed_incident(sandbox, sandbox_env) -> int:  # type: ignore[no-untyped-def]
    assert invoke("open", "--title", "Checkout down", "--severity", "3")[0] == 0
    assert invoke("close", "1", "--force")[0] == 0
    return 1


def test_a_status_on_a_closed_incident_is_refused_with_the_reopen_command(
        closed_incident: int, sandbox) -> None:  # type: ignore[no-untyped-def]
    channels = len(sandbox.slack.state.channels)
    code, out = invoke("update", "1", "--status", "fixing")
    assert code == 2
    assert "error: #1: the incident is closed; to reopen it at fixing, use " \
           "`incidentbot update 1 --reopen --status fixing`" in out
    assert len(sandbox.slack.state.channels) == channels  # no second channel
    assert sandbox.github.store.issues[1].state == "closed"
    code, out = invoke("update", "1", "--reopen", "--status", "fixing")
    assert code == 0, out
    assert sandbox.github.store.issues[1].state == "open"


def test_a_comment_or_slack_status_on_a_closed_incident_is_refused_too() -> None:
    from incidentbot.core import commands
    from incidentbot.core.errors import InvalidInput
    from incidentbot.core.model import LabelFields, Status

    config = configuration.load(ROOT / "incidentbot.yml")
    closed = LabelFields(is_incident=True, status=Status.CLOSED, severity=2)
    with pytest.raises(InvalidInput, match="/reopen fixing"):
        commands.apply(closed, commands.parse("/status fixing", config), config)
    reopened = commands.apply(closed, commands.parse("/reopen", config), config)
    assert reopened.status is Status.INVESTIGATING


def test_show_on_a_plain_issue_says_it_is_not_an_incident(sandbox, sandbox_env) -> None:  # type: ignore[no-untyped-def]
    from incidentbot.adapters import github
    from incidentbot.core.settings import Settings

    tracker = github.connect(Settings.from_env(sandbox.env()))
    tracker.create_issue("A feature request", "not an incident", [], marker="m1")
    tracker.close()
    code, out = invoke("show", "1")
    assert code == 2
    assert "error: #1 is not an incident (it has no `incident` label)" in out


@pytest.mark.parametrize("who", ["nobody", "@", "al ice", "bbo"])
def test_a_role_for_someone_unknown_is_refused(who: str) -> None:
    code, out = invoke("update", "1", "--role", f"commander={who}")
    assert code == 2
    assert "alice, bob, carol, dan" in out or "--role commander=@login" in out


@pytest.mark.parametrize("who", ["@nobody-yet", "alice", "U0BOB00001", "<@U0BOB00001|bob>"])
def test_a_role_for_a_known_form_of_person_is_accepted(who: str) -> None:
    from incidentbot.core import commands

    config = configuration.load(ROOT / "incidentbot.yml")
    assert commands.parse(f"/role commander {who}", config).roles["commander"]


@pytest.mark.parametrize(("argv", "said"), [
    (("--severity", "9"), "error: --severity 9: expected one of 1, 2, 3, 4, 5"),
    (("--status", "nope"), "error: --status 'nope': expected one of open,"),
])
def test_cli_errors_use_the_cli_words(argv: tuple[str, ...], said: str) -> None:
    code, out = invoke("update", "1", *argv)
    assert code == 2
    assert said in out
    assert "/sev" not in out and "/status" not in out


def test_open_says_its_option_too(sandbox, sandbox_env) -> None:  # type: ignore[no-untyped-def]
    code, out = invoke("open", "--title", "x", "--severity", "9")
    assert code == 2
    assert "error: --severity 9: expected one of 1, 2, 3, 4, 5" in out


def test_a_missing_issue_is_a_usage_error(sandbox, sandbox_env) -> None:  # type: ignore[no-untyped-def]
    code, out = invoke("show", "99")
    assert code == 2
    assert "issue #99: not found" in out and "/repos/acme/incidents/issues/99" in out


# -- doctor can pass against the sandbox ---------------------------------------------------------
def test_doctor_passes_on_the_sandbox_after_its_own_fixes(sandbox, sandbox_env) -> None:  # type: ignore[no-untyped-def]
    import requests

    code, out = invoke("doctor")
    assert code == 1
    assert "labels: 19 missing: incident, status:open," in out
    missing = out.split("labels: 19 missing: ")[1].splitlines()[0].split(", ")
    assert len(missing) == 19  # every one of them, not the first 8
    assert "fix: in Slack, open #general and type /invite @incidentbot" in out
    assert "2 problems" in out
    # The sandbox's stand-in for a person typing /invite in #general:
    answer = requests.post(f"{sandbox.url}/_sandbox/slack/invite", timeout=5,
                           json={"channel": "#general", "user": "incidentbot"})
    assert answer.status_code == 200, answer.text
    code, out = invoke("doctor", "--fix")
    assert code == 0, out
    code, out = invoke("doctor")
    assert (code, out.splitlines()[-1]) == (0, "all good"), out


def test_the_invite_route_refuses_what_slack_refuses(sandbox) -> None:  # type: ignore[no-untyped-def]
    import requests

    url = f"{sandbox.url}/_sandbox/slack/invite"
    assert requests.post(url, json={"channel": "#nowhere", "user": "bob"},
                         timeout=5).status_code == 404
    again = requests.post(url, json={"channel": "#incidents", "user": "incidentbot"}, timeout=5)
    assert (again.status_code, again.json()["error"]) == (409, "already_in_channel")


# -- the status page before any check has run ---------------------------------------------------
def test_a_status_page_with_no_data_does_not_claim_all_is_operational(tmp_path: Path) -> None:
    import json
    from datetime import UTC, datetime

    from incidentbot.adapters.monitordata import DataDir
    from incidentbot.operations import statuspage

    config = configuration.load(ROOT / "incidentbot.yml")
    statuspage.build(config, DataDir(tmp_path / "data"), [], tmp_path / "site",
                     now=datetime(2026, 11, 30, 12, tzinfo=UTC))
    status = json.loads((tmp_path / "site" / "api" / "v2" / "status.json").read_text())
    assert status["status"]["description"] == "No monitoring data yet"
    page = (tmp_path / "site" / "index.html").read_text()
    assert "All Systems Operational" not in page


# -- the demo's story holds together --------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    where = tmp_path_factory.mktemp("clone")
    (where / "incidentbot.yml").write_text((ROOT / "incidentbot.yml").read_text())
    result = cli("demo", cwd=where)
    assert result.returncode == 0, result.stderr
    return where, result.stdout


def test_the_demo_writes_only_into_demo_output(demo: tuple[Path, str]) -> None:
    where, out = demo
    assert sorted(p.name for p in where.iterdir()) == ["demo-output", "incidentbot.yml"]
    assert (where / "demo-output" / "site" / "index.html").is_file()
    assert "/incidentbot-status-" not in out and tempfile_dir() not in out
    assert "-d demo-output/site 8000" in out
    assert "/demo-output/" in (ROOT / ".gitignore").read_text().splitlines()


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir() + "/"


def test_a_second_demo_replaces_its_output_but_never_another_folder(
        demo: tuple[Path, str], tmp_path: Path) -> None:
    where, _ = demo
    assert cli("demo", cwd=where).returncode == 0  # its own folder: replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    refused = cli("demo", "--out", str(mine), cwd=where)
    assert refused.returncode == 2
    assert "is not an earlier demo's output" in one_line_error(refused)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_the_times_in_messages_follow_the_demo_clock(demo: tuple[Path, str]) -> None:
    import re
    from datetime import datetime, timedelta

    _, out = demo
    opened = datetime.fromisoformat(re.search(r"opened: '([^']+)'", out).group(1))  # type: ignore[union-attr]
    reported = re.search(r"jumped to 33% at (\d\d:\d\d) UTC", out).group(1)  # type: ignore[union-attr]
    assert reported == f"{opened - timedelta(minutes=2):%H:%M}"
    expired = re.search(r"certificate expired at (\d\d:\d\d) UTC", out).group(1)  # type: ignore[union-attr]
    assert expired < reported or opened.hour == 0
    now = datetime.now(opened.tzinfo)
    assert opened + timedelta(minutes=55) <= now + timedelta(minutes=1)  # no step in the future


def test_the_demo_counts_runs_and_people_right(demo: tuple[Path, str]) -> None:
    _, out = demo
    assert "run 1: search failed (1 of the 2 failed runs in a row that make an outage)" in out
    assert "run 1: search down" not in out
    assert "run 2: search down" in out
    assert "the commander runs" not in out
    assert "carol, on call, takes command" in out
    assert "Incident commander → @carol (via CLI)" in out


def test_the_demo_shows_where_links_go_and_says_they_are_illustrative(
        demo: tuple[Path, str]) -> None:
    _, out = demo
    assert "Postmortem: read it (https://github.com/acme/incidents/pull/2)" in out
    header = out.split("\n\n")[0]  # said before the first link of the story
    assert "nothing leaves this machine" in header
    assert "https://github.com/acme/incidents/... are the addresses GitHub would give; " \
           "the sandbox only names them (nothing is there)" in header


# -- more of the same kind: one line, the place, the fix -----------------------------------------
def test_the_dispatcher_on_a_busy_port_is_one_line(sandbox) -> None:  # type: ignore[no-untyped-def]
    port = int(sandbox.url.rsplit(":", 1)[1])  # the sandbox holds it
    result = cli("serve", "--port", str(port), env=sandbox.env())
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in one_line_error(result)


def test_a_broken_sandbox_state_file_is_named(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    result = cli("sandbox", "--port", "0", "--state", str(state))
    assert result.returncode == 2
    line = one_line_error(result)
    assert f"{state}: not a sandbox state file" in line and "delete it" in line


def test_doctor_says_an_unreachable_dispatcher_in_words(sandbox, sandbox_env) -> None:  # type: ignore[no-untyped-def]
    port = _dead_port()
    code, out = invoke("doctor", "--dispatcher-url", f"http://127.0.0.1:{port}")
    assert code == 1
    assert f"dispatcher answers: cannot connect: http://127.0.0.1:{port}/slack/events" in out


def test_a_file_the_cli_cannot_write_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    source = tmp_path / ".upptimerc.yml"
    source.write_text("owner: acme\nrepo: status\nsites:\n  - name: Website\n"
                      "    url: https://www.example.com\n")
    result = cli("import-upptime", str(source), "-o", str(blocker / "incidentbot.yml"),
                 cwd=tmp_path)
    assert result.returncode == 1
    assert f"{blocker / 'incidentbot.yml'}" in one_line_error(result)


def test_slack_answers_in_slack_words(sandbox) -> None:  # type: ignore[no-untyped-def]
    from helpers import CONFIG, connections

    from incidentbot.entrypoints.dispatcher import Dispatcher
    from incidentbot.sandbox import DEFAULTS
    from incidentbot.sandbox.slack_requests import SlackRequests

    secret = DEFAULTS["SLACK_SIGNING_SECRET"]
    d = Dispatcher(CONFIG, secret, lambda: connections(sandbox),
                   allowed_teams=frozenset({"T0SANDBOX"}))
    try:
        request = SlackRequests(sandbox.slack, sandbox.url, secret).command("sev 9")
        reply = d.handle(request.path, request.headers, request.body)
        d.drain()
    finally:
        d.close()
    assert isinstance(reply.body, dict)
    assert "/incident sev '9': expected one of" in reply.body["text"]


def test_pagerduty_refused_names_the_url_at_once() -> None:
    from incidentbot.adapters import pagerduty
    from incidentbot.core.errors import ServiceError
    from incidentbot.core.settings import Settings

    port = _dead_port()
    pager = pagerduty.connect(Settings.from_env({
        "PAGERDUTY_API_URL": f"http://127.0.0.1:{port}/v2/enqueue",
        "PAGERDUTY_ROUTING_KEY": "k" * 32}))
    waited: list[float] = []
    pager._sleep = waited.append
    with pytest.raises(ServiceError) as caught:
        pager.trigger("acme/incidents#1", "Checkout down", "critical", {})
    assert f"cannot connect: http://127.0.0.1:{port}/v2/enqueue" in str(caught.value)
    assert "PAGERDUTY_API_URL" in str(caught.value)
    assert waited == []
