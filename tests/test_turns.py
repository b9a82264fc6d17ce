"""An incident's turns on the sandbox: what a reconcile reads, and how it meets other runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import connections

from incidentbot.core import card as cards
from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import sync, turns
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE

BY = Attribution(ALICE, "Slack")


def open_one(c: operations.Connections) -> int:
    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=2,
                                        services=["checkout"], reporter=ALICE, by=BY)
    return issue.number


def github_calls(sandbox: Sandbox) -> list[str]:
    return [x.operation for x in sandbox.calls_to("github")]


def the_card(sandbox: Sandbox, number: int) -> cards.CardState:
    found = [x for x in sandbox.github.store.comments.values()
             if x.issue == number and cards.is_card(x.body)]
    assert len(found) == 1
    return cards.parse(found[0].body)


def taken_turns(sandbox: Sandbox, number: int) -> list[int]:
    return sorted(int(r.rsplit("/", 1)[1]) for r in sandbox.github.store.refs
                  if r.startswith(f"incidentbot/turns/{number}/"))


def test_a_status_change_after_our_own_reconcile_reads_only_the_issue(
        sandbox: Sandbox) -> None:
    c = connections(sandbox)
    number = open_one(c)
    sandbox.clear_calls()
    operations.update_incident(c, number, Change(status=Status.FIXING), by=BY)
    assert github_calls(sandbox) == [
        "GET /repos/{owner}/{repo}/issues/{issue_number}",
        "PATCH /repos/{owner}/{repo}/issues/{issue_number}",  # the labels
        "POST /repos/{owner}/{repo}/git/commits",  # the claim commit: once a process a minute
        "POST /repos/{owner}/{repo}/git/refs",  # turn 1: free, so the card read is current
        "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"]  # the card
    # Turn 0 was the opener's, which takes no ref (nobody can have read a card before it).
    assert the_card(sandbox, number).turn == 2 and taken_turns(sandbox, number) == [1]
    sandbox.clear_calls()
    operations.update_incident(c, number, Change(status=Status.FIXED), by=BY)
    assert "POST /repos/{owner}/{repo}/git/commits" not in github_calls(sandbox)


def test_an_open_costs_github_two_requests_and_others_wait_for_the_opener(
        sandbox: Sandbox) -> None:
    c = connections(sandbox)
    sandbox.clear_calls()
    number = open_one(c)
    assert github_calls(sandbox) == ["POST /repos/{owner}/{repo}/issues",
                                     "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"]
    assert taken_turns(sandbox, number) == [] and the_card(sandbox, number).turn == 1
    # A run that read the issue before the card existed waits for the opener: the opener's
    # time (a time to live from the issue's creation) is not up, so turn 0 is busy.
    issue = c.tracker.get_issue(number)
    got = turns.claim_unknown(c.tracker, number, who="sweep", opening=issue.created_at)
    assert got == (0, turns.Busy(issue.created_at + turns.TTL))
    assert taken_turns(sandbox, number) == []


def test_a_comment_written_between_two_commands_is_mirrored_not_skipped(
        sandbox: Sandbox) -> None:
    c = connections(sandbox)
    number = open_one(c)
    sandbox.github_comment("bob", number, "The load balancer logs show resets.")
    sandbox.clear_calls()
    operations.update_incident(c, number, Change(status=Status.FIXING), by=BY)
    # The issue's comment count gave the new comment away: the comments were read.
    assert "GET /repos/{owner}/{repo}/issues/{issue_number}/comments" in github_calls(sandbox)
    ours = [ch for ch in sandbox.slack.state.channels.values() if f"#{number}" in
            ch["purpose"]["value"] and ch["name"].startswith("inc-")]
    said = [m["text"] for m in sandbox.slack.messages(ours[0]["id"])]
    assert any("The load balancer logs show resets." in t for t in said)


@pytest.mark.timeout(60)
def test_a_deleted_card_is_rebuilt_at_the_turn_after_the_last_one_once_its_claim_ends(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    # Claims live a second here (two minutes by default): a run that reads no card cannot
    # tell a finished last turn from one in progress, so it waits that long at most.
    monkeypatch.setenv("INCIDENTBOT_LEASE_TTL", "1")
    c = connections(sandbox)
    number = open_one(c)
    operations.update_incident(c, number, Change(status=Status.FIXING), by=BY)
    with sandbox._hub.lock:
        store = sandbox.github.store
        card = next(x for x in store.comments.values() if x.issue == number
                    and cards.is_card(x.body))
        store.delete_comment(card, actor="alice")
    other = connections(sandbox)
    sandbox.clear_calls()
    assert sync.sync(other.tracker, other.chat, other.pager, other.config, number).ok
    calls = github_calls(sandbox)
    assert "GET /repos/{owner}/{repo}/git/matching-refs/{ref}" in calls
    assert "PATCH /repos/{owner}/{repo}/git/refs/{ref}" not in calls  # nobody taken over
    assert taken_turns(sandbox, number) == [1, 2] and the_card(sandbox, number).turn == 3
    assert the_card(sandbox, number).seen_status == "fixing"


@pytest.mark.timeout(60)
def test_a_turn_claimed_by_a_run_that_died_is_taken_over_when_its_claim_expires(
        sandbox: Sandbox) -> None:
    c = connections(sandbox)
    number = open_one(c)
    # A run claimed turn 1 and died before saving its card; its claim lives one more second.
    dead = turns.Holder("runner-7:4242:1", datetime.now(UTC) + timedelta(seconds=1))
    sha = c.tracker.make_commit(turns.message(dead))
    assert c.tracker.create_ref(turns.ref(number, 1), sha)
    sandbox.github_relabel("bob", number, add=["status:fixing"], remove=["status:open"])
    other = connections(sandbox)
    sandbox.clear_calls()
    outcome = sync.sync(other.tracker, other.chat, other.pager, other.config, number)
    assert outcome.ok
    assert "PATCH /repos/{owner}/{repo}/git/refs/{ref}" in github_calls(sandbox)  # taken over
    state = the_card(sandbox, number)
    assert state.seen_status == "fixing" and state.turn == 2
