"""The update form's edits beyond labels: title, description and leads, with the update for
stakeholders — written to GitHub, then reconciled through `operations.update_incident`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from incidentbot.core import commands
from incidentbot.core.errors import InvalidInput
from incidentbot.core.model import Status, read_labels
from incidentbot.core.ports import Issue
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import reading
from incidentbot.operations.apply import Outcome

_FOOTERS = ("\n\n_Reported by ", "\n\n<!-- incidentbot:")


@dataclass(frozen=True, slots=True)
class Amended:
    """What `update` did. `stays_closed`: the status the form asked for, not applied because
    the incident was closed after the form opened (only a reopen moves a closed incident);
    `saved`: something else the form said (a note, a title, a lead…) was written."""

    outcome: Outcome
    stays_closed: Status | None = None
    saved: bool = True


def split_body(body: str) -> tuple[str, str]:
    """(the description people wrote, what follows it: the reporter line and markers)."""
    cut = min((at for at in (body.find(f) for f in _FOOTERS) if at != -1), default=len(body))
    description = body[:cut].strip()
    if description == "_No description yet._":
        description = ""
    return description, body[cut:]


def role_changes(held: Mapping[str, str],
                 wanted: Mapping[str, str | None]) -> dict[str, str | None]:
    """Only the roles the form changed (a picker left as it was changes nothing). A role
    held by someone known only on GitHub (`@login`) cannot be shown in a Slack picker: an
    empty picker leaves it as it is."""
    out: dict[str, str | None] = {}
    for role, who in wanted.items():
        before = held.get(role)
        if who == before or (who is None and (before is None or before.startswith("@"))):
            continue
        out[role] = who
    return out


def update(c: operations.Connections, number: int, change: commands.Change, *,
           title: str | None = None, description: str | None = None,
           roles: Mapping[str, str | None] | None = None, note: str = "",
           by: Attribution | None = None, actor: Collection[str] | None = None,
           request_id: str = "", public: bool = False,
           known: Issue | None = None) -> Amended:
    """Apply what the update form asks: validated first, then written, then reconciled.

    A form opened before the incident was closed still shows the status it had then: on a
    closed incident that status is left out (and said in `stays_closed`) instead of refusing
    the whole form, so the note and the edits it carries are not lost. `known`: the issue as
    the caller has just read it."""
    issue = known if known is not None and known.number == number \
        else c.tracker.get_issue(number)
    old_description, footer = split_body(issue.body)
    new_title = " ".join((title or "").split())
    if title is not None and not new_title:
        raise InvalidInput("title: an incident needs a title")
    if len(new_title) > operations.TITLE_MAX:
        raise InvalidInput(f"title: {len(new_title)} characters; GitHub allows "
                           f"{operations.TITLE_MAX}")
    edits: dict[str, str] = {}
    said: list[str] = []
    if new_title and new_title != issue.title:
        edits["title"] = new_title
        # In a code span: on GitHub an `@login` in it pings no one, and nothing formats.
        said.append("_Title changed to:_ `" + new_title.replace("`", "ˋ") + "`")
    if description is not None and description.strip() != old_description:
        edits["body"] = (description.strip() or "_No description yet._") + footer
        said.append("_Description updated on the issue._")
    if roles:
        held = reading.read(c.tracker, number, c.config).card.roles
        change = replace(change, roles={**change.roles, **role_changes(held, roles)})
    # Validate the label change before anything is written: apply() raises on a bad move.
    fields = read_labels(issue.labels, c.config.severities,
                         issue_closed=issue.state == "closed")
    stays_closed = None
    if fields.status is Status.CLOSED and not change.reopen \
            and change.status not in (None, Status.CLOSED):
        stays_closed, change = change.status, replace(change, status=None)
    after = commands.apply(fields, change, c.config)
    if edits:
        c.tracker.edit_issue(number, title=edits.get("title"), body=edits.get("body"))
    text = "\n\n".join(p for p in (note.strip(), *said) if p)
    outcome = operations.update_incident(c, number, change, note=text, by=by, actor=actor,
                                         request_id=request_id, public=public)
    return Amended(outcome, stays_closed,
                   saved=bool(text or change.roles or after != fields))
