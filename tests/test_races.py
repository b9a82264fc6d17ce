"""Several reconcilers of one incident at once, in separate processes: exactly one of everything.

The dispatcher (App token), the workflow run its write starts (Actions token) and a person's
CLI sync the same issue at the same moment. Real processes (forked, so each starts fast),
talking HTTP to the sandbox: no in-process lock can help them; the lease must.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from typing import Any

import pytest
from helpers import CONFIG, connections_as

from incidentbot.core import card as cards
from incidentbot.core.commands import Change
from incidentbot.core.config import standard_labels
from incidentbot.core.errors import IncidentbotError
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import sync
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE

TRIALS = int(os.environ.get("INCIDENTBOT_RACE_TRIALS", "20"))
RACERS = ("app", "actions", "alice")
SEEDED = {"incidents", "general", "security-incidents"}
_fork = multiprocessing.get_context("fork")


def _racer(sandbox: Sandbox, identity: str, number: int, start: Any) -> None:
    conn = connections_as(sandbox, identity)
    start.wait(timeout=30)
    try:
        sync.sync(conn.tracker, conn.chat, conn.pager, CONFIG, number)
    except Exception:
        os._exit(1)
    os._exit(0)


def race(sandbox: Sandbox, number: int) -> list[int | None]:
    start = _fork.Barrier(len(RACERS))
    procs = [_fork.Process(target=_racer, args=(sandbox, who, number, start))
             for who in RACERS]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    return [p.exitcode for p in procs]


def keyed_posts(sandbox: Sandbox) -> Counter[tuple[str, str]]:
    """(channel, key) of every message the bot posted with a key."""
    seen: Counter[tuple[str, str]] = Counter()
    for ch in sandbox.slack.state.channels.values():
        for m in sandbox.slack.messages(ch["id"]):
            key = ((m.get("metadata") or {}).get("event_payload") or {}).get("key")
            if key:
                seen[(ch["name"], key)] += 1
    return seen


def check_one_of_everything(sandbox: Sandbox, number: int) -> None:
    duplicated = {k: n for k, n in keyed_posts(sandbox).items() if n > 1}
    assert duplicated == {}
    found = [c for c in sandbox.github.store.comments.values()
             if c.issue == number and cards.is_card(c.body)]
    assert len(found) == 1
    channels = [ch for ch in sandbox.slack.state.channels.values()
                if ch["name"] not in SEEDED and f"#{number}" in ch["purpose"]["value"]]
    assert len(channels) == 1
    announced = [k for (ch, k) in keyed_posts(sandbox)
                 if ch == "incidents" and k.startswith("announce:") and k.endswith(f"#{number}")]
    assert len(announced) == 1
    # Every turn taken was finished: its card saved, none taken twice, none left held.
    turns = sorted(int(r.rsplit("/", 1)[1]) for r in sandbox.github.store.refs
                   if r.startswith(f"incidentbot/turns/{number}/"))
    # (Turn 0 of an issue `incidentbot open` made is its opener's, taken without a ref.)
    last = cards.parse(found[0].body).turn
    assert turns in (list(range(last)), list(range(1, last)))


@pytest.mark.slow
@pytest.mark.timeout(400)  # 20 trials x 4 races of 3 processes: a minute or two
def test_three_racing_processes_leave_exactly_one_of_everything(sandbox: Sandbox) -> None:
    failures = []
    for trial in range(TRIALS):
        sandbox.reset()
        connections_as(sandbox, "alice").tracker.ensure_labels(standard_labels(CONFIG))
        # A fresh incident opened by hand on GitHub: nobody has synced it yet.
        number = sandbox.github_open("bob", "Search is slow", "p99 at 4 s",
                                     ["incident", "status:open", "sev:2", "service:checkout"])
        failures += [("fresh", trial, race(sandbox, number))]
        check_one_of_everything(sandbox, number)

        sandbox.github_comment("bob", number, f"Trial {trial}: rolled back deploy 4411.")
        failures += [("comment", trial, race(sandbox, number))]
        check_one_of_everything(sandbox, number)

        sandbox.github_relabel("bob", number, add=["status:fixing"], remove=["status:open"])
        failures += [("label", trial, race(sandbox, number))]
        check_one_of_everything(sandbox, number)

        sandbox.github_relabel("bob", number, add=["status:postmortem"],
                               remove=["status:fixing"])
        sandbox.github_set_state("bob", number, "closed")
        failures += [("close", trial, race(sandbox, number))]
        check_one_of_everything(sandbox, number)
        channel = next(ch for ch in sandbox.slack.state.channels.values()
                       if f"#{number}" in ch["purpose"]["value"])
        assert channel["is_archived"]
    assert [f for f in failures if any(code != 0 for code in f[2])] == []


def _opener(sandbox: Sandbox, start: Any) -> None:
    conn = connections_as(sandbox, "alice")  # a person's `incidentbot open`
    start.wait(timeout=30)
    try:
        operations.open_incident(conn, title="Checkout returns 502", severity=2,
                                 services=["checkout"], reporter=ALICE,
                                 by=Attribution("alice", "CLI"))
    except Exception:
        os._exit(1)
    os._exit(0)


def _follower(sandbox: Sandbox, identity: str, number: int, start: Any) -> None:
    """A run that syncs the issue the moment it exists, as the workflow run its creation
    starts or a sweep would, while its opener is still provisioning it."""
    conn = connections_as(sandbox, identity)
    start.wait(timeout=30)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                conn.tracker.get_issue(number)
                break
            except IncidentbotError:
                if time.monotonic() > deadline:
                    os._exit(2)
                time.sleep(0.002)
        sync.sync(conn.tracker, conn.chat, conn.pager, CONFIG, number)
    except Exception:
        os._exit(1)
    os._exit(0)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_runs_that_sync_an_issue_while_its_opener_provisions_it_wait_for_it(
        sandbox: Sandbox) -> None:
    codes = []
    for _ in range(max(TRIALS // 2, 1)):
        sandbox.reset()
        connections_as(sandbox, "alice").tracker.ensure_labels(standard_labels(CONFIG))
        start = _fork.Barrier(3)
        procs = [_fork.Process(target=_opener, args=(sandbox, start))]
        procs += [_fork.Process(target=_follower, args=(sandbox, who, 1, start))
                  for who in ("app", "actions")]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        codes.append([p.exitcode for p in procs])
        check_one_of_everything(sandbox, 1)
        # The opener's first turn took no ref; whoever acted after it took turn 1 on.
        assert not any(r == "incidentbot/turns/1/0" for r in sandbox.github.store.refs)
    assert all(code == [0, 0, 0] for code in codes), codes


def _updater(conn: operations.Connections, number: int, start: Any) -> None:
    """The dispatcher after a button: its process reconciled the incident before (it opened
    it), so it starts from what it left, not from reading the comments again."""
    start.wait(timeout=30)
    try:
        operations.update_incident(conn, number, Change(status=Status.FIXING),
                                   by=Attribution(ALICE, "Slack"), actor={ALICE})
    except Exception:
        os._exit(1)
    os._exit(0)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_slack_change_racing_two_sweeps_is_told_once(sandbox: Sandbox) -> None:
    codes = []
    for _ in range(max(TRIALS // 2, 1)):
        sandbox.reset()
        app = connections_as(sandbox, "app")
        app.tracker.ensure_labels(standard_labels(CONFIG))
        issue, _ = operations.open_incident(app, title="Checkout returns 502", severity=2,
                                            services=["checkout"], reporter=ALICE,
                                            by=Attribution(ALICE, "Slack"))
        start = _fork.Barrier(3)
        # The updater inherits `app` and what its reconcile left; nobody else uses it.
        procs = [_fork.Process(target=_updater, args=(app, issue.number, start))]
        procs += [_fork.Process(target=_racer, args=(sandbox, who, issue.number, start))
                  for who in ("actions", "alice")]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        codes.append([p.exitcode for p in procs])
        check_one_of_everything(sandbox, issue.number)
        told = [k for (_, k) in keyed_posts(sandbox) if k.startswith("change:")]
        assert len(told) == 1, told  # open → fixing, said once
    assert all(code == [0, 0, 0] for code in codes), codes


def test_two_incidents_a_minute_apart_each_have_their_own_announcement(
    sandbox: Sandbox,
) -> None:
    from datetime import timedelta

    from helpers import FakeClock

    clock = FakeClock(sandbox, sandbox.github.clock())
    app = connections_as(sandbox, "app")
    app.clock = lambda: clock.now
    numbers = []
    for minute, title in ((0, "Checkout returns 502"), (1, "Search is slow")):
        clock.at(minute)
        issue, outcome = operations.open_incident(
            app, title=title, severity=2, services=["checkout"], reporter=ALICE,
            by=Attribution(ALICE, "Slack"), request_id=f"req-{minute}")
        assert outcome.ok
        numbers.append(issue.number)
    for number in numbers:
        clock.now += timedelta(minutes=5)
        outcome = operations.close_incident(app, number, force=True, actor={ALICE})
        assert outcome.ok, outcome.failed
    incidents = sandbox.slack.channel_by_name("incidents")
    assert incidents is not None
    posts = [m for m in sandbox.slack.messages(incidents["id"]) if "bot_id" in m]
    for number, title in zip(numbers, ("Checkout returns 502", "Search is slow"), strict=True):
        mine = [m for m in posts if title in m["text"]]
        tops = [m for m in mine if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
        replies = [m for m in mine if m.get("thread_ts") and m["thread_ts"] != m["ts"]]
        assert len(tops) == 1, (number, [m["text"] for m in mine])
        assert len(replies) == 1 and replies[0]["thread_ts"] == tops[0]["ts"]
