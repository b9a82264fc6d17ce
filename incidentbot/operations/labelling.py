"""The status and severity labels as people leave them on GitHub, made to say one thing.

GitHub's label picker adds a label without taking the old one off: `status:open` stays
beside the `status:fixing` just added, and the one added last is what the person meant. A
close on GitHub leaves the status label as it was, and an issue labelled by hand may have no
status label at all. Each sync settles this before it plans: it reads the issue's events
only when two statuses or two severities are on the issue (a settled incident costs
nothing more), then takes off and puts on the status and severity labels that disagree with
what the incident is — never the whole list, so a label someone adds meanwhile stays.

Only people's label events count: a label our own identities added (a status put on an issue
labelled by hand) is never "the one added last" over a person's. And a status or severity is
only put on an issue that has none on the freshest labels we have (re-read when only the
turn's first read says so): a person who picked one meanwhile keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from incidentbot.core.config import Config
from incidentbot.core.model import conflicting, read_labels, said, status_and_severity
from incidentbot.core.ports import IssueTracker
from incidentbot.core.snapshot import Snapshot


def resolve(snapshot: Snapshot, tracker: IssueTracker, config: Config) -> None:
    """When the labels say two statuses or two severities, the one a person added last wins:
    the events are read (and kept in the snapshot, for who made each change)."""
    issue = snapshot.issue
    if not conflicting(issue.labels, config.severities):
        return
    if snapshot.events is None:
        snapshot.events = tracker.label_events(issue.number)
    # A label a person added outranks any our own identities added, however late: ours
    # only ever fill in or settle what people said (`agree`).
    events = sorted((e for e in snapshot.events if e.action == "labeled"),
                    key=lambda e: (not snapshot.writers.made(e.actor), e.id))
    added = [e.label for e in events]
    snapshot.fields = read_labels(issue.labels, config.severities,
                                  issue_closed=issue.state == "closed", newest_last=added)


def disagree(snapshot: Snapshot, config: Config) -> bool:
    """Do the status and severity labels say something other than the incident is?"""
    return any(status_and_severity(snapshot.issue.labels, snapshot.fields, config.severities))


def agree(snapshot: Snapshot, tracker: IssueTracker, config: Config, *,
          fresh: bool = False) -> None:
    """Make the status and severity labels say what the incident is: the winner of a
    conflict alone, `status:closed` on a closed issue, a status on one labelled by hand.
    `fresh`: `snapshot.issue` is as a write of this turn returned it; else, before putting on
    a status or severity the issue lacks, it is read again, and one a person put on since is
    left for the next sync to read."""
    add, remove = status_and_severity(snapshot.issue.labels, snapshot.fields,
                                      config.severities)
    if not add and not remove:
        return
    if _fills(snapshot.issue.labels, add, config) and not fresh:
        now = tracker.get_issue(snapshot.issue.number)
        if _kinds(now.labels, config) != _kinds(snapshot.issue.labels, config):
            return  # someone set a status or severity since we read: theirs stands
        snapshot.issue = now
        add, remove = status_and_severity(now.labels, snapshot.fields, config.severities)
        if not add and not remove:
            return
    tracker.relabel(snapshot.issue.number, add, remove)
    snapshot.issue = replace(snapshot.issue, labels=tuple(
        sorted({*snapshot.issue.labels, *add} - set(remove))))


def _kinds(labels: Sequence[str], config: Config) -> tuple[list[str], list[str]]:
    """The status labels and the severity labels among `labels`."""
    statuses, levels = said(labels, config.severities)
    return sorted(x.lower() for x in statuses), sorted(x.lower() for x in levels)


def _fills(labels: Sequence[str], add: Sequence[str], config: Config) -> bool:
    """Would `add` put a status or a severity on an issue that has none?"""
    statuses, levels = said(labels, config.severities)
    new_statuses, new_levels = said(add, config.severities)
    return bool((new_statuses and not statuses) or (new_levels and not levels))
