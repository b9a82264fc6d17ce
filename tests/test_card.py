"""The card survives a round trip and any text inside it; a damaged card says so."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentbot.core import card
from incidentbot.core.card import CardState, Effect, Posted
from incidentbot.core.errors import InvalidInput

texts = st.text(max_size=30)
states = st.builds(
    CardState,
    name=texts,
    channel_id=st.none() | texts,
    channel_name=st.none() | texts,
    archived=st.booleans(),
    roles=st.dictionaries(texts, texts, max_size=3),
    messages=st.dictionaries(texts, st.builds(Posted, texts, texts), max_size=3),
    last_comment=st.integers(0, 2**53),
    seen_status=st.none() | texts,
    seen_severity=st.none() | st.integers(1, 99),
    seen_services=st.lists(texts, max_size=3).map(tuple),
    invited=st.lists(texts, max_size=3).map(tuple),
    paged=st.none() | texts,
    page_resolved=st.booleans(),
    effects=st.dictionaries(texts, st.builds(Effect, st.booleans(), texts), max_size=4),
)


@given(states)
def test_render_then_parse_gives_the_same_state(state: CardState) -> None:
    assert card.parse(card.render(state, [("Status", "fixing")])) == state


def test_text_cannot_close_the_machine_block() -> None:
    state = CardState(name="x", channel_name="--> <!-- incidentbot:card v1\n{}\n-->")
    body = card.render(state)
    assert body.count("-->") == 1
    assert card.parse(body) == state


def test_the_card_shows_the_ledger() -> None:
    state = CardState(name="20261122-brave-otter").with_effect("channel", True).with_effect(
        "announce #incidents", False, "not_in_channel: invite the bot to #incidents")
    body = card.render(state, [("Status", "fixing")])
    assert "- ✅ channel" in body
    assert "- ❌ announce #incidents: not\\_in\\_channel: invite the bot to #incidents" in body
    assert "| Status | fixing |" in body


@pytest.mark.parametrize(("body", "message"), [
    ("just a comment", "machine block is missing"),
    ("<!-- incidentbot:card v1\n{not json\n-->", "damaged"),
    ("<!-- incidentbot:card v1\n{}\n-->", "damaged"),
    ("<!-- incidentbot:card v9\n{}\n-->", "newer than this incidentbot"),
])
def test_a_bad_card_is_reported(body: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        card.parse(body)


def test_a_card_of_a_very_long_incident_stays_under_github_s_limit() -> None:
    """5,000 mirrored comments and 1,000 posts (changes, reminders) fit in one comment: the
    once-only posts older than the last few are forgotten, never planned again."""
    from dataclasses import replace

    from incidentbot.core.card import LIMIT, bounded, parse, render

    state = CardState(name="20261130-brave-otter", channel_id="C0123456789")
    messages = {f"comment:{1_000_000 + i}": Posted("C0123456789", f"1764500000.{i:06d}")
                for i in range(5000)}
    messages |= {f"change:{i}:{i:016x}": Posted("C0123456789", f"1764600000.{i:06d}")
                 for i in range(900)}
    messages |= {f"remind:update:20261130T{i:06d}:1": Posted("C0123456789", f"17647.{i}")
                 for i in range(100)}
    messages["summary"] = Posted("C0123456789", "1764400000.000001")
    history = tuple(("2026-11-30T12:00:00Z", f"status:fixing{i}", "U0ALICE001", "Slack")
                    for i in range(1000))
    big = replace(state, messages=messages, history=history, last_comment=1_004_999, seq=900)
    with pytest.raises(InvalidInput, match="over GitHub's 65,536"):
        render(big)  # what the card held before it was bounded: GitHub would refuse it
    small = bounded(big)
    body = render(small)
    assert len(body) < LIMIT
    assert "summary" in small.messages and "comment:1004999" in small.messages
    assert "comment:1000000" not in small.messages and "change:899:" + f"{899:016x}" in \
        small.messages
    assert parse(body).last_comment == 1_004_999 and parse(body).seq == 900
