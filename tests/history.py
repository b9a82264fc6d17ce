"""Years of past incidents, held as GitHub holds them, for benches and tests.

Each incident is a closed issue opened by the dispatcher's App with the labels incidentbot
sets (`incident`, `sev:<n>`, `status:<...>`, `service:<slug>`, `public` on some), the bot's
card comment (edited as the incident moved, so `updated_at` is the card's last edit), label
events for each status change, a `closed` event, and on public ones a `Public update:`
comment by a person with push access. Everything goes through the store's own rules (label
and close events, `updated_at`), at the incident's own times; the webhook deliveries of that
past are dropped, as they were delivered long ago. The card remembers the incident's
channel, archived at the close, as a lifecycle leaves it; the Slack side itself is not
seeded, so a re-sync of a past incident is not a no-op.

It writes cards with the product's own code (`incidentbot.core.card`), which is why it lives
with the tests and not in the sandbox, which imports nothing of the product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from incidentbot.core import card
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.github_records import APP_BOT, PEOPLE, iso
from incidentbot.sandbox.github_state import Store

SERVICES = ("checkout", "payments", "search", "login")


@dataclass(frozen=True, slots=True)
class Seeded:
    numbers: tuple[int, ...]  # oldest first
    public: tuple[int, ...]  # those with the `public` label


def _at(store: Store, moment: datetime) -> None:
    store.now = iso(moment)


def seed_past_incidents(where: Sandbox | Store, count: int, *, end: datetime | None = None,
                        every: timedelta = timedelta(hours=9), public_every: int = 3,
                        services: Sequence[str] = SERVICES) -> Seeded:
    """`count` incidents, one opened every `every` and closed an hour later, the newest
    ending before `end` (a day ago); one in `public_every` is public and has a public update.
    `where`: a running Sandbox (its lock is held) or its GitHub store."""
    if isinstance(where, Sandbox):
        with where._hub.lock:
            return seed_past_incidents(where.github.store, count, end=end, every=every,
                                       public_every=public_every, services=services)
    store = where
    end = end or datetime.now(UTC) - timedelta(days=1)
    before = len(store.deliveries)
    saved_now = store.now
    numbers, public = [], []
    for k in range(count):
        opened = end - every * (count - k) - timedelta(hours=2)
        severity = 1 + k % 4
        service = services[k % len(services)]
        shown = k % public_every == 0
        labels = ["incident", f"sev:{severity}", "status:open", f"service:{service}",
                  *(["public"] if shown else [])]
        _at(store, opened)
        issue = store.create_issue(APP_BOT, f"{service.title()} errors ({k + 1})",
                                   f"Seen from {service} dashboards.", labels, [])
        name = f"{opened:%Y%m%d}-past-{issue.number}"
        state = card.CardState(name=name, channel_id=f"CPAST{issue.number:06d}",
                               channel_name=f"inc-{name}", purpose_set=True)
        made = store.create_comment(APP_BOT, issue, card.render(state))
        steps = [(10, "status:investigating"), (25, "status:fixing"), (50, "status:fixed")]
        for minutes, status in steps:
            _at(store, opened + timedelta(minutes=minutes))
            store.set_labels(APP_BOT, issue, [*(x for x in labels if not
                                                 x.startswith("status:")), status])
            labels = [*(x for x in labels if not x.startswith("status:")), status]
            store.edit_comment(made, card.render(replace(
                state, seen_status=status.removeprefix("status:"))), APP_BOT)
        if shown:
            _at(store, opened + timedelta(minutes=30))
            store.create_comment(PEOPLE[k % len(PEOPLE)], issue,
                                 f"Public update: {service} is recovering; we are "
                                 f"watching error rates ({k + 1}).")
            public.append(issue.number)
        _at(store, opened + timedelta(minutes=60))
        store.edit_issue(APP_BOT, issue, {"state": "closed", "labels": [
            *(x for x in labels if not x.startswith("status:")), "status:closed"]})
        _at(store, opened + timedelta(minutes=61))
        store.edit_comment(made, card.render(replace(state, seen_status="closed",
                                                      archived=True)), APP_BOT)
        numbers.append(issue.number)
    del store.deliveries[before:]
    store.now = saved_now
    return Seeded(tuple(numbers), tuple(public))
