"""Commands people type in issue comments (`/status fixing`, `/sev 1`…), run once each, and
the label writes they and the other entry points make."""

from __future__ import annotations

from dataclasses import replace

from incidentbot.core import commands, markers
from incidentbot.core.config import Config
from incidentbot.core.errors import IncidentbotError, InvalidInput
from incidentbot.core.model import LabelFields, Status, read_labels, relabel
from incidentbot.core.ports import Issue, IssueTracker
from incidentbot.core.snapshot import Attribution, Snapshot


def run_commands(snapshot: Snapshot, tracker: IssueTracker,
                 config: Config) -> list[Attribution]:
    """Commands in new comments: typed by people with write access, or written by the bot
    for someone who used Slack or the CLI (a `command` marker naming them). Relabel, close,
    reopen, set roles, under the same rules as everywhere. Returns who did something; refused
    commands get one reply each (found again by its marker)."""
    done: list[Attribution] = []
    state = snapshot.card
    writers = snapshot.writers
    replied = {c.body.split("-->")[0] for c in snapshot.comments
               if writers.trusts(c) and c.body.startswith(markers.REPLY.split(" {")[0])}
    for c in snapshot.comments:
        if c.id <= state.last_comment:
            continue
        signed = markers.signed(c.body, markers.COMMAND) if writers.trusts(c) else None
        if signed is None and (writers.is_bot(c) or markers.has_marker(c.body)):
            continue
        lines = commands.command_lines(signed.text if signed else c.body)
        if not lines:
            continue
        by = Attribution(signed.author, signed.source) if signed \
            else Attribution(c.author or "", "GitHub")
        # Every command line runs, in order, checked together first: a bad one anywhere
        # changes nothing, and the reply names it.
        fields, roles, not_planned, line = snapshot.fields, dict(state.roles), False, lines[0]
        try:
            if not writers.trusts(c):
                raise InvalidInput(f"@{c.author} cannot run incident commands here: only "
                                   "people with write access to the repository can")
            for line in lines:
                change = commands.parse(line, config)
                if signed is None:  # from Slack and the CLI the rules were checked before
                    commands.check_policy(fields, change, config,
                                          actor=_names_of(c.author or "", config))
                fields = commands.apply(fields, change, config)
                for role, person in change.roles.items():
                    if person is None:
                        roles.pop(role, None)
                    else:
                        roles[role] = person
                if change.status is not None:
                    not_planned = change.false_alarm
        except IncidentbotError as exc:
            mark = markers.REPLY.format(id=c.id)
            if mark.split("-->")[0] not in replied:
                rest = (f"\n\nNothing in this comment was run (its {len(lines)} commands "
                        "run together or not at all): fix that line and comment again.") \
                    if len(lines) > 1 else ""
                quoted = markers.quiet(line[:200])  # an outsider's `@bob` pings no one
                tracker.comment(snapshot.issue.number,
                                f"{mark}\n> {quoted}\n\n:warning: {exc}{rest}")
            continue
        state = replace(state, roles=roles)
        if not_planned and fields.status is Status.CLOSED:  # closed as not planned
            snapshot.issue = tracker.set_state(snapshot.issue.number, "closed",
                                               reason="not_planned")
        snapshot.issue = _write_fields(tracker, snapshot.issue, snapshot.fields, fields, config)
        snapshot.fields = fields
        done.append(by)
    snapshot.card = state
    return done


def _names_of(login: str, config: Config) -> set[str]:
    """Every name a GitHub user goes by in the config (login, people id, Slack id)."""
    person = config.person_by_github(login)
    return {login, *((person.id, person.slack or "") if person else ())}


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
