"""The reconciler: make Slack (and paging) match the GitHub issue, idempotently.

`sync(number)` reads the issue, its comments and the incident card (the bot's own comment,
its memory), runs commands people typed in comments, then `plan()` — pure — lists the
actions that bring Slack in line, and `apply()` runs them one by one, recording each outcome
in the card's ledger. One failed action never stops the others; the card is saved at the end.

Safe to repeat, to run concurrently and to resume after a crash:
- the channel is found again by its name and the incident marker in its purpose;
- every post carries a key in Slack message metadata; before posting a key the card does not
  know, the channel's history is read once to adopt a post an interrupted run already made;
- edits (topic, announcements) are compared with what the card remembers, so an unchanged
  incident costs no Slack call at all;
- GitHub writes are either idempotent (labels, edits) or found again by a marker (replies).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from incidentbot import (
    blocks,
    commands,
    flow,
    intake,
    lease,
    markers,
    messages,
    names,
    notify,
    people,
    publicstatus,
)
from incidentbot import card as cards
from incidentbot.card import CardState, Posted
from incidentbot.config import Config
from incidentbot.errors import Conflict, IncidentbotError, InvalidInput, ServiceError
from incidentbot.model import LabelFields, Role, Status, read_labels, relabel
from incidentbot.ports import Channel, Chat, Comment, Issue, IssueTracker, LabelEvent, Pager
from incidentbot.trust import Writers

REPLY_MARKER = markers.REPLY
NOTE_MARKER = markers.NOTE
CHANNEL = "@channel"  # stands for the incident channel in a planned action


# -- what was read -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Attribution:
    """Who made the change a sync is about to announce, and where (Slack, CLI, GitHub)."""

    by: str
    source: str


@dataclass(slots=True)
class Snapshot:
    issue: Issue
    fields: LabelFields
    comments: list[Comment]
    card: CardState
    card_comment: Comment | None
    writers: Writers
    events: list[LabelEvent] | None = None
    rebuilt: str = ""  # why the card was rebuilt from the issue ("" when it was read)

    @property
    def bot_logins(self) -> set[str]:
        """The logins incidentbot wrote as here (its writers, and Apps seen on the issue)."""
        seen = {c.author for c in self.comments if c.author and self.writers.is_bot(c)}
        return {*self.writers.logins, *seen}


# -- what to do ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Action:
    """One side effect. `effect` names its line in the card's ledger."""

    kind: str
    effect: str
    channel: str = CHANNEL
    key: str = ""
    text: str = ""
    users: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str:
        return dict(self.extra).get(name, "")


@dataclass(slots=True)
class Plan:
    actions: list[Action] = field(default_factory=list)
    card: CardState | None = None  # the card's new memory once every action succeeded

    def add(self, kind: str, effect: str, **kwargs: object) -> None:
        self.actions.append(Action(kind, effect, **kwargs))  # type: ignore[arg-type]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def marker(repository: str, number: int) -> str:
    """Written into the channel purpose: tells whose channel it is."""
    return f"incidentbot:{repository}#{number}"


# -- planning (pure) -------------------------------------------------------------------------
def facts(snapshot: Snapshot, config: Config, state: CardState) -> messages.Facts:
    severity = config.severity(snapshot.fields.severity) if snapshot.fields.severity else None
    service_names = config.service_names(snapshot.fields.services)
    roles = {role_label(config, r): p for r, p in state.roles.items()}
    return messages.Facts(
        number=snapshot.issue.number, name=state.name, title=snapshot.issue.title,
        url=snapshot.issue.url, status=snapshot.fields.status,
        severity=severity.name if severity else "unrated",
        meaning=severity.meaning if severity else "",
        services=tuple(service_names), roles=roles, channel_id=state.channel_id,
        channel_name=state.channel_name, drill=snapshot.fields.drill,
        private=is_private(snapshot.fields, config),
        **flow.facts_extra(snapshot, config, state),
        public_status=publicstatus.word(snapshot.fields.status, config),
    )


def role_label(config: Config, value: str) -> str:
    """`commander` -> "Incident commander" (the team's word for it, from the config)."""
    try:
        return config.roles.get(Role(value), value)
    except ValueError:
        return value


def is_private(fields: LabelFields, config: Config) -> bool:
    """Private: the `private` label, or a severity or service configured as private."""
    if fields.private:
        return True
    if fields.severity is not None and config.severity(fields.severity).private:
        return True
    for slug in fields.services:
        try:
            if config.service(slug).private:
                return True
        except KeyError:
            continue
    return False


def wanted_invites(snapshot: Snapshot, config: Config, state: CardState) -> list[str]:
    """Slack ids to invite: reporter, role holders, owners of the services, severity's people,
    on-call and upstream owners — whatever form the config names them in (people.py)."""
    return people.wanted(flow.invitees(snapshot, config, state), config, state)


def announce_channels(snapshot: Snapshot, config: Config) -> list[str]:
    """Where the incident is announced: none for drills; the security channel only for
    private incidents; else the configured channels plus the severity's escalation ones."""
    if snapshot.fields.drill:
        return []
    if is_private(snapshot.fields, config):
        return [config.slack.security_channel] if config.slack.security_channel else []
    refs = list(config.slack.announce)
    if snapshot.fields.severity is not None:
        refs += list(config.severity(snapshot.fields.severity).announce)
    return list(dict.fromkeys(refs))


def bookmarks(snapshot: Snapshot, config: Config, state: CardState) -> list[tuple[str, str]]:
    links = [(f"Issue #{snapshot.issue.number}", snapshot.issue.url),
             *flow.links(snapshot, config, state)]
    for slug in snapshot.fields.services:
        try:
            service = config.service(slug)
        except KeyError:
            continue
        links += [(f"{service.name}: {d.title}", d.url) for d in service.docs]
    if config.status_page.url and not is_private(snapshot.fields, config) \
            and not snapshot.fields.drill:
        links.append(("Status page", config.status_page.url))
    if state.postmortem_url:
        links.append(("Postmortem", state.postmortem_url))
    return links


def wants_page(snapshot: Snapshot, config: Config, state: CardState) -> bool:
    if snapshot.fields.drill:
        return False
    severity = config.severity(snapshot.fields.severity) if snapshot.fields.severity else None
    return state.page_requested or bool(severity and severity.page)


def prepare(state: CardState, issue_state: str, config: Config) -> CardState:
    """The card as planning should see it. A reopened incident whose channel was archived
    gets a successor channel (Slack does not let bots unarchive), with everything that
    belongs to a channel — invites, topic, bookmarks, the summary — to be done again."""
    if issue_state == "closed" or not state.archived or config.slack.on_close != "archive":
        return state
    return replace(
        state, channel_id=None, channel_name=None, archived=False, purpose_set=False,
        invited=(), invite_failed={}, topic="", bookmarks=(), reopens=state.reopens + 1,
        previous_channel=state.channel_id,
        messages={k: v for k, v in state.messages.items()
                  if not k.startswith(("summary", "closed"))},
    )


def plan(snapshot: Snapshot, config: Config, *, repository: str,
         attribution: Attribution | None = None, now: datetime | None = None,
         repair: bool = False, force_postmortem: bool = False,
         extra_posts: Sequence[tuple[str, str]] = ()) -> Plan:
    """The actions that make Slack and paging match the issue, and the card's memory after.

    Pure: reads only `snapshot`, `config` and the arguments.
    """
    now = now or datetime.now(UTC)
    out = Plan()
    state = snapshot.card
    fields = snapshot.fields
    issue = snapshot.issue
    closed = issue.state == "closed"
    private = is_private(fields, config)
    f = facts(snapshot, config, state)

    # The channel: created once; after a close it is archived (or renamed); on reopen a
    # successor is made when Slack refuses to unarchive (bot tokens cannot).
    if state.channel_id is None:
        pattern = config.slack.drill_channel_pattern if fields.drill \
            else config.slack.channel_pattern
        base = names.channel_name(pattern, state.name, issue.number)
        out.add("create_channel", "channel", text=base,
                extra=(("private", "1" if private else ""), ("pattern", pattern)))
    if state.previous_channel and f"reopened:{state.reopens}" not in state.messages:
        out.add("post", "channel", key=f"reopened:{state.reopens}",
                text=messages.reopened(f, state.previous_channel))
    if not closed and state.archived and config.slack.on_close != "archive":
        out.add("rename_back", "channel", text=config.slack.resolved_suffix)
        out.add("post", "channel", key=f"reopened:{state.reopens + 1}",
                text=messages.reopened(f, None))
    if not state.purpose_set:
        out.add("purpose", "channel",
                text=messages.purpose(f, marker(repository, issue.number)))

    severity = config.severity(fields.severity) if fields.severity else None
    wants_postmortem = force_postmortem or (
        fields.status is Status.POSTMORTEM and severity is not None and severity.postmortem
        and state.postmortem_url is None and not fields.drill) or (
        closed and not state.archived and state.postmortem_url is not None)  # final figures
    if wants_postmortem:
        out.add("postmortem", "postmortem")

    if not closed:
        invites = [u for u in wanted_invites(snapshot, config, state)
                   if u not in state.invited and (repair or u not in state.invite_failed)]
        if invites:
            out.add("invite", "invites", users=tuple(invites))
        topic = messages.topic(f)
        if topic != state.topic:
            out.add("topic", "topic", text=topic)
        for title, url in bookmarks(snapshot, config, state):
            if url not in state.bookmarks:
                out.add("bookmark", "bookmarks", text=title, extra=(("url", url),))
        if "summary" not in state.messages:
            out.add("post", "summary", key="summary",
                    text=messages.summary(f, intake.description(issue.body)))
        if "recent-changes" not in state.messages and not fields.drill \
                and any(config.service(s).repos for s in fields.services
                        if s in {x.slug for x in config.services}):
            out.add("recent_changes", "recent changes")  # changes.py: what changed?

    # Changes since the channel was last told.
    new = replace(state, seen_status=fields.status.value, seen_severity=fields.severity,
                  seen_services=fields.services, seen_roles=dict(state.roles))
    if state.seen_status is not None:
        changes = _changes(state, fields, f, config)
        if changes:
            by, source = _who(snapshot, changes, attribution)
            key = f"change:{state.seq}:" + digest(repr(changes))
            out.add("post", "changes", key=key, text=messages.change(f, changes, by, source))
            stamp = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            logged = tuple((stamp, f"{c.what}:{c.after}", by, source) for c in changes)
            new = replace(new, seq=state.seq + 1, history=(*state.history, *logged)[-200:])

    # Beyond Slack (Teams, webhooks, email): once per change, by key.
    for k, body, extra in notify.actions(snapshot, config, state, f, new.seq, private):
        out.add("notify", f"notify {extra['target']}", key=k, text=body,
                extra=tuple(extra.items()))

    # Comments mirrored once each; notes (updates typed in Slack or the CLI) as updates.
    # A comment carrying a marker (a card, a reply, a forged note) is never shown as what a
    # person said; a note counts only from someone trusted.
    writers = snapshot.writers
    for c in snapshot.comments:
        if c.id <= state.last_comment:
            continue
        if markers.has_marker(c.body):
            note = markers.signed(c.body, markers.NOTE)
            if note is None or not writers.trusts(c):
                continue
            # A note typed in Slack names its author by Slack id (a mention); from the CLI
            # the author is a local user name, shown as a name even if it looks like an id.
            shown = note.author if note.source.lower() == "slack" \
                else f"{note.author} ({note.source})"
            text = messages.comment(f, shown, note.text, c.url, update=True)
        elif commands.first_command(c.body) is not None:
            continue  # commands act; the change message says what they did
        else:
            text = messages.comment(f, c.author or "someone", c.body, c.url)
        out.add("post", "comments", key=f"comment:{c.id}", text=text)
    seen = [c.id for c in snapshot.comments if c is not snapshot.card_comment]
    if seen:
        new = replace(new, last_comment=max(state.last_comment, max(seen)))

    # Announcements, edited in place; a resolution message once per resolution.
    resolved = fields.status.rank >= Status.FIXED.rank
    for ref in announce_channels(snapshot, config):
        text = messages.announcement(f, resolved)
        payload = (("blocks", blocks.encode(blocks.announcement(f, text))),)
        key = announce_key(state, ref, repository, issue.number)
        if key not in state.messages:
            out.add("post", f"announcement {ref}", channel=ref, key=key, text=text,
                    extra=payload)
        elif state.digests.get(key) != digest(text + payload[0][1]):
            out.add("update", f"announcement {ref}", channel=ref, key=key, text=text,
                    extra=payload)
        if resolved:
            rkey = f"resolved:{ref}:{repository}#{issue.number}:{state.reopens}"
            if rkey not in state.messages:
                out.add("post", f"announcement {ref}", channel=ref, key=rkey,
                        text=messages.resolution(f, issue.created_at, now),
                        extra=(("thread", key),))

    # Posts the caller asks for (a drill's injects and debrief), each once by its key.
    if not closed:
        for key, text in extra_posts:
            if key not in state.messages:
                out.add("post", "drill", key=key, text=text)

    # Reminders: one nudge per overdue update period, and one to name a commander.
    if not closed and fields.status.active and state.channel_id is not None:
        for key, text in reminders(snapshot, config, state, now):
            if key not in state.messages:
                out.add("post", "reminders", key=key, text=text,
                        extra=(("button", str(issue.number)),))

    # Paging: trigger once while active, resolve once when fixed.
    if wants_page(snapshot, config, state):
        dedup = f"{repository}#{issue.number}"
        # When and for whom, for the postmortem's timeline (logged once the call worked).
        paging = (("at", now.astimezone(UTC).isoformat(timespec="seconds").replace(
            "+00:00", "Z")), ("by", attribution.by if attribution else ""),
            ("source", attribution.source if attribution else ""))
        if fields.status.active and (state.paged is None or state.page_resolved):
            sev = config.severity(fields.severity) if fields.severity else None
            out.add("page", "paging", key=dedup,
                    text=f"{f.severity} {issue.title}"[:1024],
                    extra=(("severity", "critical" if sev and sev.level <= 1 else "error"),
                           ("url", issue.url), *paging))
        elif not fields.status.active and state.paged and not state.page_resolved:
            out.add("page_resolve", "paging", key=dedup, extra=paging)

    renamed = flow.resolved_name(snapshot, config, state)
    if renamed:
        out.add("rename_to", "channel", text=renamed)

    # Close: a final word, then archive or rename.
    if closed and not state.archived:
        archive = config.slack.on_close == "archive"
        out.add("post", "close", key=f"closed:{state.reopens}",
                text=messages.closed(f, issue.created_at, issue.closed_at or now,
                                     state.postmortem_url, archive))
        out.add("archive" if archive else "rename", "close",
                text=config.slack.resolved_suffix)

    out.card = new
    return out


def announce_key(state: CardState, ref: str, repository: str, number: int) -> str:
    """The key of this incident's announcement in a shared channel: it names the incident, so
    a search of #incidents can never adopt another incident's post. (Cards written before
    keys named the incident keep their old key.)"""
    old = f"announce:{ref}"
    return old if old in state.messages else f"announce:{ref}:{repository}#{number}"


def last_update(snapshot: Snapshot, state: CardState) -> datetime:
    """When stakeholders last heard from the team: the opening, a status change, a note."""
    times = [snapshot.issue.created_at]
    for stamp, what, _by, _source in state.history:
        if what.startswith("status:"):
            times.append(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
    times += [c.created_at for c in snapshot.comments
              if c.body.startswith(NOTE_MARKER) and snapshot.writers.trusts(c)]
    return max(times)


def reminders(snapshot: Snapshot, config: Config, state: CardState,
              now: datetime) -> list[tuple[str, str]]:
    """(key, text) of the nudges due now. Keys make each one happen once: one per overdue
    period since the last update (an update starts the count again)."""
    fields = snapshot.fields
    if fields.drill and not state.drill_reminders:
        return []
    out = []
    who = state.roles.get("comms") or state.roles.get("commander") or state.reporter
    mention = messages.person(who) if who else "team"
    severity = config.severity(fields.severity) if fields.severity else None
    if severity is not None and severity.update_every_minutes:
        every = timedelta(minutes=severity.update_every_minutes)
        since = last_update(snapshot, state)
        periods = int((now - since) / every)
        if periods >= 1:
            stamp = since.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
            out.append((f"remind:update:{stamp}:{periods}", messages.reminder(
                facts(snapshot, config, state), mention, now - since, severity.name)))
    commander_after = timedelta(minutes=config.reminders.commander_after)
    if "commander" not in state.roles and now - snapshot.issue.created_at >= commander_after:
        out.append(("remind:commander", messages.no_commander(
            facts(snapshot, config, state), mention, now - snapshot.issue.created_at)))
    return out


def _changes(state: CardState, fields: LabelFields, f: messages.Facts,
             config: Config) -> list[messages.Change]:
    out = []
    if state.seen_status != fields.status.value:
        out.append(messages.Change("status", state.seen_status or "", fields.status.value))
    if state.seen_severity != fields.severity:
        def name(level: int | None) -> str:
            return config.severity(level).name if level else ""
        out.append(messages.Change("severity", name(state.seen_severity),
                                   name(fields.severity)))
    if tuple(state.seen_services) != tuple(fields.services):
        out.append(messages.Change("services", ", ".join(state.seen_services),
                                   ", ".join(fields.services)))
    for role in sorted(set(state.seen_roles) | set(state.roles)):
        before, after = state.seen_roles.get(role, ""), state.roles.get(role, "")
        if before != after:
            out.append(messages.Change(role_label(config, role), before, after))
    return out


def _who(snapshot: Snapshot, changes: Sequence[messages.Change],
         attribution: Attribution | None) -> tuple[str, str]:
    if attribution is not None:
        return attribution.by, attribution.source
    # From GitHub: the person who added the newest label among those that changed.
    latest = None
    for event in snapshot.events or ():
        if event.action == "labeled" and (latest is None or event.id > latest.id):
            latest = event
    if latest is None or latest.actor is None:
        return "", "GitHub"
    if snapshot.writers.is_writer(latest.actor) or (latest.actor or "").endswith("[bot]"):
        return "incidentbot", "GitHub"
    return latest.actor, "GitHub"


# -- reading ---------------------------------------------------------------------------------
def read(tracker: IssueTracker, number: int, config: Config, *, known: Issue | None = None,
         fresh: bool = False) -> Snapshot:
    issue = known if known is not None and known.number == number \
        else tracker.get_issue(number)
    comments = [] if fresh else tracker.comments(number)
    return snapshot_of(issue, comments, writers_of(tracker, config), config,
                       tracker.repository)


def writers_of(tracker: IssueTracker, config: Config) -> Writers:
    return Writers.of(config.github.writers, tracker.login())


def snapshot_of(issue: Issue, comments: list[Comment], writers: Writers, config: Config,
                repository: str) -> Snapshot:
    """What a run knows of an incident, from the issue and its comments alone (pure).

    The card is the oldest card comment written by someone trusted; a card from anyone else
    is text. When the card cannot be read, or was deleted after the bot had worked on the
    issue, it is rebuilt from the issue: nothing people decided lives only in the card."""
    fields = read_labels(issue.labels, config.severities, issue_closed=issue.state == "closed")
    found = [c for c in comments if cards.is_card(c.body) and writers.trusts(c)]
    card_comment = min(found, key=lambda c: c.id) if found else None
    state: CardState | None = None
    why = ""
    if card_comment is not None:
        try:
            state = cards.parse(card_comment.body)
        except InvalidInput as exc:
            why = f"the incident card could not be read ({exc})"
    elif any(writers.is_bot(c) and markers.has_marker(c.body) for c in comments):
        why = "the incident card was deleted"
    if state is None:
        state = rebuild(issue, comments, writers, fields, config,
                        _name(issue, repository), settled=bool(why))
    return Snapshot(issue, fields, comments, state, card_comment, writers, rebuilt=why)


def rebuild(issue: Issue, comments: Sequence[Comment], writers: Writers, fields: LabelFields,
            config: Config, name: str, *, settled: bool) -> CardState:
    """A card from the issue alone: the reporter and paging asked for at open (the body's
    marker, from a trusted author), the roles from every trusted `/role` command. `settled`:
    the bot worked on this issue before, so its comments were handled and the channel knows
    the current status: nothing old is run or announced again."""
    asked = markers.parse_opened(issue.body) if writers.trusts(issue) else markers.Opened()
    state = CardState(name=name, reporter=asked.reporter, page_requested=asked.page)
    if not settled:
        return state
    roles: dict[str, str] = dict(asked.roles)
    for c in sorted(comments, key=lambda c: c.id):
        if not writers.trusts(c):
            continue
        signed = markers.signed(c.body, markers.COMMAND)
        line = commands.first_command(signed.text if signed else c.body)
        if line is None or (writers.is_bot(c) and signed is None):
            continue
        try:
            change = commands.parse(line, config)
        except InvalidInput:
            continue
        for role, who in change.roles.items():
            if who is None:
                roles.pop(role, None)
            else:
                roles[role] = who
    handled = [c.id for c in comments if not cards.is_card(c.body)]
    return replace(state, roles=roles, seen_roles=dict(roles),
                   last_comment=max(handled, default=0), seen_status=fields.status.value,
                   seen_severity=fields.severity, seen_services=fields.services)


def _name(issue: Issue, repository: str) -> str:
    return names.incident_name(issue.number, issue.created_at.date(), repository)


# -- applying --------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one sync did, for the CLI and the tests."""

    number: int
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    card: CardState | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


class _Applier:
    def __init__(self, snapshot: Snapshot, chat: Chat, pager: Pager | None, config: Config,
                 repository: str, tracker: IssueTracker) -> None:
        self.tracker = tracker
        self.history = snapshot.card.history  # with this run's changes, once planned
        self.snapshot = snapshot
        self.chat = chat
        self.pager = pager
        self.config = config
        self.repository = repository
        self.state = snapshot.card
        self.fresh: set[str] = set()  # channels created in this run: no history to read
        self.complete = False  # the card holds every post made so far (see existing)
        self.keys: dict[str, Mapping[str, str]] = {}
        self.ids: dict[str, str] = {}
        self.logged: list[tuple[str, str, str, str]] = []  # history made by actions (paging)
        self.sender: Any = None  # outbound.Sender, made when a notification is due

    def channel(self, ref: str) -> str:
        if ref == CHANNEL:
            if self.state.channel_id is None:
                raise ServiceError("Slack", "the incident channel does not exist yet")
            return self.state.channel_id
        if ref not in self.ids:
            # The card knows where this incident's announcement in `ref` went.
            known = next((p.channel for k, p in self.state.messages.items()
                          if k.startswith(f"announce:{ref}")), None)
            self.ids[ref] = known or self.chat.channel_id(ref)
        return self.ids[ref]

    def existing(self, channel: str, key: str) -> str | None:
        """The ts of a keyed post an interrupted run already made, if any. None without a
        look when the card is known complete: the lease was free (the last run released it
        after saving the card) and the card's ledger records no failed side effect."""
        if channel in self.fresh or self.complete:
            return None
        if channel not in self.keys:
            oldest = self.snapshot.issue.created_at.timestamp() - 3600
            self.keys[channel] = self.chat.posted_keys(channel, oldest)
        return self.keys[channel].get(key)

    def run(self, action: Action) -> None:
        handler: Callable[[Action], None] = getattr(self, "do_" + action.kind)
        handler(action)

    # each do_* updates self.state only after the side effect succeeded
    def do_create_channel(self, action: Action) -> None:
        private = bool(action.get("private"))
        pattern = action.get("pattern")
        mark = marker(self.repository, self.snapshot.issue.number)
        for suffix in (0, *range(2, 10)):
            name = names.channel_name(pattern, self.state.name, self.snapshot.issue.number,
                                      suffix)
            try:
                channel = self.chat.create_channel(name, private=private)
                self.fresh.add(channel.id)
                break
            except Conflict:
                found = self.chat.find_channel(name)
                if found is not None and self._ours(found, mark):
                    channel = found
                    if found.is_archived:
                        continue  # an archived channel of ours: the successor gets a suffix
                    break
        else:
            raise ServiceError("Slack", f"no free channel name for {self.state.name}")
        self.state = replace(self.state, channel_id=channel.id, channel_name=channel.name,
                             private=private, purpose_set=mark in channel.purpose,
                             archived=False)

    def _ours(self, channel: Channel, mark: str) -> bool:
        if mark in channel.purpose:
            return True
        # Created by us and never given a purpose: a run that stopped right after creating.
        return channel.creator == self.chat.user_id() and not channel.purpose

    def do_rename_back(self, action: Action) -> None:
        name = self.state.channel_name or ""
        if name.endswith(action.text):
            renamed = self.chat.rename(self.channel(CHANNEL), name[: -len(action.text)])
            self.state = replace(self.state, channel_name=renamed.name)
        self.state = replace(self.state, archived=False, reopens=self.state.reopens + 1,
                             messages={k: v for k, v in self.state.messages.items()
                                       if not k.startswith("closed")})

    def do_purpose(self, action: Action) -> None:
        self.chat.set_purpose(self.channel(CHANNEL), action.text)
        self.state = replace(self.state, purpose_set=True)

    def do_invite(self, action: Action) -> None:
        channel = self.channel(CHANNEL)
        outcome = self.chat.invite(channel, action.users, fresh=channel in self.fresh)
        done = tuple(u for u, result in outcome.items() if result in {"invited", "member"})
        failed = {u: r for u, r in outcome.items() if r not in {"invited", "member"}}
        self.state = replace(
            self.state, invited=tuple(dict.fromkeys((*self.state.invited, *done))),
            invite_failed={**{k: v for k, v in self.state.invite_failed.items()
                              if k not in done}, **failed})
        if failed:
            raise ServiceError("Slack", "could not invite " + ", ".join(
                f"{u} ({r})" for u, r in sorted(failed.items())))

    def do_topic(self, action: Action) -> None:
        self.chat.set_topic(self.channel(CHANNEL), action.text)
        self.state = replace(self.state, topic=action.text)

    def do_bookmark(self, action: Action) -> None:
        channel = self.channel(CHANNEL)
        url = action.get("url")
        if channel not in self.fresh and url in self.chat.bookmarks(channel):
            pass  # an interrupted run added it
        else:
            self.chat.add_bookmark(channel, action.text, url)
        self.state = replace(self.state, bookmarks=(*self.state.bookmarks, url))

    def text(self, action: Action) -> str:
        if self.state.channel_id is None:
            return action.text
        return messages.fill_channel(action.text, self.state.channel_id)

    def do_post(self, action: Action) -> None:
        if action.key in self.state.messages:
            return  # a keyed post is made once (the postmortem's notice on its refresh too)
        channel = self.channel(action.channel)
        text = self.text(action)
        ts = self.existing(channel, action.key)
        if ts is None:
            thread = self.state.messages.get(action.get("thread")) if action.get("thread") \
                else None
            shown = _update_button(text, action.get("button")) if action.get("button") \
                else self.blocks(action)
            ts = self.chat.post(channel, text, key=action.key,
                                thread_ts=thread.ts if thread else None,
                                broadcast=thread is not None, blocks=shown).ts
        self.state = replace(self.state.with_message(action.key, Posted(channel, ts)),
                             digests={**self.state.digests,
                                      action.key: digest(text + self.filled(action))})

    def blocks(self, action: Action) -> list[dict[str, object]] | None:
        return json.loads(self.filled(action)) if action.get("blocks") else None

    def filled(self, action: Action) -> str:
        raw = action.get("blocks")
        if not raw or self.state.channel_id is None:
            return raw
        return messages.fill_channel(raw, self.state.channel_id)

    def do_update(self, action: Action) -> None:
        posted = self.state.messages[action.key]
        text = self.text(action)
        self.chat.update(posted.channel, posted.ts, text, blocks=self.blocks(action))
        self.state = replace(self.state, digests={**self.state.digests,
                                                  action.key: digest(text + self.filled(action))})

    def do_page(self, action: Action) -> None:
        if self.pager is None:
            raise IncidentbotError("paging wanted but PAGERDUTY_ROUTING_KEY is not set")
        self.pager.trigger(action.key, action.text, action.get("severity"),
                           {"issue": action.get("url")})
        self.state = replace(self.state, paged=action.key, page_resolved=False)
        self.logged.append((action.get("at"), "paging:triggered", action.get("by"),
                            action.get("source")))

    def do_page_resolve(self, action: Action) -> None:
        if self.pager is None:
            raise IncidentbotError("paging wanted but PAGERDUTY_ROUTING_KEY is not set")
        self.pager.resolve(action.key)
        self.state = replace(self.state, page_resolved=True)
        self.logged.append((action.get("at"), "paging:resolved", action.get("by"),
                            action.get("source")))

    def do_postmortem(self, action: Action) -> None:
        """Render and commit the postmortem, then link it in the channel and on the issue."""
        from incidentbot import postmortem

        number = self.snapshot.issue.number
        history = (*self.history, *self.logged)
        facts = postmortem.gather(self.tracker, self.chat, self.config, number,
                                  card=replace(self.state, history=history))
        published = postmortem.publish(self.tracker, self.config, facts)
        self.state = replace(self.state, postmortem_url=published.url)
        mark = f"<!-- incidentbot:postmortem {published.path} -->"
        if not any(mark in c.body for c in self.snapshot.comments):
            self.tracker.comment(number, f"{mark}\n:memo: The postmortem is ready for the "
                                         f"team to write: {published.url} "
                                         f"(`{published.path}`)")
        if self.state.channel_id and not self.state.archived:
            channel = self.state.channel_id
            if published.url not in self.state.bookmarks:
                self.chat.add_bookmark(channel, "Postmortem", published.url)
                self.state = replace(self.state,
                                     bookmarks=(*self.state.bookmarks, published.url))
            self.do_post(Action("post", "postmortem", key="postmortem", text=published.notice))

    def do_recent_changes(self, action: Action) -> None:
        from incidentbot import changes

        text = changes.for_channel(self.tracker, self.config, self.snapshot.issue,
                                   self.snapshot.fields.services, auto=self.snapshot.fields.auto)
        self.do_post(Action("post", action.effect, key=changes.KEY, text=text))

    def do_rename_to(self, action: Action) -> None:
        renamed = self.chat.rename(self.channel(CHANNEL), action.text)
        self.state = replace(self.state, channel_name=renamed.name)

    def do_notify(self, action: Action) -> None:
        from incidentbot import outbound

        target = next(t for t in self.config.notify if t.name == action.get("target"))
        self.sender = self.sender or outbound.connect()
        self.sender.send(target, action.key, action.text)
        self.state = replace(self.state, notified=(*self.state.notified, action.key)[-200:])

    def do_archive(self, action: Action) -> None:
        self.chat.archive(self.channel(CHANNEL))
        self.state = replace(self.state, archived=True)

    def do_rename(self, action: Action) -> None:
        name = (self.state.channel_name or "")[: 80 - len(action.text)] + action.text
        if self.state.channel_name and not self.state.channel_name.endswith(action.text):
            renamed = self.chat.rename(self.channel(CHANNEL), name)
            self.state = replace(self.state, channel_name=renamed.name)
        self.state = replace(self.state, archived=True)


def _update_button(text: str, number: str) -> list[dict[str, object]]:
    """The nudge with a one-click way to post an update (the dispatcher opens the form)."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
        {"type": "actions", "elements": [{
            "type": "button", "action_id": "open_update", "value": number, "style": "primary",
            "text": {"type": "plain_text", "text": "Post an update"},
        }]},
    ]


# Actions that cannot run once the channel could not be made.
_NEEDS_CHANNEL = {"purpose", "invite", "topic", "bookmark", "archive", "rename"}

_locks: dict[tuple[str, int], threading.Lock] = {}
_locks_guard = threading.Lock()


@contextmanager
def _lock(repository: str, number: int) -> Iterator[None]:
    """One sync per issue at a time in this process (Actions serialise across processes
    with `concurrency:` keyed by the issue number)."""
    with _locks_guard:
        lock = _locks.setdefault((repository, number), threading.Lock())
    with lock:
        yield


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
               if writers.trusts(c) and c.body.startswith(REPLY_MARKER.split(" {")[0])}
    for c in snapshot.comments:
        if c.id <= state.last_comment:
            continue
        signed = markers.signed(c.body, markers.COMMAND) if writers.trusts(c) else None
        if signed is None and (writers.is_bot(c) or markers.has_marker(c.body)):
            continue
        line = commands.first_command(signed.text if signed else c.body)
        if line is None:
            continue
        by = Attribution(signed.author, signed.source) if signed \
            else Attribution(c.author or "", "GitHub")
        try:
            if not writers.trusts(c):
                raise InvalidInput(f"@{c.author} cannot run incident commands here: only "
                                   "people with write access to the repository can")
            change = commands.parse(line, config)
            if signed is None:  # from Slack and the CLI the rules were checked before
                commands.check_policy(snapshot.fields, change, config,
                                      actor=_names_of(c.author or "", config))
            fields = commands.apply(snapshot.fields, change, config)
        except IncidentbotError as exc:
            mark = REPLY_MARKER.format(id=c.id)
            if mark.split("-->")[0] not in replied:
                tracker.comment(snapshot.issue.number,
                                f"{mark}\n> {line[:200]}\n\n:warning: {exc}")
            continue
        if change.roles:
            roles = dict(state.roles)
            for role, person in change.roles.items():
                if person is None:
                    roles.pop(role, None)
                else:
                    roles[role] = person
            state = replace(state, roles=roles)
        if change.false_alarm and fields.status is Status.CLOSED:  # closed as not planned
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


def sync(tracker: IssueTracker, chat: Chat, pager: Pager | None, config: Config,
         number: int, *, attribution: Attribution | None = None,
         roles: Mapping[str, str | None] | None = None, reporter: str | None = None,
         page: bool = False, repair: bool = False, postmortem: bool = False,
         now: datetime | None = None, extra_posts: Sequence[tuple[str, str]] = (),
         drill_scenario: str | None = None, drill_reminders: bool = False,
         known: Issue | None = None, changed: bool = False) -> Outcome:
    """Reconcile one incident; see the module docstring. `known`: the issue as a write just
    returned it (saves reading it again); `changed`: the caller just changed the issue, so
    there is work: its comments are read once, under the lease."""
    asked = Asked(roles=roles, reporter=reporter, page=page, repair=repair,
                  postmortem=postmortem, now=now, extra_posts=tuple(extra_posts),
                  drill_scenario=drill_scenario, drill_reminders=drill_reminders)
    with _lock(tracker.repository, number):
        snapshot = read(tracker, number, config, known=known, fresh=changed)
        if not snapshot.fields.is_incident:
            raise InvalidInput(f"#{number} is not an incident (it has no `incident` label)")
        if not _has_work(snapshot, tracker, config, attribution, asked):
            return Outcome(number, card=snapshot.card)  # nothing to do: no lease, no write
        ttl, wait = lease.limits()
        with lease.held(tracker, number, who=lease.holder(), ttl=ttl, wait=wait) as waited:
            # Another run may have finished between our read and the lease: read again what
            # it would have changed (its card, new comments; the issue too if it waited).
            latest = tracker.comments(number)
            if waited or (not changed
                          and _card_body(snapshot.comments) != _card_body(latest)):
                snapshot = read(tracker, number, config)
            else:
                snapshot = snapshot_of(snapshot.issue, latest, snapshot.writers, config,
                                       tracker.repository)
            return _reconcile(snapshot, tracker, chat, pager, config, attribution,
                              replace(asked, lease_was_free=not waited))


def _card_body(comments: Sequence[Comment]) -> tuple[str, ...]:
    return tuple(c.body for c in comments if cards.is_card(c.body))


@dataclass(frozen=True, slots=True)
class Asked:
    """What the caller of `sync` asks for beyond "match the issue"."""

    roles: Mapping[str, str | None] | None = None
    reporter: str | None = None
    page: bool = False
    repair: bool = False
    postmortem: bool = False
    now: datetime | None = None
    extra_posts: tuple[tuple[str, str], ...] = ()
    drill_scenario: str | None = None
    drill_reminders: bool = False
    lease_was_free: bool = False  # the last run released the lease: its card is complete


def _has_work(snapshot: Snapshot, tracker: IssueTracker, config: Config,
              attribution: Attribution | None, asked: Asked) -> bool:
    """Would reconciling write anything? Planned without side effects, on what was read."""
    state = snapshot.card
    if snapshot.rebuilt or snapshot.card_comment is None or asked.roles or asked.postmortem \
            or asked.repair or (asked.page and not state.page_requested) \
            or (asked.reporter and not state.reporter) \
            or (asked.drill_scenario and state.drill_scenario is None):
        return True
    writers = snapshot.writers
    for c in snapshot.comments:
        if c.id > state.last_comment and commands.first_command(c.body) is not None \
                and not writers.is_bot(c):
            return True
        if c.id > state.last_comment and markers.signed(c.body, markers.COMMAND):
            return True
    dry = replace(snapshot, card=prepare(state, snapshot.issue.state, config))
    planned = plan(dry, config, repository=tracker.repository, attribution=attribution,
                   now=asked.now, extra_posts=asked.extra_posts)
    if planned.actions:
        return True
    memory = planned.card or state
    after = replace(state, last_comment=memory.last_comment, seen_status=memory.seen_status)
    return cards.render(after, card_rows(snapshot, after, config)) != snapshot.card_comment.body


def _reconcile(snapshot: Snapshot, tracker: IssueTracker, chat: Chat, pager: Pager | None,
               config: Config, attribution: Attribution | None, asked: Asked) -> Outcome:
    """Under the lease: note a rebuilt card, adopt a form's answers, run commands, plan,
    apply, save the card."""
    if snapshot.rebuilt:
        _note_rebuilt(tracker, snapshot)
    intake.adopt(snapshot, tracker, config)  # opened on GitHub: the form's answers
    ran = run_commands(snapshot, tracker, config)
    if ran and attribution is None:
        attribution = ran[-1]
    card = snapshot.card
    if asked.drill_scenario and card.drill_scenario is None:
        card = replace(card, drill_scenario=asked.drill_scenario,
                       drill_reminders=asked.drill_reminders)
    if asked.roles or asked.reporter or asked.page:
        updated = dict(card.roles)
        for role, who in (asked.roles or {}).items():
            if who is None:
                updated.pop(role, None)
            else:
                updated[role] = who
        card = replace(card, roles=updated, reporter=card.reporter or asked.reporter,
                       page_requested=card.page_requested or asked.page)
    snapshot.card = prepare(card, snapshot.issue.state, config)
    snapshot.card = flow.gather(snapshot, config, chat, pager)
    if attribution is None and _fields_changed(snapshot):
        snapshot.events = tracker.label_events(snapshot.issue.number)
    planned = plan(snapshot, config, repository=tracker.repository,
                   attribution=attribution, now=asked.now, repair=asked.repair,
                   force_postmortem=asked.postmortem, extra_posts=asked.extra_posts)
    return _apply(snapshot, planned, tracker, chat, pager, config,
                  complete=asked.lease_was_free)


def _note_rebuilt(tracker: IssueTracker, snapshot: Snapshot) -> None:
    """Say once on the issue that the card was rebuilt, and what that means."""
    card_id = snapshot.card_comment.id if snapshot.card_comment is not None else 0
    mark = markers.REBUILT.format(id=card_id)
    if any(mark in c.body for c in snapshot.comments if snapshot.writers.is_bot(c)):
        return
    tracker.comment(snapshot.issue.number, (
        f"{mark}\n:wrench: The incident card was rebuilt from this issue: "
        f"{snapshot.rebuilt}. Status, severity and services come from the labels, roles from "
        "the `/role` commands above; comments and commands written before now were not run "
        "or mirrored to Slack again."))


def _fields_changed(snapshot: Snapshot) -> bool:
    state, fields = snapshot.card, snapshot.fields
    return state.seen_status is not None and (
        state.seen_status != fields.status.value or state.seen_severity != fields.severity
        or tuple(state.seen_services) != fields.services)


def _apply(snapshot: Snapshot, planned: Plan, tracker: IssueTracker, chat: Chat,
           pager: Pager | None, config: Config, *, complete: bool = False) -> Outcome:
    applier = _Applier(snapshot, chat, pager, config, tracker.repository, tracker)
    # A free lease means no run died holding it: either none ever acted on this incident
    # (no card, nothing rebuilt) or the last one saved its card before letting go.
    applier.complete = complete and not snapshot.rebuilt \
        and all(e.ok for e in snapshot.card.effects.values())
    if planned.card is not None:
        applier.history = planned.card.history
    outcome = Outcome(snapshot.issue.number)
    failed_effects: dict[str, str] = {}
    for action in planned.actions:
        if action.effect in failed_effects and action.kind != "post":
            continue
        if action.kind in _NEEDS_CHANNEL | {"post", "update"} and action.channel == CHANNEL \
                and applier.state.channel_id is None and action.kind != "create_channel":
            failed_effects.setdefault(action.effect, "waiting for the channel")
            continue
        try:
            applier.run(action)
            outcome.done.append(f"{action.kind} {action.effect}")
        except IncidentbotError as exc:
            failed_effects[action.effect] = _advice(action, exc)
            outcome.failed.append(f"{action.effect}: {exc}")
    # The ledger: every effect this plan touched, with its latest outcome.
    state = applier.state
    for effect in dict.fromkeys(a.effect for a in planned.actions):
        state = state.with_effect(effect, effect not in failed_effects,
                                  failed_effects.get(effect, ""))
    if planned.card is None:
        raise ValueError(f"#{snapshot.issue.number}: a plan with actions carries the card's "
                         "new memory; this one has none (a bug in sync.plan)")
    # What the channel was told only counts as told when the post went through.
    if "changes" in failed_effects:
        state = replace(state, seen_status=snapshot.card.seen_status,
                        seen_severity=snapshot.card.seen_severity,
                        seen_services=snapshot.card.seen_services,
                        seen_roles=snapshot.card.seen_roles)
    else:
        state = replace(state, seen_status=planned.card.seen_status,
                        seen_severity=planned.card.seen_severity,
                        seen_services=planned.card.seen_services,
                        seen_roles=planned.card.seen_roles, seq=planned.card.seq,
                        history=planned.card.history)
    if applier.logged:
        state = replace(state, history=(*state.history, *applier.logged)[-200:])
    if "comments" not in failed_effects:
        state = replace(state, last_comment=planned.card.last_comment)
    else:
        state = replace(state, last_comment=_last_mirrored(snapshot, state))
    outcome.card = state
    save_card(tracker, snapshot, state, config)
    return outcome


def _last_mirrored(snapshot: Snapshot, state: CardState) -> int:
    """The highest comment id such that it and every earlier one was handled."""
    last = snapshot.card.last_comment
    for c in sorted(snapshot.comments, key=lambda c: c.id):
        if c.id <= last:
            continue
        if f"comment:{c.id}" in state.messages or markers.has_marker(c.body) \
                or commands.first_command(c.body) is not None:
            last = c.id
        else:
            break
    return last


def _advice(action: Action, exc: IncidentbotError) -> str:
    text = str(exc)
    if "not_in_channel" in text and action.channel != CHANNEL:
        return f"{text} — invite the bot to {action.channel} (/invite @incidentbot)"
    if "channel_not_found" in text and action.channel != CHANNEL:
        return f"{text} — {action.channel} does not exist or is private without the bot"
    if "is_archived" in text:
        return f"{text} — the channel was archived by hand; reopen the issue to get a new one"
    return text


def card_rows(snapshot: Snapshot, state: CardState, config: Config) -> list[tuple[str, str]]:
    from incidentbot.text import markdown

    f = facts(snapshot, config, state)
    rows = [("Status", f"`{f.status.value}`"), ("Severity", markdown(f.severity)),
            ("Services", markdown(", ".join(f.services) or "—"))]
    if state.channel_name:
        rows.append(("Slack", markdown(f"#{state.channel_name}")
                     + (" (archived)" if state.archived else "")))
    for role, who in f.roles.items():
        rows.append((role, markdown(who)))
    if f.drill:
        rows.append(("Drill", "yes: not announced, never paged"))
    return rows


def save_card(tracker: IssueTracker, snapshot: Snapshot, state: CardState,
              config: Config) -> None:
    """Write the card: edited in place, or made once. The lease is held, so a card that
    appears after a failed create is the one that create made: it is edited, never doubled."""
    body = cards.render(cards.bounded(state), card_rows(snapshot, state, config))
    number = snapshot.issue.number
    if snapshot.card_comment is not None:
        if snapshot.card_comment.body != body:
            tracker.edit_comment(number, snapshot.card_comment.id, body)
        return
    for attempt in range(3):
        try:
            tracker.comment(number, body)
            return
        except ServiceError:
            if attempt == 2:
                raise
            made = [c for c in tracker.comments(number)
                    if cards.is_card(c.body) and snapshot.writers.trusts(c)]
            if made:
                if made[0].body != body:
                    tracker.edit_comment(number, made[0].id, body)
                return


def sync_all(tracker: IssueTracker, chat: Chat, pager: Pager | None, config: Config, *,
             since: datetime | None) -> list[Outcome]:
    """Every incident updated since `since` (every one when None)."""
    outcomes = []
    for issue in tracker.list_incidents(since=since):
        try:
            outcomes.append(sync(tracker, chat, pager, config, issue.number))
        except IncidentbotError as exc:
            outcomes.append(Outcome(issue.number, failed=[str(exc)]))
    return outcomes
