"""Our GitHub REST client (adapters/github_rest.py) against the sandbox: what PyGithub and
requests did for us before — rate limits waited out, reads retried, pagination, ETags."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from incidentbot.adapters import github
from incidentbot.core.errors import RateLimited, ServiceError
from incidentbot.core.settings import Settings
from incidentbot.sandbox import Sandbox

ISSUE = r"GET .*/issues/\{issue_number\}"


@pytest.fixture
def tracker(sandbox: Sandbox) -> Iterator[github.GitHubTracker]:
    made = github.connect(Settings.from_env({**sandbox.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"}))
    made.waited = []  # type: ignore[attr-defined]
    made._sleep = made.waited.append  # type: ignore[attr-defined]
    yield made
    made.close()


def test_a_secondary_rate_limit_on_a_read_is_waited_out(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    number = tracker.create_issue("Read", "body", [], marker="m-1").number
    sandbox.faults.add(kind="rate_limit", service="github", operation=ISSUE, retry_after=7)
    assert tracker.get_issue(number).title == "Read"
    assert 7.0 in tracker.waited
    assert [c.status for c in sandbox.calls_to("github", ISSUE)] == [403, 200]


def test_a_secondary_rate_limit_on_a_write_is_waited_out_once(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    number = tracker.create_issue("Write", "body", [], marker="m-2").number
    sandbox.faults.add(kind="rate_limit", service="github", operation=r"PATCH .*", retry_after=3)
    assert tracker.update_issue(number, labels=["incident"]).labels == ("incident",)
    assert 3.0 in tracker.waited
    assert [c.status for c in sandbox.calls_to("github", r"PATCH .*")] == [403, 200]


def test_a_long_rate_limit_is_reported_not_waited(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.faults.add(kind="rate_limit", service="github", retry_after=600, times=None)
    with pytest.raises(RateLimited) as caught:
        tracker.get_issue(1)
    assert caught.value.retry_after == 600.0
    assert tracker.waited == []


def test_a_dropped_read_is_tried_again(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    number = tracker.create_issue("Dropped", "body", [], marker="m-3").number
    sandbox.faults.add(kind="drop", service="github", operation=ISSUE)
    assert tracker.get_issue(number).title == "Dropped"
    assert len(sandbox.calls_to("github", ISSUE)) == 2


def test_a_dropped_comment_is_not_posted_twice(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    number = tracker.create_issue("Once", "body", [], marker="m-4").number
    create = r"POST .*/issues/\{issue_number\}/comments"
    sandbox.faults.add(kind="error", service="github", operation=create, status=502)
    with pytest.raises(ServiceError, match=r"commenting on #\d+: HTTP 502"):
        tracker.comment(number, "hello")
    assert len(sandbox.calls_to("github", create)) == 1


def test_every_page_of_comments_is_read_and_the_first_again_for_free(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    number = tracker.create_issue("Chatty", "body", [], marker="m-5").number
    for n in range(105):
        sandbox.github_comment("alice", number, f"comment {n}")
    assert [c.body for c in tracker.comments(number)] == [f"comment {n}" for n in range(105)]
    sandbox.clear_calls()
    tracker.comments(number)
    # The first page unchanged: 304, free against the hourly budget; the second page read.
    assert [c.status for c in sandbox.calls_to("github")] == [304, 200]


def test_an_unchanged_issue_is_read_back_for_free(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    number = tracker.create_issue("Cached", "body", ["incident"], marker="m-6").number
    tracker.update_issue(number, labels=["incident", "sev:2"])
    sandbox.clear_calls()
    assert set(tracker.get_issue(number).labels) == {"incident", "sev:2"}
    assert [c.status for c in sandbox.calls_to("github")] == [304]


def test_the_incident_listing_follows_every_page(tracker, sandbox) -> None:  # type: ignore[no-untyped-def]
    for n in range(103):
        sandbox.github_open("alice", f"Incident {n}", "body", labels=["incident"])
    sandbox.github_open("alice", "Not one", "body")
    found = tracker.list_incidents()
    assert len(found) == 103 and all("incident" in i.labels for i in found)
    assert len(sandbox.calls_to("github", r"GET .*/issues")) == 2
