"""What people do to incidents — open, update, close — as one set of operations.

The CLI, the dispatcher and (through `sync.run_commands`) issue comments all come here, so
the same command does the same thing wherever it was typed. Each operation validates first
(bad input changes nothing), writes to GitHub (the source of truth), then reconciles.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from incidentbot import commands, sync
from incidentbot.config import Config
from incidentbot.errors import InvalidInput
from incidentbot.model import LabelFields, Status, labels_for, read_labels
from incidentbot.ports import Chat, Issue, IssueTracker, Pager
from incidentbot.text import markdown

TITLE_MAX = 256  # GitHub's limit on issue titles


@dataclass
class Connections:
    tracker: IssueTracker
    chat: Chat
    pager: Pager | None
    config: Config
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def open_incident(c: Connections, *, title: str, severity: int | None = None,
                  services: Sequence[str] = (), description: str = "", public: bool = False,
                  drill: bool = False, page: bool = False, private: bool = False,
                  reporter: str | None = None, by: sync.Attribution | None = None,
                  request_id: str | None = None) -> tuple[Issue, sync.Outcome]:
    """Open the issue, then reconcile it at once (the channel exists when this returns)."""
    config = c.config
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("an incident needs a title")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"the title is {len(title)} characters; GitHub allows {TITLE_MAX}")
    level = config.default_severity if severity is None else severity
    if level not in {s.level for s in config.severities}:
        raise InvalidInput(f"severity {level}: expected one of "
                           + ", ".join(str(s.level) for s in config.severities))
    slugs = tuple(sorted(dict.fromkeys(s.lower() for s in services)))
    known = {s.slug for s in config.services}
    unknown = [s for s in slugs if known and s not in known]
    if unknown:
        raise InvalidInput(f"unknown service {', '.join(unknown)}: known services are "
                           + ", ".join(sorted(known)))
    fields = LabelFields(is_incident=True, status=Status.OPEN, severity=level, services=slugs,
                         public=public and not private, private=private, drill=drill)
    body = description.strip() or "_No description yet._"
    if by is not None:
        person = config.person_by_slack(by.by)
        who = (person.name or person.github or person.id) if person else by.by
        body += f"\n\n_Reported by {markdown(who)} via {markdown(by.source)}._"
    issue = c.tracker.create_issue(title, body, sorted(labels_for(fields, config.severities)),
                                   marker=request_id or str(uuid.uuid4()))
    outcome = sync.sync(c.tracker, c.chat, c.pager, config, issue.number, now=c.clock(),
                        attribution=by,
                        reporter=reporter, page=page)
    return issue, outcome


def update_incident(c: Connections, number: int, change: commands.Change, *,
                    note: str = "", by: sync.Attribution | None = None,
                    public: bool = False) -> sync.Outcome:
    """Apply `change` (and post `note` as an update; `public` publishes it on the status
    page), then reconcile."""
    config = c.config
    issue = c.tracker.get_issue(number)
    fields = read_labels(issue.labels, config.severities, issue_closed=issue.state == "closed")
    if not fields.is_incident:
        raise InvalidInput(f"#{number} is not an incident (it has no `incident` label)")
    after = commands.apply(fields, change, config)  # raises before anything is written
    if after != fields:
        sync.write_fields(c.tracker, issue, after, config)
    if note.strip():
        author = (by.by if by else "someone").replace(" ", "_")
        source = (by.source if by else "CLI").replace(" ", "_")
        flag = " public" if public else ""
        c.tracker.comment(number, f"{sync.NOTE_MARKER} {author} {source}{flag} -->\n"
                                  f"{note.strip()}")
    return sync.sync(c.tracker, c.chat, c.pager, config, number, now=c.clock(),
                     attribution=by,
                     roles=change.roles or None)


def close_incident(c: Connections, number: int, *,
                   by: sync.Attribution | None = None) -> sync.Outcome:
    return update_incident(c, number, commands.Change(status=Status.CLOSED), by=by)


def change_from_options(config: Config, *, status: str | None = None,
                        severity: int | None = None, add: Sequence[str] = (),
                        remove: Sequence[str] = (),
                        roles: Mapping[str, str] | None = None) -> commands.Change:
    """A Change from CLI-style options, validated the same way as typed commands."""
    change = commands.Change()
    if status is not None:
        change = replace(change, status=commands.parse(f"/status {status}", config).status)
    if severity is not None:
        change = replace(change, severity=commands.parse(f"/sev {severity}", config).severity)
    if add:
        change = replace(change, add_services=commands.parse(
            "/service add " + " ".join(add), config).add_services)
    if remove:
        change = replace(change, remove_services=commands.parse(
            "/service remove " + " ".join(remove), config).remove_services)
    if roles:
        merged: dict[str, str | None] = {}
        for role, who in roles.items():
            merged.update(commands.parse(f"/role {role} {who}", config).roles)
        change = replace(change, roles=merged)
    return change


def connect(config: Config, *, need_chat: bool = True) -> Connections:
    """Adapters for the environment's GitHub, Slack and PagerDuty (PagerDuty only when a
    routing key is set: paging is optional)."""
    from incidentbot import github, pagerduty, slack
    from incidentbot.settings import Settings

    settings = Settings.from_env(repository=config.repository)
    tracker = github.connect(settings)
    chat = slack.connect(settings) if need_chat else None
    pager = pagerduty.connect(settings) if settings.pagerduty_routing_key else None
    return Connections(tracker, chat, pager, config)  # type: ignore[arg-type]
