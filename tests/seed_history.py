"""Years of past incidents in the sandbox's GitHub, held as GitHub holds them after real use.

Each one is what a lifecycle opened from Slack leaves behind (compare a run of
`operations.open_incident` … `close_incident` on the sandbox): a closed issue with its
`incident`, `sev:N`, `service:…` and `status:closed` labels (and `public` for some), the
body the bot wrote with its request marker, the bot's incident card (a closed, archived
channel), a person's comment, a public note for a public incident, and the label and state
events of `status:fixing`, `status:fixed` and the close, each at its own time in the past.
Written straight into the store (no HTTP, no call logged), oldest first, so numbers and
times rise together as they do on GitHub. Benches use it to measure what history costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from incidentbot.core import card
from incidentbot.core.names import incident_name
from incidentbot.sandbox.github_records import BOT, iso
from incidentbot.sandbox.github_state import Store

_TITLES = ("Checkout returns 502", "Payments time out", "Login is slow",
           "Search results are stale", "Webhooks are delayed", "Uploads fail")
_PEOPLE = (("alice", "U0ALICE001"), ("bob", "U0BOB00001"))


def seed_past_incidents(sandbox_or_state: Any, count: int, *, public_every: int = 10,
                        services: Sequence[str] = ("checkout", "payments"),
                        every: timedelta = timedelta(hours=36),
                        until: datetime | None = None) -> list[int]:
    """Add `count` closed incidents, one every `every`, the last a day before `until` (now);
    every `public_every`-th is public (0: none). Takes a Sandbox (its lock is held) or the
    GitHub store itself. Returns the issue numbers."""
    sandbox = sandbox_or_state
    if isinstance(sandbox_or_state, Store):
        return _seed(sandbox_or_state, count, public_every, services, every, until)
    with sandbox._hub.lock:
        store = sandbox.github.store
        before = store.now
        try:
            return _seed(store, count, public_every, services, every, until)
        finally:
            store.now = before


def _seed(store: Store, count: int, public_every: int, services: Sequence[str],
          every: timedelta, until: datetime | None) -> list[int]:
    start = (until or datetime.now(UTC)) - timedelta(days=1) - every * count
    numbers = []
    for i in range(count):
        opened = (start + every * i).replace(microsecond=0)
        public = public_every > 0 and i % public_every == 0
        numbers.append(_one(store, i, opened, public, services[i % len(services)] if services
                            else None))
    return numbers


def _one(store: Store, i: int, opened: datetime, public: bool, service: str | None) -> int:
    def at(minutes: int) -> None:
        store.now = iso(opened + timedelta(minutes=minutes))

    person, slack_id = _PEOPLE[i % len(_PEOPLE)]
    severity = 1 + i % 4
    title = f"{_TITLES[i % len(_TITLES)]} ({opened:%Y-%m-%d})"
    fixed = ["incident", f"sev:{severity}", *([f"service:{service}"] if service else []),
             *(["public"] if public else [])]
    at(0)
    issue = store.create_issue(
        BOT, title, "_No description yet._\n\n_Reported by Alice Example via Slack._\n\n"
        f"<!-- incidentbot:opened reporter={slack_id} -->\n\n"
        f"<!-- incidentbot:request past-{i}-{opened:%Y%m%d} -->", [*fixed, "status:open"], [])
    number = int(issue.number)
    name = incident_name(number, opened.date(), store.full_name)
    channel = f"C0PAST{number:05d}"
    at(1)
    state = card.CardState(
        name=name, channel_id=channel, channel_name=f"inc-{name}", purpose_set=True,
        reporter=slack_id, roles={"commander": slack_id}, seen_status="open",
        seen_severity=severity, seen_services=(service,) if service else (),
        invited=(slack_id,), topic=f"SEV{severity} · open",
        effects={e: card.Effect(True) for e in ("announcement #incidents", "bookmarks",
                                                  "channel", "invites", "topic")})
    made = store.create_comment(BOT, issue, _card(state, severity, service))
    at(10)
    last = store.create_comment(person, issue, "Rolled back the last deploy; the error rate "
                                               "is falling. Watching it for a while.")
    if public:
        at(15)
        last = store.create_comment(BOT, issue,
                                    f"<!-- incidentbot:note {slack_id} Slack public -->\n"
                                    "We found the cause and are rolling out a fix.")
    for minutes, status in ((20, "fixing"), (50, "fixed")):
        at(minutes)
        store.edit_issue(BOT, issue, {"labels": [*fixed, f"status:{status}"]})
    at(90)
    store.edit_issue(BOT, issue, {"state": "closed", "labels": [*fixed, "status:closed"]})
    final = card.CardState(**{**{f: getattr(state, f) for f in state.__slots__},
                              "archived": True, "seen_status": "closed", "seq": 3,
                              "last_comment": last.id,
                              "effects": {**state.effects, "close": card.Effect(True)}})
    store.edit_comment(made, _card(final, severity, service))
    return number


def _card(state: card.CardState, severity: int, service: str | None) -> str:
    rows = [("Status", f"`{state.seen_status}`"), ("Severity", f"SEV{severity}"),
            ("Services", service or "—"),
            ("Slack", f"\\#{state.channel_name}" + (" (archived)" if state.archived else ""))]
    return card.render(state, rows)
