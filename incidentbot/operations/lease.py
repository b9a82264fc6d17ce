"""One reconciler per incident at a time, across processes and machines: a lease GitHub enforces.

The dispatcher, the workflow run its write starts, the scheduled sweep and a person's CLI may
all reconcile the same issue at once. An in-process lock cannot reach across them, so the
lease is a git ref, `refs/incidentbot/lease/<n>`: creating a ref that exists answers 422
("Reference already exists"), atomically, whoever asks. The ref points at an empty commit
whose message names the holder and when the lease expires, so a holder that died (killed
runner, crash) blocks nobody for longer than its time to live: a waiter takes an expired
lease over with a fast-forward-only update (a child commit of the expired one), which GitHub
also refuses (422) to all but the first of several waiters.

Only runs that have something to do take the lease; a no-op sync costs nothing here.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from incidentbot.core.errors import Conflict
from incidentbot.core.ports import Refs

PREFIX = "refs/incidentbot/lease/"
TTL = timedelta(minutes=2)  # a sync takes seconds; Actions kill a run long before this matters
WAIT = timedelta(seconds=90)


@dataclass(frozen=True, slots=True)
class Holder:
    who: str
    expires: datetime


def message(number: int, holder: Holder) -> str:
    stamp = holder.expires.astimezone(UTC).isoformat(timespec="seconds")
    return f"incidentbot lease\n\nholder: {holder.who}\nexpires: {stamp}\n"


# A holder's lease commit serves every incident it reconciles while it is young: one commit
# per process (and thread) and time-to-live, not one per sync.
_made: weakref.WeakKeyDictionary[Refs, dict[str, tuple[str, datetime]]] = \
    weakref.WeakKeyDictionary()


def expiry(text: str) -> datetime | None:
    """When the lease described by a commit message expires (None: not one of ours)."""
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
    """Who holds a lease, for people reading the ref: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def prepare(refs: Refs, *, who: str, ttl: timedelta = TTL,
            clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """Make `who`'s lease commit now, unless a young one exists. It names no incident, so a
    caller about to open an issue makes it meanwhile, and the lease then costs one request."""
    made = _made.setdefault(refs, {})
    _, until = made.get(who, ("", clock()))
    if clock() + ttl / 2 >= until:
        holder = Holder(who, clock() + ttl)
        made[who] = (refs.make_commit(message(0, holder)), holder.expires)


@contextmanager
def held(refs: Refs, number: int, *, who: str, ttl: timedelta = TTL, wait: timedelta = WAIT,
         clock: Callable[[], datetime] = lambda: datetime.now(UTC),
         sleep: Callable[[float], None] = time.sleep) -> Iterator[bool]:
    """Hold incident `number`'s lease for the block. Yields True if another run held it
    first (the caller re-reads what that run may have written). Raises Conflict when a live
    holder keeps it longer than `wait`."""
    ref = f"{PREFIX}{number}"
    deadline = clock() + wait
    waited = False
    delay = 0.1
    expiries: dict[str, datetime | None] = {}  # a holder's commit never changes: read once
    made = _made.setdefault(refs, {})
    mine, mine_until = made.get(who, ("", clock()))
    while True:
        if clock() + ttl / 2 >= mine_until:  # our lease commit, made again when it ages
            holder = Holder(who, clock() + ttl)
            mine, mine_until = refs.make_commit(message(number, holder)), holder.expires
            made[who] = (mine, mine_until)
        if refs.create_ref(ref, mine):
            break
        current = refs.get_ref(ref)
        if current is None:
            continue  # released between our two calls: try again at once
        if current == mine:
            break  # our own create, whose answer was lost and retried
        if current not in expiries:
            expiries[current] = expiry(refs.commit_message(current))
        expires = expiries[current]
        if expires is None or expires <= clock():
            # Expired (or not a lease at all): take it over, fast-forward only, so of several
            # waiters exactly one succeeds.
            child = refs.make_commit(message(number, Holder(who, clock() + ttl)), (current,))
            if refs.move_ref(ref, child):
                mine, waited = child, True
                break
            continue
        waited = True
        if clock() >= deadline:
            raise Conflict("GitHub", f"incident #{number} is being reconciled by another run "
                           f"(lease held until {expires.isoformat(timespec='seconds')}); "
                           "it will be picked up by the next sync")
        # Wait for the holder cheaply: one read a round until the ref moves or goes.
        while refs.get_ref(ref) == current and clock() < min(deadline, expires):
            sleep(delay)
            delay = min(delay * 1.5, 2.0)
    try:
        yield waited
    finally:
        refs.delete_ref(ref)
