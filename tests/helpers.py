"""What many tests share: the default config, real adapters on the sandbox, a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from incidentbot.adapters import github, pagerduty, slack
from incidentbot.core import config as configuration
from incidentbot.core.settings import Settings
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox

if TYPE_CHECKING:
    from incidentbot.entrypoints.dispatcher import Dispatcher

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


def connections_as(sandbox: Sandbox, identity: str, config: configuration.Config = CONFIG,
                   **env: str) -> operations.Connections:
    """Adapters writing to GitHub as one of the sandbox's identities (IDENTITIES): the
    dispatcher's App (`app`), the workflow's GITHUB_TOKEN (`actions`), a person, mallory.
    Like a real deployment, nothing tells it its own login up front."""
    settings = Settings.from_env({**sandbox.env(identity), "INCIDENTBOT_RETRY_BACKOFF": "0",
                                  **env})
    return operations.Connections(github.connect(settings), slack.connect(settings),
                                  pagerduty.connect(settings), config)


def run_triggered_workflows(sandbox: Sandbox, after: int,
                            config: configuration.Config = CONFIG) -> int:
    """Run the incident workflow's sync (with the Actions token) for every delivery since
    `after` that starts workflows and concerns an incident, as Actions would; returns the
    last delivery seen. Writes made with the Actions token start nothing, so this ends."""
    from incidentbot.operations import sync

    actions = connections_as(sandbox, "actions", config)
    for _ in range(10):  # bounded: each round only runs what the previous round started
        store = sandbox.github.store
        # As incident.yml's `if:`: the card's own comment events start no sync.
        pending = [d for d in sandbox.deliveries(after) if d.starts_workflows
                   and store.users[d.actor.lower()].type != "Bot"
                   and not (d.comment is not None and d.comment in store.comments
                            and store.comments[d.comment].body.startswith("### Incident card"))]
        if not pending:
            break
        after = sandbox.deliveries()[-1].seq
        for number in dict.fromkeys(d.issue for d in pending):
            labels = {sandbox.github.store.labels[x].name
                      for x in sandbox.github.store.issues[number].labels}
            if "incident" in labels:
                sync.sync(actions.tracker, actions.chat, actions.pager, config, number)
    deliveries = sandbox.deliveries()
    return deliveries[-1].seq if deliveries else after


def running_dispatcher(sandbox: Sandbox, config: configuration.Config = CONFIG
                       ) -> Iterator[Dispatcher]:
    """A dispatcher on the sandbox for a fixture to yield: drained and closed afterwards."""
    from incidentbot.entrypoints.dispatcher import Dispatcher
    from incidentbot.sandbox import DEFAULTS

    d = Dispatcher(config, DEFAULTS["SLACK_SIGNING_SECRET"],
                   lambda: connections(sandbox, config), allowed_teams=frozenset({"T0SANDBOX"}))
    yield d
    d.drain()
    d.close()
