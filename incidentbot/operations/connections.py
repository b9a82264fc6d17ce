"""The adapters a command works through, made from the environment. Kept apart from
incidents.py so that a command that only reads (`list`, a sync) does not import the open,
update and close use cases with it: every Actions run is a cold start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from incidentbot.core.config import Config
from incidentbot.core.ports import Chat, IssueTracker, Pager


@dataclass
class Connections:
    tracker: IssueTracker
    chat: Chat
    pager: Pager | None
    config: Config
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def connect(config: Config, *, need_chat: bool = True) -> Connections:
    """Adapters for the environment's GitHub, Slack and PagerDuty (PagerDuty only when a
    routing key is set: paging is optional). None of them imports its client library before
    its first request."""
    from incidentbot.adapters import github, pagerduty, slack
    from incidentbot.core.settings import Settings

    settings = Settings.from_env(repository=config.repository)
    tracker = github.connect(settings)
    chat = slack.connect(settings) if need_chat else None
    pager = pagerduty.connect(settings) \
        if settings.pagerduty_routing_key or settings.pagerduty_api_key else None
    return Connections(tracker, chat, pager, config)  # type: ignore[arg-type]
