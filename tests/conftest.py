"""Shared fixtures: one sandbox per session on a free port, reset before each test that uses it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from incidentbot.sandbox import Sandbox

_OUR_ENV = ("GITHUB_", "SLACK_", "PAGERDUTY_", "INCIDENTBOT_")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's or CI's own tokens or API URLs."""
    for name in list(os.environ):
        if name.startswith(_OUR_ENV):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sandbox(_sandbox_server: Sandbox) -> Sandbox:
    """The running sandbox, back to its seeded state with an empty call log."""
    _sandbox_server.reset()
    return _sandbox_server


@pytest.fixture
def sandbox_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment pointing incidentbot at the sandbox, applied to os.environ."""
    env = sandbox.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def gh(sandbox: Sandbox):  # type: ignore[no-untyped-def]
    """A real PyGithub client on the sandbox, without its production throttling."""
    from github import Auth, Github

    client = Github(
        base_url=sandbox.github_url,
        auth=Auth.Token(sandbox.env()["GITHUB_TOKEN"]),
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )
    yield client
    client.close()


@pytest.fixture
def slack(sandbox: Sandbox):  # type: ignore[no-untyped-def]
    """A real slack-sdk WebClient on the sandbox."""
    from slack_sdk import WebClient

    return WebClient(token=sandbox.env()["SLACK_BOT_TOKEN"], base_url=sandbox.slack_url)


@pytest.fixture
def s(sandbox: Sandbox):  # type: ignore[no-untyped-def]
    """Signed Slack requests (commands, forms, buttons) as Slack sends them to the sandbox."""
    from incidentbot.sandbox import DEFAULTS
    from incidentbot.sandbox.slack_requests import SlackRequests

    return SlackRequests(sandbox.slack, sandbox.url, DEFAULTS["SLACK_SIGNING_SECRET"])


@pytest.fixture
def slack_sends(s):  # type: ignore[no-untyped-def]
    """The same signed Slack requests, by the name the dispatcher's tests use."""
    return s


@pytest.fixture
def disp(sandbox: Sandbox):  # type: ignore[no-untyped-def]
    """A dispatcher on the sandbox with the default configuration, drained and closed
    afterwards (a test module with its own configuration defines its own `disp`)."""
    from helpers import running_dispatcher

    yield from running_dispatcher(sandbox)
