"""Reading an incident: the issue, its comments and its card, into a `Snapshot` — rebuilding
the card from the issue when it is gone or was not written by us."""

from __future__ import annotations

from incidentbot.core import names
from incidentbot.core.config import Config
from incidentbot.core.errors import NotFound
from incidentbot.core.model import read_labels
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


def incident(tracker: IssueTracker, number: int, config: Config) -> Issue | None:
    """Issue `number` when it is an incident of this repository (one request); None when
    there is no such issue, or it is a pull request or an issue without the incident label."""
    try:
        issue = tracker.get_issue(number)
    except NotFound:
        return None
    if issue.pull or not read_labels(issue.labels, config.severities).is_incident:
        return None
    return issue


def find(tracker: IssueTracker, ref: str, config: Config) -> Snapshot | None:
    """The incident an incident name or channel name stands for, read from the few issues the
    name can belong to (`names.guesses`: two requests, six at most, however many incidents
    the repository has); None when the name does not say which issue it is."""
    guessed = [g for p in (config.slack.channel_pattern, config.slack.drill_channel_pattern)
               for g in names.guesses(ref, p, tracker.repository)]
    for guess in dict.fromkeys(guessed):
        try:
            issue = tracker.get_issue(guess.number)
        except NotFound:
            if guess.name is None:
                continue
            break  # issue numbers only grow: the later guesses are not there either
        if issue.pull or not read_labels(issue.labels, config.severities).is_incident:
            continue
        snap = read(tracker, guess.number, config, known=issue)
        card = snap.card.name
        if guess.name is None or card == guess.name or card.endswith(f"-{guess.name}"):
            return snap
    return None
