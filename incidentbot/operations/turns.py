"""One reconciler per incident at a time, across processes and machines: turns GitHub hands out.

The dispatcher, the workflow run its write starts, the scheduled sweep and a person's CLI may
all reconcile the same issue at once. An in-process lock cannot reach across them, so every
reconcile that writes takes a *turn*: the card it read says which turn is next (`turn`, 0 on a
new incident), and the run creates the git ref `refs/incidentbot/turns/<n>/<turn>`. Creating
a ref that exists answers 422 ("Reference already exists"), atomically, whoever asks, so of
every run that read the same card exactly one gets its turn; the card it saves carries the
next turn number. Four things follow, each saving requests:

- a run that got its turn knows that nobody wrote a card since the one it read (writing one
  takes that very turn), so it never reads the comments again;
- nothing is released: the next card moves the turn on, and the spent ref stays behind
  (like GitHub's own `refs/pull/<n>/head`, clones do not fetch it);
- a run that lost re-reads the incident (conditional GETs: free while nothing changed) and
  tries the turn the newer card names;
- the reconcile of an issue `incidentbot open` just made takes no ref at all: nobody can
  have read a card of it, and a run that reads none waits for the opener (`claim_unknown`).

The ref points at an empty commit whose message names the holder and when its claim
expires (one commit serves a process's claims while a minute of it is left), so a holder that
died (killed runner, crash) before saving its card blocks nobody for longer than its time to
live: a waiter takes the expired turn over with a fast-forward-only update (a child commit
of the expired one), which GitHub also refuses (422) to all but the first of several
waiters. Only runs that have something to do take a turn; a no-op sync costs nothing here.
"""

from __future__ import annotations

import os
import socket
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from incidentbot.core.ports import Refs

PREFIX = "refs/incidentbot/turns/"
# A sync takes seconds. A claim lives five minutes: a holder that died blocks its incident
# that long at most (the 5-minute sweep then finds it free), and one claim commit serves a
# process (the dispatcher) for four of them, whatever it reconciles meanwhile.
TTL = timedelta(minutes=5)
MIN_LIFE = timedelta(minutes=1)  # the least a claim made with an old commit has left
WAIT = timedelta(seconds=90)


@dataclass(frozen=True, slots=True)
class Holder:
    who: str
    expires: datetime


@dataclass(frozen=True, slots=True)
class Taken:
    """The turn is ours. `complete`: it was free, so the card read is the newest and whole
    (its writer saved it last); False when we took over a holder that died or gave up, which
    may have acted without saving its card (the caller reads everything again, carefully)."""

    complete: bool


@dataclass(frozen=True, slots=True)
class Busy:
    """Somebody has (or had) the turn, and claimed it until `expires`: the caller reads the
    incident again to tell a finished run (its card names a later turn) from a live one."""

    expires: datetime


def ref(number: int, turn: int) -> str:
    return f"{PREFIX}{number}/{turn}"


def message(holder: Holder) -> str:
    stamp = holder.expires.astimezone(UTC).isoformat(timespec="seconds")
    return f"incidentbot claim\n\nholder: {holder.who}\nexpires: {stamp}\n"


def expiry(text: str) -> datetime | None:
    """When the claim described by a commit message expires (None: not one of ours)."""
    for line in text.splitlines():
        if line.startswith("expires: "):
            try:
                return datetime.fromisoformat(line.removeprefix("expires: ").strip())
            except ValueError:
                return None
    return None


def limits() -> tuple[timedelta, timedelta]:
    """(time to live, longest wait): INCIDENTBOT_LEASE_TTL / INCIDENTBOT_LEASE_WAIT seconds."""
    def seconds(name: str, default: timedelta) -> timedelta:
        value = os.environ.get(name, "")
        try:
            return timedelta(seconds=float(value)) if value else default
        except ValueError:
            return default
    return seconds("INCIDENTBOT_LEASE_TTL", TTL), seconds("INCIDENTBOT_LEASE_WAIT", WAIT)


def holder() -> str:
    """Who holds a turn, for people reading the ref: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


# A holder's claim commit serves every turn it takes while it is young: one commit per
# process (and thread) and time to live, not one per sync. Commits never change, so what a
# commit says is read once.
_made: weakref.WeakKeyDictionary[Refs, dict[str, tuple[str, datetime]]] = \
    weakref.WeakKeyDictionary()
_said: dict[str, datetime | None] = {}


def _claim_commit(refs: Refs, who: str, ttl: timedelta,
                  clock: Callable[[], datetime]) -> tuple[str, datetime]:
    """`who`'s claim commit, made again once less than a minute (half the time to live, if
    shorter) is left of it: every claim lives at least that long."""
    made = _made.setdefault(refs, {})
    sha, until = made.get(who, ("", clock()))
    if clock() + min(ttl / 2, MIN_LIFE) >= until:
        holder = Holder(who, clock() + ttl)
        sha, until = refs.make_commit(message(holder)), holder.expires
        made[who] = (sha, until)
    return sha, until


def _expiry_of(refs: Refs, sha: str) -> datetime | None:
    if sha in _said:
        return _said[sha]
    said = expiry(refs.commit_message(sha))
    if len(_said) > 1000:  # a long-lived dispatcher: keep what it remembers small
        _said.clear()
    _said[sha] = said
    return said


def claim(refs: Refs, number: int, turn: int, *, who: str, ttl: timedelta = TTL,
          clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Taken | Busy:
    """One try at incident `number`'s turn `turn`: one request when it is free."""
    name = ref(number, turn)
    mine, _ = _claim_commit(refs, who, ttl, clock)
    if refs.create_ref(name, mine):
        return Taken(complete=True)
    current = refs.get_ref(name)
    if current is None:  # deleted by hand since: the turn is nobody's
        return Taken(complete=True) if refs.create_ref(name, mine) else Busy(clock())
    if current == mine:
        # Our own: a create whose answer was lost and retried, or an earlier run of this
        # process that failed before saving its card. Either way, not known to be complete.
        return Taken(complete=False)
    return _take_over(refs, name, current, who=who, ttl=ttl, clock=clock)


def _take_over(refs: Refs, name: str, current: str, *, who: str, ttl: timedelta,
               clock: Callable[[], datetime]) -> Taken | Busy:
    """The claim at `current` while it lives; once it expired (or is no claim at all), ours,
    fast-forward only, so of several waiters exactly one succeeds (the others see the
    winner's fresh claim next time)."""
    expires = _expiry_of(refs, current)
    if expires is not None and expires > clock():
        return Busy(expires)
    child = refs.make_commit(message(Holder(who, clock() + ttl)), (current,))
    return Taken(complete=False) if refs.move_ref(name, child) else Busy(clock())


def claim_unknown(refs: Refs, number: int, *, who: str, ttl: timedelta = TTL,
                  clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                  opening: datetime | None = None) -> tuple[int, Taken | Busy]:
    """A turn for a run that read no card (none written yet, or deleted): every such run must
    meet at the same one. The last turn taken, while its claim lives, is busy (its holder is
    about to save the card that names the next); once it expired, the turn after it, never
    known complete (its holder may have died half done). With none taken yet, turn 0 — but
    an issue `incidentbot open` made (`opening`: when) has its opener provisioning it without
    a ref (`sync(opened=True)`): busy for a time to live from then, and not complete after."""
    taken = {int(name.removeprefix(f"{PREFIX}{number}/")): sha for name, sha in
             refs.matching_refs(f"{PREFIX}{number}/").items()
             if name.removeprefix(f"{PREFIX}{number}/").isdigit()}
    if not taken:
        if opening is not None and opening + ttl > clock():
            return 0, Busy(opening + ttl)
        got = claim(refs, number, 0, who=who, ttl=ttl, clock=clock)
        return 0, Taken(complete=False) if opening is not None and isinstance(got, Taken) \
            else got
    last = max(taken)
    mine = _made.get(refs, {}).get(who, ("", None))[0]
    expires = _expiry_of(refs, taken[last])
    if taken[last] != mine and expires is not None and expires > clock():
        return last, Busy(expires)  # (ours: a run of this process failed before its card)
    got = claim(refs, number, last + 1, who=who, ttl=ttl, clock=clock)
    return last + 1, Taken(complete=False) if isinstance(got, Taken) else got
