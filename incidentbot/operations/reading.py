"""Reading an incident: the issue, its comments and its card, into a `Snapshot` — rebuilding
the card from the issue when it is gone or was not written by us."""

from __future__ import annotations

from incidentbot.core.config import Config
from incidentbot.core.ports import Issue, IssueTracker
from incidentbot.core.snapshot import Snapshot, snapshot_of
from incidentbot.core.trust import Writers


def read(tracker: IssueTracker, number: int, config: Config, *, known: Issue | None = None,
         fresh: bool = False) -> Snapshot:
    issue = known if known is not None and known.number == number \
        else tracker.get_issue(number)
    comments = [] if fresh else tracker.comments(number)
    return snapshot_of(issue, comments, writers_of(tracker, config), config,
                       tracker.repository)


def writers_of(tracker: IssueTracker, config: Config) -> Writers:
    return Writers.of(config.github.writers, tracker.login())
