"""What people do to incidents — open, update, close — as one set of operations.

The CLI, the dispatcher and (through `comment_commands.run_commands`) issue comments all come
here, so the same command does the same thing wherever it was typed. Each operation validates first
(bad input changes nothing), writes to GitHub (the source of truth), then reconciles.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from incidentbot.core import commands, markers, people
from incidentbot.core.config import Config
from incidentbot.core.errors import AuthFailed, InvalidInput
from incidentbot.core.model import LabelFields, Status, labels_for, read_labels
from incidentbot.core.ports import Issue
from incidentbot.core.snapshot import Attribution
from incidentbot.core.text import markdown
from incidentbot.operations import comment_commands, sync
from incidentbot.operations.apply import Outcome

# Re-exported: callers know them from here.
from incidentbot.operations.connections import Connections as Connections
from incidentbot.operations.connections import connect as connect

TITLE_MAX = 256  # GitHub's limit on issue titles


def open_incident(c: Connections, *, title: str, severity: int | None = None,
                  services: Sequence[str] = (), description: str = "", public: bool = False,
                  drill: bool = False, page: bool = False, private: bool = False,
                  reporter: str | None = None, by: Attribution | None = None,
                  request_id: str | None = None,
                  roles: Mapping[str, str | None] | None = None,
                  repeat: bool = True) -> tuple[Issue, Outcome]:
    """Open the issue, then reconcile it at once (the channel exists when this returns).
    `repeat=False`: the caller knows `request_id` is used for the first time."""
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
    # Flags that contradict each other are refused here, for every entry point; the CLI
    # and the open form say it first in their own words (an option, a tick box).
    if public and private:
        raise InvalidInput("an incident is public or private, not both: a private (security) "
                           "incident never reaches the status page")
    if drill and public:
        raise InvalidInput("a drill is never public: it never reaches the status page")
    if drill and page:
        raise InvalidInput("a drill never pages anyone: open it without paging")
    commands.check_caps(level, slugs, config)
    fields = LabelFields(is_incident=True, status=Status.OPEN, severity=level, services=slugs,
                         public=public, private=private, drill=drill)
    body = description.strip() or "_No description yet._"
    if by is not None and by.by:  # else the token's owner: GitHub shows the issue's author
        body += f"\n\n_Reported by {markdown(shown(c, by))} via {markdown(by.source)}._"
    # What the opener asked for lives on the issue, not only in the card.
    body += "\n\n" + markers.opened(reporter, page, roles or {},
                                   by=by.by if by else None, via=by.source if by else None)
    # A request id may have been used before (a resumed dispatcher job): look for its issue
    # first. A fresh random one cannot have been.
    marker = request_id or str(uuid.uuid4())
    found = c.tracker.find_by_marker(marker) if request_id is not None and repeat else None
    issue = found or c.tracker.create_issue(title, body,
                                            sorted(labels_for(fields, config.severities)),
                                            marker=marker, repeat=False)
    if "incident" not in {label.lower() for label in issue.labels}:
        # GitHub silently drops the labels of someone without push access.
        raise AuthFailed("GitHub", f"#{issue.number} was opened in {c.tracker.repository} "
                         "without its labels: this token has no push access there, so it "
                         "cannot open incidents (ask for write access, or open it from Slack)")
    if by is not None and not by.by:  # the token's owner, whom creating the issue named
        by = Attribution(c.tracker.login() or issue.author or "", by.source)
    # `changed`: the issue as created stands for reading it, and its comments are none yet;
    # `opened`: its first reconcile is the opener's, or the heir's of an earlier attempt that
    # made the issue and died (a resumed job), which may have begun to provision it.
    outcome = sync.sync(c.tracker, c.chat, c.pager, config, issue.number, now=c.clock(),
                        attribution=_named(c, by), reporter=reporter, page=page,
                        roles=roles, known=issue, changed=True,
                        opened="resumed" if found else "fresh",
                        clock=c.clock)
    return issue, outcome


def update_incident(c: Connections, number: int, change: commands.Change, *,
                    note: str = "", by: Attribution | None = None,
                    actor: Collection[str] | None = None,
                    request_id: str = "", public: bool = False,
                    known: Issue | None = None) -> Outcome:
    """Apply `change` (and post `note` as an update; `public` publishes it on the status
    page), then reconcile. `known`: the issue as the caller has just read it (one request
    fewer).

    The team's rules (commands.check_policy) are checked first, for `actor` (every name the
    person goes by; None for an operator with their own token). Roles are written on the
    issue as a command comment naming the person, so they outlive the card. The outcome's
    `changed` says whether anything was written on the issue (labels, state, comments):
    False for a change that asks for what already is (the reconcile runs all the same)."""
    config = c.config
    issue = known if known is not None and known.number == number \
        else c.tracker.get_issue(number)
    fields = read_labels(issue.labels, config.severities, issue_closed=issue.state == "closed")
    if not fields.is_incident:
        raise InvalidInput(f"#{number} is not an incident (it has no `incident` label)")
    commands.check_policy(fields, change, config, actor=actor)
    after = commands.apply(fields, change, config)  # raises before anything is written
    read = issue
    if change.false_alarm and after.status is Status.CLOSED \
            and issue.state_reason != "not_planned":
        # Closed as not planned first: no postmortem, not in the metrics, still on record.
        issue = c.tracker.set_state(number, "closed", reason="not_planned")
    # Written even when `after` reads as `fields`: a close cut short after closing the issue
    # still lacks its status label, and this repeat finishes it (no call when all is there).
    issue = comment_commands.write_fields(c.tracker, issue, after, config)
    changed = set(issue.labels) != set(read.labels) or issue.state != read.state \
        or issue.state_reason != read.state_reason
    author = by.by if by and by.by else "someone"
    source = by.source if by else "CLI"
    # Who wrote it, by name, in what people read; the reference stays in the marker. A
    # name from Slack costs one users.info, only when there is something to sign.
    name = shown(c, Attribution(author, source)) \
        if (change.roles or note.strip()) and source != "monitor" else ""
    # The holder's `@login` is quiet: naming someone to a role must not ping them on GitHub
    # (the channel tells them); markers.signed reads the line back as typed.
    texts = [markers.command(author, source, markers.quiet(
                 f"/role {role} {_on_github(person, config) if person else 'none'}"),
                             f"{request_id}-{role}" if request_id else "", shown=name)
             for role, person in sorted(change.roles.items())]
    if note.strip():
        texts.append(markers.note(author, source, note, request_id, public=public,
                                  shown=name))
    if texts and request_id:  # a repeated request (a resumed job) writes nothing twice
        written = {markers.key_of(x.body) for x in c.tracker.comments(number)}
        texts = [t for t in texts if markers.key_of(t) not in written]
    for text in texts:
        c.tracker.comment(number, text)
    if texts:  # the issue as the write returned it no longer says how many comments it has
        issue = replace(issue, comments=-1)
    outcome = sync.sync(c.tracker, c.chat, c.pager, config, number, now=c.clock(),
                        attribution=_named(c, by), known=issue, changed=True, clock=c.clock)
    return replace(outcome, changed=changed or bool(texts))


def shown(c: Connections, by: Attribution) -> str:
    """A person as people read them (people.display_name), and someone from Slack whom
    `people:` does not list by their Slack name (one users.info)."""
    if by.source == "Slack" and people.SLACK_ID.fullmatch(by.by) \
            and people.known(by.by, c.config) is None:
        return c.chat.user_name(by.by)
    return people.display_name(by.by, c.config)


def _named(c: Connections, by: Attribution | None) -> Attribution | None:
    """The attribution a change message shows: from Slack the id (Slack shows a mention by
    name); from the CLI a GitHub login, shown as its person's name in `people:`."""
    if by is None or by.source == "Slack" or people.known(by.by, c.config) is None:
        return by
    return Attribution(shown(c, by), by.source)


_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")


def _on_github(person: str, config: Config) -> str:
    """A role holder as a command comment names them: `@login` when `people:` gives their
    GitHub login (readable, and the parser maps it back to the same person), else their id in
    `people:`, else the reference as given (a Slack id nobody listed)."""
    known = people.known(person, config)
    if known is not None and known.github and _LOGIN.fullmatch(known.github):
        return "@" + known.github
    if known is not None and _LOGIN.fullmatch(known.id):
        return known.id
    return person


def close_incident(c: Connections, number: int, *, by: Attribution | None = None,
                   force: bool = False, false_alarm: bool = False,
                   actor: Collection[str] | None = None) -> Outcome:
    """Close; a false alarm closes as not planned: no postmortem asked, left out of the
    metrics, still on record."""
    return update_incident(c, number, commands.Change(status=Status.CLOSED, force=force,
                                                      false_alarm=false_alarm),
                           by=by, actor=actor)


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
    both = sorted({s.lower() for s in add} & {s.lower() for s in remove})
    if both:
        raise InvalidInput(f"--service and --remove-service both name {', '.join(both)}: "
                           "add it or remove it")
    if remove:
        change = replace(change, remove_services=commands.parse(
            "/service remove " + " ".join(remove), config).remove_services)
    if roles:
        merged: dict[str, str | None] = {}
        for role, who in roles.items():
            merged.update(commands.parse(f"/role {role} {who}", config).roles)
        change = replace(change, roles=merged)
    return change
