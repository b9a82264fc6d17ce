"""Past incidents seeded into the sandbox read back through the real client as the bot's own."""

from __future__ import annotations

from datetime import UTC, datetime

from helpers import CONFIG, connections
from history import seed_past_incidents

from incidentbot.core.model import Status
from incidentbot.core.render import publicupdates
from incidentbot.operations import reading
from incidentbot.sandbox import Sandbox


def test_past_incidents_are_closed_carded_and_some_public(sandbox: Sandbox) -> None:
    numbers = list(seed_past_incidents(sandbox, 12, public_every=5).numbers)
    c = connections(sandbox)
    listed = c.tracker.list_incidents(state="all")
    assert sorted(i.number for i in listed) == numbers == list(range(1, 13))
    assert all(i.state == "closed" and i.updated_at < datetime.now(UTC) for i in listed)
    assert sorted(i.created_at for i in listed) == [
        i.created_at for i in sorted(listed, key=lambda i: i.number)]
    writers = reading.writers_of(c.tracker, CONFIG)
    public = []
    for number in numbers:
        snap = reading.read(c.tracker, number, CONFIG)
        assert not snap.rebuilt and snap.card.archived and snap.card.channel_id
        assert snap.fields.status is Status.CLOSED and snap.fields.is_incident
        if snap.fields.public:
            public.append(number)
            issue = snap.issue
            said = publicupdates.updates(number, issue.created_at, snap.fields.status,
                                         c.tracker.comments(number), c.tracker.events(number),
                                         writers, CONFIG)
            assert any("is recovering" in u.body for u in said)
    assert public == [1, 6, 11]
    assert not sandbox.calls_to("github", "POST .*")  # seeding made no request
