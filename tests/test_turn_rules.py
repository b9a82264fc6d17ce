"""The turns' rules on an in-memory git (the real one is exercised in test_races.py and
test_sync.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from incidentbot.operations import turns

_SHAS = itertools.count()


class FakeRefs:
    """Refs and commits with GitHub's answers: create refuses an existing ref, move refuses
    what is not a fast forward."""

    def __init__(self) -> None:
        self.commits: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.refs: dict[str, str] = {}
        self.calls: list[str] = []

    def make_commit(self, message: str, parents: tuple[str, ...] = ()) -> str:
        self.calls.append("commit")
        sha = f"c{next(_SHAS)}"  # unique across tests: a process remembers what a sha says
        self.commits[sha] = (message, parents)
        return sha

    def create_ref(self, ref: str, sha: str) -> bool:
        self.calls.append("create")
        if ref in self.refs:
            return False
        self.refs[ref] = sha
        return True

    def get_ref(self, ref: str) -> str | None:
        self.calls.append("get")
        return self.refs.get(ref)

    def commit_message(self, sha: str) -> str:
        self.calls.append("message")
        return self.commits[sha][0]

    def move_ref(self, ref: str, sha: str) -> bool:
        self.calls.append("move")
        if ref not in self.refs or self.refs[ref] not in self.commits[sha][1]:
            return False
        self.refs[ref] = sha
        return True

    def matching_refs(self, prefix: str) -> dict[str, str]:
        self.calls.append("list")
        return {r: sha for r, sha in sorted(self.refs.items()) if r.startswith(prefix)}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_a_free_turn_costs_one_create_and_nothing_is_released() -> None:
    refs, clock = FakeRefs(), Clock()
    assert turns.claim(refs, 7, 0, who="a", clock=clock) == turns.Taken(complete=True)
    assert turns.claim(refs, 7, 1, who="a", clock=clock) == turns.Taken(complete=True)
    assert turns.claim(refs, 8, 0, who="a", clock=clock) == turns.Taken(complete=True)
    # One claim commit serves every turn while it is young; the spent refs stay.
    assert refs.calls == ["commit", "create", "create", "create"]
    assert sorted(refs.refs) == ["refs/incidentbot/turns/7/0", "refs/incidentbot/turns/7/1",
                                 "refs/incidentbot/turns/8/0"]


def test_a_claim_commit_is_made_again_when_it_ages() -> None:
    refs, clock = FakeRefs(), Clock()
    turns.claim(refs, 7, 0, who="a", clock=clock)
    clock.sleep((turns.TTL - turns.MIN_LIFE).total_seconds() - 1)  # a minute and more left
    turns.claim(refs, 7, 1, who="a", clock=clock)
    assert refs.calls.count("commit") == 1
    clock.sleep(2)  # less than a minute left: a claim made with it would live too short
    turns.claim(refs, 7, 2, who="a", clock=clock)
    first, second = refs.refs["refs/incidentbot/turns/7/1"], refs.refs["refs/incidentbot/turns/7/2"]
    assert first != second and refs.calls.count("commit") == 2
    assert turns.expiry(refs.commits[second][0]) == clock.now + turns.TTL


def test_a_live_holder_keeps_its_turn_and_its_expiry_is_read_once() -> None:
    refs, clock = FakeRefs(), Clock()
    holder = turns.Holder("b", clock.now + timedelta(minutes=2))
    theirs = refs.make_commit(turns.message(holder))
    refs.refs["refs/incidentbot/turns/7/3"] = theirs
    for _ in range(2):
        assert turns.claim(refs, 7, 3, who="a", clock=clock) == turns.Busy(holder.expires)
    assert refs.refs["refs/incidentbot/turns/7/3"] == theirs
    assert refs.calls.count("message") == 1


def test_an_expired_claim_is_taken_over_by_one_waiter_only() -> None:
    refs, clock = FakeRefs(), Clock()
    dead = turns.Holder("crashed", clock.now - timedelta(seconds=1))
    stale = refs.make_commit(turns.message(dead))
    refs.refs["refs/incidentbot/turns/7/0"] = stale
    # A second waiter took it over first: our fast-forward from the stale commit is refused.
    theirs = refs.make_commit(turns.message(turns.Holder("b", clock.now + turns.TTL)),
                              (stale,))
    first_move = refs.move_ref

    def racing_move(ref: str, sha: str) -> bool:
        refs.refs[ref] = theirs  # b got there between our read and our move
        return first_move(ref, sha)

    refs.move_ref = racing_move  # type: ignore[method-assign]
    assert isinstance(turns.claim(refs, 7, 0, who="a", clock=clock), turns.Busy)
    assert refs.refs["refs/incidentbot/turns/7/0"] == theirs
    # Alone, a waiter takes the expired turn over; it is not known to be complete.
    refs.move_ref = first_move  # type: ignore[method-assign]
    refs.refs["refs/incidentbot/turns/7/0"] = stale
    assert turns.claim(refs, 7, 0, who="c", clock=clock) == turns.Taken(complete=False)
    assert refs.commits[refs.refs["refs/incidentbot/turns/7/0"]][1] == (stale,)


def test_our_own_earlier_claim_is_ours_but_not_known_complete() -> None:
    refs, clock = FakeRefs(), Clock()
    turns.claim(refs, 7, 0, who="a", clock=clock)
    # The create's answer was lost, or a run of ours failed before saving its card.
    assert turns.claim(refs, 7, 0, who="a", clock=clock) == turns.Taken(complete=False)


def test_runs_that_read_no_card_meet_at_one_turn() -> None:
    refs, clock = FakeRefs(), Clock()
    # None taken yet: turn 0, for one of them only.
    assert turns.claim_unknown(refs, 7, who="a", clock=clock) == (0, turns.Taken(True))
    turn, got = turns.claim_unknown(refs, 7, who="b", clock=clock)
    assert turn == 0 and isinstance(got, turns.Busy)  # a's claim lives: wait for its card
    turns.claim(refs, 70, 40, who="a", clock=clock)  # another incident's turns are not #7's
    # a died: once its claim expired, the turn after it, not known complete.
    clock.sleep(turns.TTL.total_seconds() + 1)
    assert turns.claim_unknown(refs, 7, who="b", clock=clock) == (1, turns.Taken(False))
    turn, got = turns.claim_unknown(refs, 7, who="c", clock=clock)
    assert turn == 1 and isinstance(got, turns.Busy)


def test_an_issue_incidentbot_opened_is_its_openers_for_a_time_to_live() -> None:
    refs, clock = FakeRefs(), Clock()
    opened = clock.now - timedelta(seconds=30)
    turn, got = turns.claim_unknown(refs, 7, who="sweep", clock=clock, opening=opened)
    assert (turn, got) == (0, turns.Busy(opened + turns.TTL)) and refs.refs == {}
    # The opener died before saving its card: after its time, turn 0, with care.
    clock.sleep(turns.TTL.total_seconds())
    assert turns.claim_unknown(refs, 7, who="sweep", clock=clock, opening=opened) == \
        (0, turns.Taken(complete=False))


def test_a_run_that_reads_no_card_after_its_own_failed_turn_does_not_wait_for_itself() -> None:
    refs, clock = FakeRefs(), Clock()
    assert turns.claim(refs, 7, 3, who="a", clock=clock) == turns.Taken(complete=True)
    # Its card could not be saved (deleted meanwhile): the next try reads none.
    assert turns.claim_unknown(refs, 7, who="a", clock=clock) == (4, turns.Taken(False))
    turn, got = turns.claim_unknown(refs, 7, who="b", clock=clock)
    assert turn == 4 and isinstance(got, turns.Busy)
