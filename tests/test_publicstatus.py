"""One mapping from our statuses to the public's words, configurable, used everywhere."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import CONFIG

from incidentbot.core import config as configuration
from incidentbot.core import publicstatus
from incidentbot.core.errors import ConfigError
from incidentbot.core.model import Status


def test_the_default_words_follow_statuspage() -> None:
    assert [publicstatus.word(s, CONFIG) for s in Status] == [
        "investigating", "investigating", "identified", "monitoring", "resolved", "resolved"]
    assert [publicstatus.is_resolved(s, CONFIG) for s in Status] == [
        False, False, False, False, True, True]


def test_a_team_may_move_a_status_to_another_word() -> None:
    config = configuration.parse("status_page:\n  statuses:\n    fixed: resolved\n"
                                 "    postmortem: postmortem\n")
    assert publicstatus.word(Status.FIXED, config) == "resolved"
    assert publicstatus.is_resolved(Status.FIXED, config)
    assert publicstatus.is_resolved(Status.POSTMORTEM, config)
    assert publicstatus.label(Status.FIXING, config) == "Identified"


def test_only_statuspage_words_and_known_levels_are_accepted() -> None:
    with pytest.raises(ConfigError) as caught:
        configuration.parse("status_page:\n  statuses:\n    fixed: done\n")
    assert "status_page.statuses.fixed" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        configuration.parse("status_page:\n  impacts:\n    9: major_outage\n")
    assert "status_page.impacts.9" in str(caught.value)
    config = configuration.parse("status_page:\n  impacts:\n    1: partial_outage\n")
    assert config.status_page.impacts == {"1": "partial_outage"}
    assert replace(CONFIG).status_page.impacts["2"] == "partial_outage"


def test_a_logo_is_used_or_refused_never_ignored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "incidentbot.yml"
    path.write_text("status_page:\n  logo: assets/logo.png\n")
    with pytest.raises(ConfigError) as caught:
        configuration.load(path)
    assert "status_page.logo" in str(caught.value) and "does not exist" in str(caught.value)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "logo.png").write_bytes(b"\x89PNG")
    assert configuration.load(path).status_page.logo == "assets/logo.png"
