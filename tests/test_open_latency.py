"""`open` until the channel exists: the calls made in turn, with GitHub slow (counted, not
timed), and GitHub writes spaced only where GitHub asks for it."""

from __future__ import annotations

import pytest
from helpers import connections

from incidentbot.adapters import github
from incidentbot.core.settings import Settings
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox


def test_writes_are_not_spaced_unless_github_asks() -> None:
    assert Settings.from_env({}).write_spacing == 0.0


def test_before_the_channel_exists_github_is_asked_one_thing_the_issue(
        sandbox: Sandbox) -> None:
    c = connections(sandbox)
    c.tracker.ensure_labels([("incident", "b60205", ""), ("sev:2", "d93f0b", ""),
                             ("status:open", "fbca04", "")])
    sandbox.clear_calls()
    operations.open_incident(c, title="Checkout returns 502", severity=2,
                             by=Attribution("carol", "CLI"))
    calls = [x.operation for x in sandbox.calls]
    # No turn to take (the opener's first is implicit), no comment to read (none yet).
    assert calls[:calls.index("conversations.create")] == ["POST /repos/{owner}/{repo}/issues"]
    assert len(sandbox.github.store.issues) == 1


def test_a_secondary_limit_on_a_write_is_waited_out_as_github_asks(sandbox: Sandbox) -> None:
    waits: list[float] = []
    settings = Settings.from_env({**sandbox.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"})
    tracker = github.GitHubTracker(settings, sleep=waits.append, backoff=0)
    sandbox.faults.add(kind="rate_limit", service="github", retry_after=7,
                       operation="POST /repos/{owner}/{repo}/issues")
    issue = tracker.create_issue("Slow down", "b", ["incident"], marker="m-1", repeat=False)
    assert waits[0] == 7.0  # what Retry-After said, and no spacing besides
    assert [i.number for i in sandbox.github.store.issues.values()] == [issue.number]


def test_a_spent_hourly_budget_is_reported_not_slept_out(sandbox: Sandbox) -> None:
    from datetime import UTC, datetime

    from incidentbot.core.errors import RateLimited

    token = sandbox.env("actions")["GITHUB_TOKEN"]
    reset = int(datetime.now(UTC).timestamp()) + 3600
    with sandbox._hub.lock:
        sandbox.github._used[token] = (1000, reset)  # the Actions token's hour, all spent
    settings = Settings.from_env({**sandbox.env("actions"), "INCIDENTBOT_RETRY_BACKOFF": "0"})
    with pytest.raises(RateLimited):
        github.connect(settings).list_incidents(state="open")
    assert [c.status for c in sandbox.calls_to("github")] == [403]


def test_a_write_on_a_spent_budget_fails_at_once(sandbox: Sandbox) -> None:
    from datetime import UTC, datetime

    from incidentbot.core.errors import RateLimited

    token = sandbox.env("actions")["GITHUB_TOKEN"]
    reset = int(datetime.now(UTC).timestamp()) + 3600
    with sandbox._hub.lock:
        sandbox.github._used[token] = (1000, reset)
    settings = Settings.from_env({**sandbox.env("actions"), "INCIDENTBOT_RETRY_BACKOFF": "0"})
    waits: list[float] = []
    tracker = github.GitHubTracker(settings, sleep=waits.append, backoff=0)
    with pytest.raises(RateLimited) as caught:
        tracker.create_issue("Spent", "b", ["incident"], marker="m-2", repeat=False)
    assert waits == []  # the hour's reset is far beyond a minute: reported, not waited for
    assert caught.value.retry_after > 3000
    assert not sandbox.github.store.issues
