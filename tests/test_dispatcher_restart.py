"""Acknowledged means done: a dispatcher killed after answering Slack loses no request.

The dispatcher runs as a real process (`incidentbot serve`, waitress) with the App token.
Twelve open forms are submitted and acknowledged while GitHub is slow; the process is
SIGKILLed; a new one started on the same spool finishes every one: twelve incidents, each
with its channel, each person told, no issue twice.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from incidentbot.core.render import views
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_api import ALICE, INCIDENTS
from incidentbot.sandbox.slack_requests import SignedRequest, SlackRequests, open_values

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(sandbox: Sandbox, spool: Path, port: int) -> subprocess.Popen[bytes]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(spool.parent),
           **sandbox.env("app"), "INCIDENTBOT_RETRY_BACKOFF": "0",
           "INCIDENTBOT_WRITE_SPACING": "0", "INCIDENTBOT_RESUME_GRACE": "4"}
    log = spool.parent / f"dispatcher-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "incidentbot", "serve", "--port", str(port), "--spool",
             str(spool), "--config", str(ROOT / "incidentbot.yml")],
            env=env, cwd=spool.parent, stdout=subprocess.DEVNULL, stderr=out)
    for _ in range(200):  # bounded: up to ~20 s for a cold start
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise AssertionError(log.read_text())


def post(port: int, request: SignedRequest) -> int:
    http = urllib.request.Request(f"http://127.0.0.1:{port}{request.path}", data=request.body,
                                  headers=dict(request.headers), method="POST")
    with urllib.request.urlopen(http, timeout=3) as answer:  # Slack's 3 s
        return int(answer.status)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_killed_dispatcher_loses_no_acknowledged_submission(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    sends = SlackRequests(sandbox.slack, sandbox.url, DEFAULTS["SLACK_SIGNING_SECRET"])
    first = serve(sandbox, spool, port := free_port())
    # GitHub takes 3 s to open each issue: every job is still running when the kill comes,
    # and the four the workers had sent land on GitHub after the process is gone.
    sandbox.faults.add(kind="latency", seconds=3, service="github",
                       operation="POST /repos/{owner}/{repo}/issues", times=None)
    for i in range(SUBMISSIONS):
        origin = {"channel_id": INCIDENTS,
                  "response_url": sandbox.slack.issue_response_url(sandbox.url, ALICE,
                                                                   INCIDENTS)}
        view = views.open_modal(_config(), title="", origin=origin)
        request = sends.view_submission(view, open_values(f"Outage {i:02d}", 3),
                                        view_id=f"V0RESTART{i:02d}")
        assert post(port, request) == 200
    assert len(list(spool.glob("*.json"))) == SUBMISSIONS
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    sandbox.faults.clear()

    second = serve(sandbox, spool, free_port())
    try:
        for _ in range(300):  # bounded: up to ~30 s
            if not list(spool.glob("*.json")):
                break
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)
    assert list(spool.glob("*.json")) == []
    issues = sandbox.github.store.issues.values()
    titles = sorted(i.title for i in issues)
    assert titles == [f"Outage {i:02d}" for i in range(SUBMISSIONS)]
    channels = [ch for ch in sandbox.slack.state.channels.values()
                if ch["name"].startswith("inc-")]
    assert len(channels) == SUBMISSIONS
    told = [e["text"] for e in sandbox.slack.ephemerals if e["text"].startswith("Opened")]
    assert len(told) == SUBMISSIONS


def _config():  # type: ignore[no-untyped-def]
    from helpers import CONFIG

    return CONFIG


def test_the_journal_keeps_jobs_until_done_and_sets_broken_files_aside(tmp_path: Path) -> None:
    from incidentbot.adapters.journal import Job, Journal

    journal = Journal(tmp_path / "spool")
    assert journal.pending() == []
    journal.add(Job("open", "slack-view-V1-h/../x", {"title": "a"}))
    journal.add(Job("update", "slack-view-V2-h", {"number": 3}))
    (tmp_path / "spool" / "torn.json").write_text("{not json")
    pending = journal.pending()
    assert [(j.kind, j.key) for j in pending] == [("open", "slack-view-V1-h/../x"),
                                                  ("update", "slack-view-V2-h")]
    assert all(p.parent == tmp_path / "spool" for p in (tmp_path / "spool").iterdir())
    assert (tmp_path / "spool" / "torn.broken").exists()
    journal.done("slack-view-V1-h/../x")
    assert [j.key for j in journal.pending()] == ["slack-view-V2-h"]
    assert json.loads(next((tmp_path / "spool").glob("*.json")).read_text())["kind"] == "update"
