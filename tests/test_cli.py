"""The CLI as a user meets it: exit codes, messages, the sandbox's export line, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from incidentbot.entrypoints.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "incidentbot", *argv], capture_output=True,
                          text=True, timeout=60, env=env, cwd=ROOT)


def test_config_check_prints_a_summary_of_the_default_file() -> None:
    result = CliRunner().invoke(main, ["config", "check", "-f", str(ROOT / "incidentbot.yml")])
    assert result.exit_code == 0, result.output
    assert "severities: SEV1" in result.output
    assert result.output.rstrip().endswith("ok")


def test_config_check_names_file_line_and_key_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "incidentbot.yml"
    bad.write_text("slack:\n  announce: [incidents]\nseverities: 3\n")
    result = CliRunner().invoke(main, ["config", "check", "-f", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3: severities:" in result.output
    assert "Traceback" not in result.output


def test_config_schema_is_json_with_the_top_level_keys() -> None:
    result = CliRunner().invoke(main, ["config", "schema"])
    schema = json.loads(result.output)
    assert {"severities", "services", "slack", "people"} <= set(schema["properties"])


def test_sandbox_prints_the_export_line_first_and_serves(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SLACK_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "incidentbot", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("export ")
        assigned = dict(part.split("=", 1) for part in first.removeprefix("export ").split())
        url = assigned["GITHUB_API_URL"]
        assert url.startswith("http://127.0.0.1:")
        import requests

        for _ in range(50):
            try:
                answer = requests.get(url + "/_sandbox/calls", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer.status_code == 200
        assert answer.json() == {"calls": []}
    finally:
        process.terminate()
        process.communicate(timeout=10)  # drains and closes both pipes


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One run of the demo, with no credentials in its environment, for every test below:
    each reads what the same run printed."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "SLACK_", "PAGERDUTY_", "INCIDENTBOT_"))}
    return run("demo", "--out", str(tmp_path_factory.mktemp("demo") / "demo-output"), env=env)


def test_demo_runs_end_to_end_with_no_credentials(
        demo_run: subprocess.CompletedProcess[str]) -> None:
    result = demo_run
    assert result.returncode == 0, result.stderr
    assert "GitHub: issue #1 https://github.com/acme/incidents/issues/1" in result.stdout
    assert "#inc-20261122" not in result.stdout or "created" in result.stdout
    assert "Bob Example changed status *open* → *fixing* (via GitHub)" in result.stdout
    assert "archived; GitHub: issue #1 closed" in result.stdout
    assert "0 actions (API calls: GitHub 2, Slack 0, PagerDuty 0)" in result.stdout
    assert "❌" not in result.stdout


@pytest.mark.parametrize("secret", ["sandbox-github-token", "xoxb-sandbox-bot-token"])
def test_tokens_never_reach_the_demo_output(
        secret: str, demo_run: subprocess.CompletedProcess[str]) -> None:
    assert demo_run.returncode == 0, demo_run.stderr
    assert secret not in demo_run.stdout + demo_run.stderr


def _event(tmp_path: Path, event: dict[str, object]) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return {**os.environ, "GITHUB_EVENT_PATH": str(path)}


@pytest.mark.parametrize(("event", "said"), [
    ({"issue": {"number": 3, "labels": [{"name": "bug"}]}}, "not labelled incident"),
    ({"issue": {"number": 4, "labels": [{"name": "incident"}], "pull_request": {}}},
     "is a pull request"),
    ({"action": "completed"}, "the event has no issue"),
])
def test_sync_from_event_skips_what_is_not_an_incident(tmp_path: Path, event: dict[str, object],
                                                       said: str) -> None:
    result = run("sync", "--from-event", env=_event(tmp_path, event))
    assert result.returncode == 0, result.stderr
    assert said in result.stdout


def test_sync_from_event_syncs_the_event_issue(tmp_path: Path) -> None:
    from incidentbot.sandbox import Sandbox

    with Sandbox() as sb:
        env = {**os.environ, **sb.env()}
        opened = run("open", "--title", "From the CLI", "--severity", "3", env=env)
        assert opened.returncode == 0, opened.stderr
        assert opened.stdout.startswith("#1 https://github.com/acme/incidents/issues/1")
        sb.github_comment("bob", 1, "a comment to mirror")
        event = {"issue": {"number": 1, "labels": [{"name": "incident"}]}}
        result = run("sync", "--from-event", env={**env, **_event(tmp_path, event),
                                                   **sb.env()})
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("#1: ok (1 action)")


def test_open_says_which_side_effect_failed_and_exits_3(
    sandbox_env: dict[str, str], sandbox: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incidentbot.sandbox import Sandbox

    assert isinstance(sandbox, Sandbox)
    monkeypatch.setenv("INCIDENTBOT_RETRY_BACKOFF", "0")
    # Slack refuses to make channels: the issue is written, the command must not say "ok".
    sandbox.faults.add(kind="error", status=500, service="slack",
                       operation="conversations.create", times=None)
    result = CliRunner().invoke(main, ["open", "--title", "Checkout returns 502", "--severity",
                                       "3", "--config", str(ROOT / "incidentbot.yml")])
    assert result.exit_code == 3, result.output
    assert "#1 " in result.output
    assert "warning: channel:" in result.output
    assert "incidentbot sync 1 --repair" in result.output
    assert "Traceback" not in result.output


def test_status_page_build_publishes_public_notes_and_reads_each_incident_once(
        tmp_path: Path) -> None:
    import json as _json

    from incidentbot.sandbox import Sandbox

    with Sandbox() as sb:
        env = {**os.environ, **sb.env()}
        opened = run("open", "--title", "Checkout is down", "--severity", "2", "--public",
                     "--service", "checkout", env=env)
        assert opened.returncode == 0, opened.stderr
        noted = run("update", "1", "--status", "fixing", "--note", "Rolled back.", "--public",
                    env=env)
        assert noted.returncode == 0, noted.stderr
        site = tmp_path / "site"
        sb.clear_calls()
        built = run("status-page", "build", "--out", str(site), "--data",
                    str(tmp_path / "data"), env=env)
        assert built.returncode == 0, built.stderr
        first = [c.operation for c in sb.calls_to("github")]
        assert any(r.endswith("/comments") for r in first)
        assert any(r.endswith("/events") for r in first)
        (incident,) = _json.loads((site / "api/v2/incidents/unresolved.json").read_text())[
            "incidents"]
        assert ("identified", "Rolled back.") in [(u["status"], u["body"])
                                                  for u in incident["incident_updates"]]
        sb.clear_calls()
        again = run("status-page", "build", "--out", str(site), "--data",
                    str(tmp_path / "data"), env=env)
        assert again.returncode == 0, again.stderr
        reads = [c.operation for c in sb.calls_to("github")]
        assert not any("comments" in r or "events" in r for r in reads), reads


def test_show_names_role_holders_as_people_know_them(
    sandbox_env: dict[str, str], sandbox: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = str(ROOT / "incidentbot.yml")
    runner = CliRunner()
    opened = runner.invoke(main, ["open", "--title", "Checkout returns 502", "--config", cfg])
    assert opened.exit_code == 0, opened.output
    updated = runner.invoke(main, ["update", "1", "--role", "commander=@carol", "--role",
                                   "comms=@nobody", "--config", cfg])
    assert updated.exit_code == 0, updated.output
    assert "note: @nobody (comms) is not in incidentbot.yml's people:" in updated.output
    assert "@carol" not in updated.output  # Carol is listed, with her Slack id
    shown = runner.invoke(main, ["show", "1", "--config", cfg])
    assert shown.exit_code == 0, shown.output
    assert "commander: Carol Example (U0CAROL001)" in shown.output
    assert "comms:    @nobody" in shown.output  # not in `people:`: as given


def test_list_and_show_print_an_escape_sequence_in_a_title_as_its_picture(
    sandbox_env: dict[str, str], sandbox: object
) -> None:
    cfg = str(ROOT / "incidentbot.yml")
    runner = CliRunner()
    hostile = "Checkout \x1b[2J\x1b]0;pwned\x07 down \u202eevil"
    opened = runner.invoke(main, ["open", "--title", hostile, "--config", cfg])
    assert opened.exit_code == 0, opened.output
    for argv in (["list"], ["show", "1"]):
        result = runner.invoke(main, [*argv, "--config", cfg])
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
        assert "\u202e" not in result.output
        assert "Checkout ␛[2J␛]0;pwned␇ down \ufffdevil" in result.output


def test_postmortem_print_keeps_escape_sequences_off_the_terminal(
    sandbox_env: dict[str, str], sandbox: object
) -> None:
    cfg = str(ROOT / "incidentbot.yml")
    runner = CliRunner()
    opened = runner.invoke(main, ["open", "--title", "Checkout \x1b[2J down", "--description",
                                  "line one\n\x1b]0;pwned\x07 line two", "--config", cfg])
    assert opened.exit_code == 0, opened.output
    printed = runner.invoke(main, ["postmortem", "1", "--print", "--config", cfg])
    assert printed.exit_code == 0, printed.output
    assert "\x1b" not in printed.output and "\x07" not in printed.output
    assert "Checkout ␛\\[2J down" in printed.output  # the title, as Markdown escapes it
    assert "\n" in printed.output.strip()  # the document keeps its lines
