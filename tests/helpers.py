"""What many tests share: the default config, real adapters on the sandbox, a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incidentbot import config as configuration
from incidentbot import github, operations, pagerduty, slack
from incidentbot.sandbox import Sandbox
from incidentbot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = configuration.load(ROOT / "incidentbot.yml")


class FakeClock:
    """One clock for the GitHub and Slack emulators (and the reconciler), moved by a test."""

    def __init__(self, sandbox: Sandbox, start: datetime) -> None:
        self.start = start
        self.now = start
        sandbox.github.clock = lambda: self.now
        sandbox.slack.clock = lambda: self.now.timestamp()

    def at(self, minutes: float) -> datetime:
        self.now = self.start + timedelta(minutes=minutes)
        return self.now


def connections(sandbox: Sandbox, config: configuration.Config = CONFIG, *,
                clock: Callable[[], datetime] | None = None,
                **env: str) -> operations.Connections:
    """Real PyGithub, slack-sdk and PagerDuty adapters pointed at the sandbox, retrying at
    once instead of backing off."""
    settings = Settings.from_env({**sandbox.env(), "INCIDENTBOT_RETRY_BACKOFF": "0", **env})
    return operations.Connections(github.connect(settings), slack.connect(settings),
                                  pagerduty.connect(settings), config,
                                  clock or (lambda: datetime.now(UTC)))
