"""The lease's rules on an in-memory git (the real one is exercised in test_races.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidentbot.core.errors import Conflict
from incidentbot.operations import lease


class FakeRefs:
    """Refs and commits with GitHub's answers: create refuses an existing ref, move refuses
    what is not a fast forward."""

    def __init__(self) -> None:
        self.commits: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.refs: dict[str, str] = {}
        self.calls: list[str] = []

    def make_commit(self, message: str, parents: tuple[str, ...] = ()) -> str:
        self.calls.append("commit")
        sha = f"c{len(self.commits)}"
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

    def delete_ref(self, ref: str) -> None:
        self.calls.append("delete")
        self.refs.pop(ref, None)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_a_free_lease_costs_three_calls_and_is_released() -> None:
    refs, clock = FakeRefs(), Clock()
    with lease.held(refs, 7, who="a", clock=clock, sleep=clock.sleep) as waited:
        assert not waited
        assert list(refs.refs) == ["refs/incidentbot/lease/7"]
    assert refs.refs == {}
    assert refs.calls == ["commit", "create", "delete"]


def test_a_live_holder_is_waited_for_then_a_timeout_says_who_and_until_when() -> None:
    refs, clock = FakeRefs(), Clock()
    holder = lease.Holder("b", clock.now + timedelta(minutes=2))
    refs.refs["refs/incidentbot/lease/7"] = refs.make_commit(lease.message(7, holder))
    with pytest.raises(Conflict) as caught, \
            lease.held(refs, 7, who="a", clock=clock, sleep=clock.sleep,
                       wait=timedelta(seconds=30)):
        pass
    assert "being reconciled by another run" in str(caught.value)
    assert refs.refs["refs/incidentbot/lease/7"] != ""  # the holder's lease is untouched
    assert refs.calls.count("message") == 1  # the holder's expiry is read once


def test_an_expired_lease_is_taken_over_by_one_waiter_only() -> None:
    refs, clock = FakeRefs(), Clock()
    dead = lease.Holder("crashed", clock.now - timedelta(seconds=1))
    stale = refs.make_commit(lease.message(7, dead))
    refs.refs["refs/incidentbot/lease/7"] = stale
    # A second waiter took it over first: our fast-forward from the stale commit is refused.
    theirs = refs.make_commit(lease.message(7, lease.Holder("b", clock.now + lease.TTL)),
                              (stale,))
    first_move = refs.move_ref
    moved: list[bool] = []

    def racing_move(ref: str, sha: str) -> bool:
        if not moved:
            refs.refs[ref] = theirs  # b got there between our read and our move
        moved.append(True)
        return first_move(ref, sha)

    refs.move_ref = racing_move  # type: ignore[method-assign]
    with pytest.raises(Conflict), lease.held(refs, 7, who="a", clock=clock,
                                              sleep=clock.sleep, wait=timedelta(seconds=5)):
        pass
    assert refs.refs["refs/incidentbot/lease/7"] == theirs


def test_a_crashed_holder_blocks_nobody_longer_than_its_time_to_live() -> None:
    refs, clock = FakeRefs(), Clock()
    dead = lease.Holder("crashed", clock.now + timedelta(seconds=20))
    refs.refs["refs/incidentbot/lease/7"] = refs.make_commit(lease.message(7, dead))
    with lease.held(refs, 7, who="a", clock=clock, sleep=clock.sleep) as waited:
        assert waited
        assert clock.now >= dead.expires
    assert refs.refs == {}
