"""Incident names are deterministic and distinct; channel names always satisfy Slack."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentbot.core.errors import InvalidInput
from incidentbot.core.names import channel_name, incident_name, is_valid_channel_name, slackify

DAY = date(2026, 11, 22)


def test_a_name_is_date_adjective_animal_and_the_same_on_every_run() -> None:
    name = incident_name(42, DAY, "acme/incidents")
    assert re.fullmatch(r"20261122-[a-z]+-[a-z]+", name)
    assert name == incident_name(42, DAY, "acme/incidents")


def test_names_do_not_repeat_across_thousands_of_issues() -> None:
    names = {incident_name(n, DAY, "acme/incidents") for n in range(1, 4000)}
    assert len(names) == 3999


def test_another_repository_names_its_first_issue_differently() -> None:
    assert incident_name(1, DAY, "acme/incidents") != incident_name(1, DAY, "other/repo")


def test_a_bad_number_is_refused() -> None:
    with pytest.raises(InvalidInput):
        incident_name(0, DAY)


def test_channel_from_pattern() -> None:
    name = incident_name(7, DAY, "acme/incidents")
    assert channel_name("inc-{name}", name, 7) == f"inc-{name}"
    assert channel_name("incident-{number}-{words}", name, 7) == (
        f"incident-7-{name.split('-', 1)[1]}")
    assert channel_name("inc-{name}", name, 7, suffix=2) == f"inc-{name}-2"


def test_slackify_folds_accents_and_never_returns_empty() -> None:
    assert slackify("Ärger im Büro!") == "arger-im-buro"
    assert slackify("!!!") == "incident"


@given(st.text(max_size=200), st.integers(1, 10**6), st.integers(0, 99))
def test_channel_names_are_always_valid(pattern_text: str, number: int, suffix: int) -> None:
    pattern = pattern_text.replace("{", "(").replace("}", ")") + "-{name}"
    name = incident_name(number, DAY)
    assert is_valid_channel_name(channel_name(pattern, name, number, suffix))


@given(st.integers(min_value=1, max_value=20_000))
def test_a_name_or_its_channel_leads_back_to_its_issue(number: int) -> None:
    from incidentbot.core.names import guesses

    name = incident_name(number, DAY, "acme/incidents")
    for ref in (name, f"#inc-{name}", f"inc-{name}-2", name.split("-", 1)[1]):
        found = guesses(ref, "inc-{name}", "acme/incidents", tries=5)
        assert number in [g.number for g in found] and len(found) == 5
    assert [g.number for g in guesses(f"inc-{number}-resolved", "inc-{number}", "a/b")] \
        == [number]
    assert guesses("20240101-past-12", "inc-{name}", "a/b") == []
