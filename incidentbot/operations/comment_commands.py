"""Commands people type in issue comments (`/status fixing`, `/sev 1`…), run once each, and
the label writes they and the other entry points make."""

from __future__ import annotations

from dataclasses import replace

from incidentbot.core import commented, markers
from incidentbot.core.config import Config
from incidentbot.core.model import LabelFields, Status, read_labels, relabel
from incidentbot.core.ports import Issue, IssueTracker
from incidentbot.core.snapshot import Attribution, Snapshot


def run_commands(snapshot: Snapshot, tracker: IssueTracker,
                 config: Config) -> dict[str, Attribution]:
    """Commands in new comments (core/commented.py: whose they are and the rules they run
    under): relabel, close, reopen, set roles. Returns who made each change, by what changed
    ("status", "severity", "services", "role:<role>"): the last command that changed it.
    Refused commands get one reply each (found again by its marker)."""
    made: dict[str, Attribution] = {}
    state = snapshot.card
    writers = snapshot.writers
    replied = {c.body.split("-->")[0] for c in snapshot.comments
               if writers.trusts(c) and c.body.startswith(markers.REPLY.split(" {")[0])}
    for c in snapshot.comments:
        if c.id <= state.last_comment:
            continue
        found = commented.commands_of(c, writers, config)
        if found is None:
            continue
        try:
            ran = commented.run(found, snapshot.fields, config)
        except commented.Refused as exc:
            mark = markers.REPLY.format(id=c.id)
            if mark.split("-->")[0] not in replied:
                lines = found.lines
                rest = (f"\n\nNothing in this comment was run (its {len(lines)} commands "
                        "run together or not at all): fix that line and comment again.") \
                    if len(lines) > 1 else ""
                quoted = markers.quiet(exc.line[:200])  # an outsider's `@bob` pings no one
                tracker.comment(snapshot.issue.number,
                                f"{mark}\n> {quoted}\n\n:warning: {exc.reason}{rest}")
            continue
        roles = dict(state.roles)
        for role, person in ran.roles.items():
            if person is None:
                roles.pop(role, None)
            else:
                roles[role] = person
        state = replace(state, roles=roles)
        fields = ran.fields
        if ran.not_planned and fields.status is Status.CLOSED:  # closed as not planned
            snapshot.issue = tracker.set_state(snapshot.issue.number, "closed",
                                               reason="not_planned")
        by = Attribution(found.by, found.source)
        before = snapshot.fields
        for what, changed in (("status", fields.status != before.status),
                              ("severity", fields.severity != before.severity),
                              ("services", fields.services != before.services)):
            if changed:
                made[what] = by
        made.update({f"role:{role}": by for role in ran.roles})
        snapshot.issue = _write_fields(tracker, snapshot.issue, before, fields, config)
        snapshot.fields = fields
    snapshot.card = state
    return made


def _write_fields(tracker: IssueTracker, issue: Issue, before: LabelFields,
                  after: LabelFields, config: Config) -> Issue:
    """Make the issue's labels and state say `after` (idempotent): one PATCH of the labels
    and the state together, so no prefix of it can be read as another move (a close that
    closed the issue but kept `status:fixed` would read as a reopen), and it costs one
    request however many labels change."""
    add, remove = relabel(issue.labels, after, config.severities)
    state = "closed" if after.status is Status.CLOSED else "open"
    if not add and not remove and state == issue.state:
        return issue
    labels = sorted({*issue.labels, *add} - set(remove)) if add or remove else None
    return tracker.update_issue(issue.number, labels=labels,
                                state=state if state != issue.state else None)


def write_fields(tracker: IssueTracker, issue: Issue, after: LabelFields,
                 config: Config) -> Issue:
    before = read_labels(issue.labels, config.severities, issue_closed=issue.state == "closed")
    return _write_fields(tracker, issue, before, after, config)
