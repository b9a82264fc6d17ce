"""The status and severity labels as people leave them on GitHub, made to say one thing.

GitHub's label picker adds a label without taking the old one off: `status:open` stays
beside the `status:fixing` just added, and the one added last is what the person meant. A
close on GitHub leaves the status label as it was, and an issue labelled by hand may have no
status label at all. Each sync settles this before it plans: it reads the issue's events
only when two statuses or two severities are on the issue (a settled incident costs
nothing more), then takes off and puts on the status and severity labels that disagree with
what the incident is — never the whole list, so a label someone adds meanwhile stays.
"""

from __future__ import annotations

from dataclasses import replace

from incidentbot.core.config import Config
from incidentbot.core.model import conflicting, read_labels, status_and_severity
from incidentbot.core.ports import IssueTracker
from incidentbot.core.snapshot import Snapshot


def resolve(snapshot: Snapshot, tracker: IssueTracker, config: Config) -> None:
    """When the labels say two statuses or two severities, the one added last wins: the
    events are read (and kept in the snapshot, for who made each change)."""
    issue = snapshot.issue
    if not conflicting(issue.labels, config.severities):
        return
    if snapshot.events is None:
        snapshot.events = tracker.label_events(issue.number)
    added = [e.label for e in sorted(snapshot.events, key=lambda e: e.id)
             if e.action == "labeled"]
    snapshot.fields = read_labels(issue.labels, config.severities,
                                  issue_closed=issue.state == "closed", newest_last=added)


def disagree(snapshot: Snapshot, config: Config) -> bool:
    """Do the status and severity labels say something other than the incident is?"""
    return any(status_and_severity(snapshot.issue.labels, snapshot.fields, config.severities))


def agree(snapshot: Snapshot, tracker: IssueTracker, config: Config) -> None:
    """Make the status and severity labels say what the incident is: the winner of a
    conflict alone, `status:closed` on a closed issue, a status on one labelled by hand."""
    add, remove = status_and_severity(snapshot.issue.labels, snapshot.fields,
                                      config.severities)
    if not add and not remove:
        return
    tracker.relabel(snapshot.issue.number, add, remove)
    snapshot.issue = replace(snapshot.issue, labels=tuple(
        sorted({*snapshot.issue.labels, *add} - set(remove))))
