"""Incidents opened on GitHub: the issue form's answers (`.github/ISSUE_TEMPLATE/incident.yml`)
become labels, and an issue opened by hand with the `incident` label gets the default
severity — so either is run like one opened from Slack (channel, invites, paging).

GitHub renders a form's answers as `### <label>` sections with `_No response_` for empty
ones (https://docs.github.com/en/communities/using-templates-to-encourage-useful-issues-and-pull-requests/syntax-for-issue-forms).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from incidentbot.core import commands, markers
from incidentbot.core.config import Config
from incidentbot.core.errors import InvalidInput
from incidentbot.core.model import LabelFields, relabel
from incidentbot.core.text import markdown

if TYPE_CHECKING:
    from incidentbot.core.ports import IssueTracker
    from incidentbot.core.snapshot import Snapshot

SEVERITY = "Severity"
SERVICES = "Affected services"
DESCRIPTION = "What is happening?"
NO_RESPONSE = "_No response_"
_SECTION = re.compile(r"^### (.+?)\s*$", re.MULTILINE)


def answers(body: str) -> dict[str, str]:
    """The form's answers by label ("" for no response); empty for a body that is no form."""
    found: dict[str, str] = {}
    parts = _SECTION.split(body.split(markers.PREFIX, 1)[0])
    for label, text in zip(parts[1::2], parts[2::2], strict=True):
        value = text.strip()
        found[label.strip()] = "" if value == NO_RESPONSE else value
    return found


def description(body: str) -> str:
    """What the reporter wrote: the form's description, else the body before any marker."""
    form = answers(body)
    if DESCRIPTION in form:
        return form[DESCRIPTION]
    return body.split(markers.PREFIX, 1)[0].strip()


def severity(answer: str, config: Config) -> int | None:
    """The level an answer names ("SEV2 — Major…", "sev:2", "P1", "2")."""
    word = answer.strip().split(" ", 1)[0].strip(":—-").lower()
    for s in config.severities:
        if word in {s.name.lower(), s.label.lower(), str(s.level)}:
            return s.level
    return None


def services(answer: str, config: Config) -> tuple[str, ...]:
    """Service slugs an answer names, by display name or slug; others are ignored."""
    by_name = {s.name.lower(): s.slug for s in config.services}
    by_name.update({s.slug: s.slug for s in config.services})
    picked = [by_name[p.strip().lower()] for p in answer.split(",")
              if p.strip().lower() in by_name]
    return tuple(sorted(dict.fromkeys(picked)))


def fields_for(snapshot: Snapshot, config: Config) -> LabelFields | None:
    """The fields a new incident opened on GitHub should have, or None when it already has
    a severity (set by us or a person) or has been run before."""
    fields = snapshot.fields
    if not fields.is_incident or fields.severity is not None \
            or snapshot.card.seen_status is not None or snapshot.issue.state == "closed":
        return None
    form = answers(snapshot.issue.body)
    level = severity(form.get(SEVERITY, ""), config) or config.default_severity
    slugs = tuple(sorted({*fields.services, *services(form.get(SERVICES, ""), config)}))
    # A service's cap holds here too: the form cannot ask for more than it allows.
    allowed = commands.allowed_severity(slugs, config)
    if allowed is not None and level < allowed[0]:
        level = allowed[0]
    return replace(fields, severity=level, services=slugs)


def adopt(snapshot: Snapshot, tracker: IssueTracker, config: Config) -> None:
    """Label a new GitHub-opened incident from its form (or the default severity), and hold
    a severity label someone set on GitHub to the services' cap, saying why once."""
    wanted = fields_for(snapshot, config)
    if wanted is not None:
        _relabel(snapshot, tracker, wanted, config)
    fields = snapshot.fields
    allowed = commands.allowed_severity(fields.services, config)
    if fields.severity is None or allowed is None or fields.severity >= allowed[0] \
            or snapshot.issue.state == "closed":
        return
    reason = "above what the services allow"
    try:
        commands.check_caps(fields.severity, fields.services, config)
    except InvalidInput as exc:
        reason = str(exc)
    before = config.severity(fields.severity).name
    _relabel(snapshot, tracker, replace(fields, severity=allowed[0]), config)
    mark = f"<!-- incidentbot:capped {fields.severity} {allowed[0]} -->"
    if not any(mark in c.body for c in snapshot.comments if snapshot.writers.is_bot(c)):
        tracker.comment(snapshot.issue.number, f"{mark}\n:warning: {markdown(reason)} — "
                        f"{before} was set back to {config.severity(allowed[0]).name}.")


def _relabel(snapshot: Snapshot, tracker: IssueTracker, wanted: LabelFields,
             config: Config) -> None:
    add, remove = relabel(snapshot.issue.labels, wanted, config.severities)
    if add or remove:
        tracker.relabel(snapshot.issue.number, add, remove)
        snapshot.issue = replace(snapshot.issue,
                                 labels=tuple(sorted({*snapshot.issue.labels, *add}
                                                     - set(remove))))
    snapshot.fields = wanted
