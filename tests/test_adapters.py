"""The GitHub and Slack adapters against the sandbox: translations, retries, idempotent writes."""

from __future__ import annotations

import pytest

from incidentbot.adapters import github, slack
from incidentbot.core.errors import AuthFailed, Conflict, MissingSetting, NotFound, ServiceError
from incidentbot.core.settings import Settings
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB, INCIDENTS

CREATE_ISSUE = r"POST /repos/\{owner\}/\{repo\}/issues"


@pytest.fixture
def settings(sandbox: Sandbox) -> Settings:
    return Settings.from_env(sandbox.env())


@pytest.fixture
def tracker(settings: Settings) -> github.GitHubTracker:
    tracker = github.connect(settings)
    tracker._sleep = lambda seconds: None  # retries without waiting
    yield tracker
    tracker.close()


def test_connect_names_the_missing_setting_and_never_its_value() -> None:
    with pytest.raises(MissingSetting) as caught:
        github.connect(Settings(repository="acme/incidents"))
    assert "GITHUB_TOKEN" in str(caught.value)
    with pytest.raises(MissingSetting, match="SLACK_BOT_TOKEN"):
        slack.connect(Settings())


def test_a_created_issue_reads_back_with_its_labels(tracker: github.GitHubTracker) -> None:
    tracker.ensure_labels([("incident", "b60205", "An incident"), ("sev:2", "d93f0b", "SEV2")])
    issue = tracker.create_issue("API down", "It is down.", ["incident", "sev:2"], marker="m-1")
    again = tracker.get_issue(issue.number)
    assert again.title == "API down"
    assert set(again.labels) == {"incident", "sev:2"}
    assert again.body.startswith("It is down.")
    assert "incidentbot:request m-1" in again.body  # the marker hides in an HTML comment


def test_ensure_labels_creates_only_what_is_missing(tracker: github.GitHubTracker,
                                                    sandbox: Sandbox) -> None:
    wanted = [("incident", "b60205", "x"), ("Public", "0e8a16", "y")]
    assert tracker.ensure_labels(wanted) == ["incident", "Public"]
    sandbox.clear_calls()
    assert tracker.ensure_labels([("INCIDENT", "b60205", "x"), *wanted]) == []
    assert sandbox.calls_to("github", r"POST .*/labels") == []


def test_a_create_whose_answer_is_lost_is_not_made_twice(tracker: github.GitHubTracker,
                                                         sandbox: Sandbox) -> None:
    # GitHub creates the issue, then the answer never arrives (a 502 after the write).
    sandbox.faults.add(kind="error", service="github", operation=CREATE_ISSUE, when="after",
                       status=502)
    issue = tracker.create_issue("Lost answer", "body", [], marker="m-lost")
    titles = [i["title"] for i in sandbox.state()["github"]["issues"]]
    assert titles.count("Lost answer") == 1
    assert tracker.get_issue(issue.number).title == "Lost answer"
    assert len(sandbox.calls_to("github", CREATE_ISSUE)) == 1


def test_a_create_refused_before_the_write_is_retried(tracker: github.GitHubTracker,
                                                      sandbox: Sandbox) -> None:
    sandbox.faults.add(kind="error", service="github", operation=CREATE_ISSUE, times=2)
    issue = tracker.create_issue("Retried", "body", [], marker="m-retry")
    assert issue.title == "Retried"
    assert len(sandbox.calls_to("github", CREATE_ISSUE)) == 3


def test_a_create_that_keeps_failing_gives_up_with_a_clear_error(
    tracker: github.GitHubTracker, sandbox: Sandbox
) -> None:
    sandbox.faults.add(kind="error", service="github", operation=CREATE_ISSUE, times=None)
    with pytest.raises(ServiceError, match="gave up after 4 attempts"):
        tracker.create_issue("Never", "body", [], marker="m-never")
    assert sandbox.state()["github"]["issues"] == []


def test_reads_retry_on_server_errors(tracker: github.GitHubTracker, sandbox: Sandbox) -> None:
    issue = tracker.create_issue("Flaky read", "body", [], marker="m-read")
    sandbox.faults.add(kind="error", service="github", operation=r"GET .*/issues/\{issue_number\}",
                       times=1, status=503)
    assert tracker.get_issue(issue.number).title == "Flaky read"


def test_missing_issue_and_bad_token_become_our_errors(sandbox: Sandbox) -> None:
    settings = Settings.from_env(sandbox.env())
    tracker = github.connect(settings)
    with pytest.raises(NotFound, match="issue #999"):
        tracker.get_issue(999)
    tracker.close()
    bad = Settings.from_env({**sandbox.env(), "GITHUB_TOKEN": "ghp_wrong"})
    tracker = github.connect(bad)
    with pytest.raises(AuthFailed) as caught:
        tracker.get_issue(1)
    assert "ghp_wrong" not in str(caught.value)
    tracker.close()


def test_slack_channel_lifecycle(settings: Settings) -> None:
    chat = slack.connect(settings)
    channel = chat.create_channel("inc-test")
    assert chat.find_channel("inc-test") == channel
    with pytest.raises(Conflict, match="name_taken"):
        chat.create_channel("inc-test")
    assert chat.invite(channel.id, [ALICE, BOB, ALICE]) == {ALICE: "invited", BOB: "invited"}
    # Already in: no call that Slack would refuse.
    assert chat.invite(channel.id, [ALICE]) == {ALICE: "member"}
    chat.set_topic(channel.id, "SEV2 · investigating")
    assert chat.find_channel("inc-test").topic == "SEV2 · investigating"  # type: ignore[union-attr]
    message = chat.post(chat.channel_id("#incidents"), "hello")
    assert message.channel == INCIDENTS
    with pytest.raises(NotFound, match="#nope"):
        chat.channel_id("#nope")


def test_slack_rate_limits_are_waited_out(settings: Settings, sandbox: Sandbox) -> None:
    chat = slack.connect(settings)
    sandbox.faults.add(kind="rate_limit", service="slack", operation="chat.postMessage",
                       retry_after=0)
    assert chat.post(INCIDENTS, "after a 429").ts
    assert len(sandbox.calls_to("slack", "chat.postMessage")) == 2


def test_a_refused_slack_token_says_so_without_the_token(sandbox: Sandbox) -> None:
    chat = slack.connect(Settings.from_env({**sandbox.env(), "SLACK_BOT_TOKEN": "xoxb-wrong"}))
    with pytest.raises(AuthFailed) as caught:
        chat.identity()
    assert "invalid_auth" in str(caught.value)
    assert "xoxb-wrong" not in str(caught.value)


def test_github_s_reasons_reach_the_error_without_a_server() -> None:
    """An adapter test needing no sandbox: a bare local server plays a GitHub Enterprise
    Server's 422 with its reasons (under /api/v3), and the error says what GitHub said and
    where, once (a 422 is not retried), without the token."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from incidentbot.adapters import github
    from incidentbot.core.errors import ServiceError
    from incidentbot.core.settings import Settings

    seen: list[tuple[str, str, str]] = []

    class Ghe(BaseHTTPRequestHandler):
        def do_PATCH(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append((self.command, self.path, self.headers.get("Authorization", "")))
            body = json.dumps({"message": "Validation Failed", "errors": [
                {"resource": "Issue", "code": "custom", "field": "body",
                 "message": "body is too long (maximum is 65536 characters)"}]}).encode()
            self.send_response(422)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ghe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api = f"http://127.0.0.1:{server.server_address[1]}/api/v3"
    settings = Settings.from_env({"GITHUB_API_URL": api, "GITHUB_REPOSITORY": "acme/incidents",
                                  "GITHUB_TOKEN": "test-token", "INCIDENTBOT_RETRY_BACKOFF": "0"})
    tracker = github.connect(settings)
    try:
        with pytest.raises(ServiceError, match="body is too long") as caught:
            tracker.update_issue(7, labels=["incident"])
    finally:
        tracker.close()
        server.shutdown()
        server.server_close()
    text = str(caught.value)
    assert "test-token" not in text
    assert f"(PATCH {api}/repos/acme/incidents/issues/7)" in text
    assert seen == [("PATCH", "/api/v3/repos/acme/incidents/issues/7", "token test-token")]
