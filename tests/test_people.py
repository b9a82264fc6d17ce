"""How a person is shown, one rule for every place that shows them (pure)."""

from __future__ import annotations

from incidentbot.core import people, review
from incidentbot.core.config import parse

CONFIG = parse("repository: acme/incidents\npeople:\n"
               "  alice: {name: Alice Example, slack: U0ALICE001, github: alice-gh}\n"
               "  erin: {slack: U0ERIN0001, github: erin-gh}\n")


def test_a_person_is_shown_by_name_else_by_id_else_as_given() -> None:
    for ref in ("alice", "alice-gh", "@alice-gh", "U0ALICE001"):
        assert people.display_name(ref, CONFIG) == "Alice Example", ref
    for ref in ("erin", "erin-gh", "U0ERIN0001"):
        assert people.display_name(ref, CONFIG) == "erin", ref  # no name: their id
    for ref in ("mallory", "U0NOBODY01", "x@example.com"):
        assert people.display_name(ref, CONFIG) == ref


def test_the_postmortem_shows_the_same_name_beside_the_login() -> None:
    assert review.shown(CONFIG, "alice-gh") == "Alice Example (@alice-gh)"
    assert review.shown(CONFIG, "erin-gh") == "erin (@erin-gh)"
    assert review.shown(CONFIG, "mallory") == "@mallory"
