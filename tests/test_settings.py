"""Settings come from the environment the way Actions and GitHub Enterprise users expect."""

from __future__ import annotations

import pytest

from incidentbot.core.errors import InvalidInput, MissingSetting
from incidentbot.core.settings import GITHUB_API_DEFAULT, SLACK_API_DEFAULT, Settings
from incidentbot.entrypoints.cli import exit_code


def test_defaults_point_at_the_public_services() -> None:
    settings = Settings.from_env({})
    assert settings.github_api_url == GITHUB_API_DEFAULT
    assert settings.slack_api_url == SLACK_API_DEFAULT
    assert settings.repository is None
    assert settings.write_spacing == 0.0  # spacing only where GitHub asks (Retry-After)


def test_enterprise_urls_are_normalised() -> None:
    settings = Settings.from_env({"GITHUB_API_URL": "https://ghe.example.com/api/v3/",
                                  "SLACK_API_URL": "http://127.0.0.1:9/api"})
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


def test_the_git_server_comes_from_github_server_url() -> None:
    assert Settings.from_env({}).github_server_url == "https://github.com"
    settings = Settings.from_env({"GITHUB_SERVER_URL": "https://ghe.example.com/"})
    assert settings.github_server_url == "https://ghe.example.com"


def test_the_environment_repository_wins_over_the_config_one() -> None:
    assert Settings.from_env({}, repository="a/b").repository == "a/b"
    assert Settings.from_env({"GITHUB_REPOSITORY": "c/d"}, repository="a/b").repository == "c/d"


def test_blank_values_count_as_unset() -> None:
    settings = Settings.from_env({"GITHUB_TOKEN": "   ", "SLACK_BOT_TOKEN": ""})
    assert settings.github_token is None
    assert settings.slack_bot_token is None


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
                                  "PAGERDUTY_ROUTING_KEY", "GITHUB_REPOSITORY"])
def test_a_missing_setting_is_named_with_what_it_is_for(name: str) -> None:
    with pytest.raises(MissingSetting) as caught:
        Settings().require(name)
    assert name in str(caught.value)
    assert exit_code(caught.value) == 2


def test_secrets_never_appear_in_repr() -> None:
    settings = Settings.from_env({"GITHUB_TOKEN": "ghp_secret1", "SLACK_BOT_TOKEN": "xoxb-s2",
                                  "SLACK_SIGNING_SECRET": "sig3", "PAGERDUTY_ROUTING_KEY": "rk4"})
    text = repr(settings) + str(settings)
    for secret in ("ghp_secret1", "xoxb-s2", "sig3", "rk4"):
        assert secret not in text


@pytest.mark.parametrize("value", ["soon", "-1", "61"])
def test_a_bad_write_spacing_is_refused_clearly(value: str) -> None:
    with pytest.raises(InvalidInput, match="INCIDENTBOT_WRITE_SPACING"):
        Settings.from_env({"INCIDENTBOT_WRITE_SPACING": value})
