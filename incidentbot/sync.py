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
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from incidentbot import card as cards
from incidentbot import commands, messages, names, publicstatus
from incidentbot.card import CardState, Posted
from incidentbot.config import Config
from incidentbot.errors import Conflict, IncidentbotError, InvalidInput, ServiceError
from incidentbot.model import Incident, LabelFields, Role, Status, read_labels, relabel
from incidentbot.ports import Channel, Chat, Comment, Issue, IssueTracker, LabelEvent, Pager

REPLY_MARKER = "<!-- incidentbot:reply {id} -->"
NOTE_MARKER = "<!-- incidentbot:note"
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
    bot_login: str
    events: list[LabelEvent] | None = None

    @property
    def incident(self) -> Incident:
        return Incident(number=self.issue.number, title=self.issue.title, name=self.card.name,
                        opened_at=self.issue.created_at, fields=self.fields, url=self.issue.url,
                        reporter=self.issue.author, closed_at=self.issue.closed_at)


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
    """Slack ids to invite: reporter, role holders, owners of the services, severity's people."""
    refs: list[str] = []
    if state.reporter:
        refs.append(state.reporter)
    elif snapshot.issue.author:
        person = config.person_by_github(snapshot.issue.author)
        if person is not None and person.slack:
            refs.append(person.slack)
    refs += list(state.roles.values())
    for slug in snapshot.fields.services:
        try:
            owners = config.service(slug).owners
        except KeyError:
            continue
        refs += [p.slack for o in owners if (p := config.people.get(o)) and p.slack]
    if snapshot.fields.severity is not None:
        for who in config.severity(snapshot.fields.severity).invite:
            p = config.people.get(who)
            refs.append(p.slack if p is not None and p.slack else who)
    return [r for r in dict.fromkeys(refs) if messages._SLACK_ID.fullmatch(r)]


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
    links = [(f"Issue #{snapshot.issue.number}", snapshot.issue.url)]
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
        and state.postmortem_url is None and not fields.drill)
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
                    text=messages.summary(f, _description(issue.body)))

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

    # Comments mirrored once each; notes (updates typed in Slack or the CLI) as updates.
    for c in snapshot.comments:
        if c.id <= state.last_comment or _is_card(c, snapshot.bot_login):
            continue
        own = c.author == snapshot.bot_login
        if own and not c.body.startswith(NOTE_MARKER):
            continue
        if not own and commands.first_command(c.body) is not None:
            continue  # commands act; the change message says what they did
        if own:
            author, source, body = _note(c.body)
            # A note typed in Slack names its author by Slack id (a mention); from the CLI
            # the author is a local user name, shown as a name even if it looks like an id.
            shown = author if source.lower() == "slack" else f"{author} ({source})"
            text = messages.comment(f, shown, body, c.url, update=True)
        else:
            text = messages.comment(f, c.author or "someone", c.body, c.url)
        out.add("post", "comments", key=f"comment:{c.id}", text=text)
    if snapshot.comments:
        new = replace(new, last_comment=max(state.last_comment,
                                            max(c.id for c in snapshot.comments)))

    # Announcements, edited in place; a resolution message once per resolution.
    resolved = fields.status.rank >= Status.FIXED.rank
    for ref in announce_channels(snapshot, config):
        text = messages.announcement(f, resolved)
        key = f"announce:{ref}"
        if key not in state.messages:
            out.add("post", f"announcement {ref}", channel=ref, key=key, text=text)
        elif state.digests.get(key) != digest(text):
            out.add("update", f"announcement {ref}", channel=ref, key=key, text=text)
        if resolved:
            rkey = f"resolved:{ref}:{state.reopens}"
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
        if fields.status.active and (state.paged is None or state.page_resolved):
            sev = config.severity(fields.severity) if fields.severity else None
            out.add("page", "paging", key=dedup,
                    text=f"{f.severity} {issue.title}"[:1024],
                    extra=(("severity", "critical" if sev and sev.level <= 1 else "error"),
                           ("url", issue.url)))
        elif not fields.status.active and state.paged and not state.page_resolved:
            out.add("page_resolve", "paging", key=dedup)

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


def last_update(snapshot: Snapshot, state: CardState) -> datetime:
    """When stakeholders last heard from the team: the opening, a status change, a note."""
    times = [snapshot.issue.created_at]
    for stamp, what, _by, _source in state.history:
        if what.startswith("status:"):
            times.append(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
    times += [c.created_at for c in snapshot.comments
              if c.author == snapshot.bot_login and c.body.startswith(NOTE_MARKER)]
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


def _description(body: str) -> str:
    return body.split("<!-- incidentbot:", 1)[0].strip()


def _is_card(c: Comment, bot_login: str) -> bool:
    return c.author == bot_login and cards.is_card(c.body)


def _note(body: str) -> tuple[str, str, str]:
    """(author, source, text) of a note comment: `<!-- incidentbot:note author source -->`."""
    head, _, text = body.partition("-->")
    parts = head.removeprefix(NOTE_MARKER).split()
    author = parts[0] if parts else "someone"
    source = parts[1] if len(parts) > 1 else "GitHub"
    return author, source, text.strip()


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
    if latest.actor == snapshot.bot_login:
        return "incidentbot", "GitHub"
    return latest.actor, "GitHub"


# -- reading ---------------------------------------------------------------------------------
def read(tracker: IssueTracker, number: int, config: Config) -> Snapshot:
    issue = tracker.get_issue(number)
    bot = tracker.login()
    comments = tracker.comments(number)
    own_cards = [c for c in comments if _is_card(c, bot)]
    card_comment = min(own_cards, key=lambda c: c.id) if own_cards else None
    if card_comment is not None:
        try:
            state = cards.parse(card_comment.body)
        except InvalidInput:
            state = CardState(name=_name(issue, tracker.repository))
    else:
        state = CardState(name=_name(issue, tracker.repository))
    fields = read_labels(issue.labels, config.severities, issue_closed=issue.state == "closed")
    return Snapshot(issue, fields, comments, state, card_comment, bot)


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
    calls_skipped: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed


class _Applier:
    def __init__(self, snapshot: Snapshot, chat: Chat, pager: Pager | None, config: Config,
                 repository: str, tracker: IssueTracker | None = None) -> None:
        self.tracker = tracker
        self.history = snapshot.card.history  # with this run's changes, once planned
        self.snapshot = snapshot
        self.chat = chat
        self.pager = pager
        self.config = config
        self.repository = repository
        self.state = snapshot.card
        self.fresh: set[str] = set()  # channels created in this run: no history to read
        self.keys: dict[str, Mapping[str, str]] = {}
        self.ids: dict[str, str] = {}

    def channel(self, ref: str) -> str:
        if ref == CHANNEL:
            if self.state.channel_id is None:
                raise ServiceError("Slack", "the incident channel does not exist yet")
            return self.state.channel_id
        if ref not in self.ids:
            self.ids[ref] = self.chat.channel_id(ref)
        return self.ids[ref]

    def existing(self, channel: str, key: str) -> str | None:
        """The ts of a keyed post an interrupted run already made, if any."""
        if channel in self.fresh:
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
        outcome = self.chat.invite(self.channel(CHANNEL), action.users)
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
        channel = self.channel(action.channel)
        text = self.text(action)
        ts = self.existing(channel, action.key)
        if ts is None:
            thread = self.state.messages.get(action.get("thread")) if action.get("thread") \
                else None
            blocks = _update_button(text, action.get("button")) if action.get("button") \
                else None
            ts = self.chat.post(channel, text, key=action.key,
                                thread_ts=thread.ts if thread else None,
                                broadcast=thread is not None, blocks=blocks).ts
        self.state = replace(self.state.with_message(action.key, Posted(channel, ts)),
                             digests={**self.state.digests, action.key: digest(text)})

    def do_update(self, action: Action) -> None:
        posted = self.state.messages[action.key]
        text = self.text(action)
        self.chat.update(posted.channel, posted.ts, text)
        self.state = replace(self.state, digests={**self.state.digests, action.key: digest(text)})

    def do_page(self, action: Action) -> None:
        if self.pager is None:
            raise IncidentbotError("paging wanted but PAGERDUTY_ROUTING_KEY is not set")
        self.pager.trigger(action.key, action.text, action.get("severity"),
                           {"issue": action.get("url")})
        self.state = replace(self.state, paged=action.key, page_resolved=False)

    def do_page_resolve(self, action: Action) -> None:
        if self.pager is None:
            raise IncidentbotError("paging wanted but PAGERDUTY_ROUTING_KEY is not set")
        self.pager.resolve(action.key)
        self.state = replace(self.state, page_resolved=True)

    def do_postmortem(self, action: Action) -> None:
        """Render and commit the postmortem, then link it in the channel and on the issue."""
        from incidentbot import postmortem

        assert self.tracker is not None
        number = self.snapshot.issue.number
        facts = postmortem.gather(self.tracker, self.chat, self.config, number,
                                  card=replace(self.state, history=self.history))
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
            self.do_post(Action("post", "postmortem", key="postmortem", text=(
                f":memo: The postmortem is drafted with the timeline and figures: "
                f"<{published.url}|{published.path}>. Please fill in what happened and why.")))

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


def run_commands(snapshot: Snapshot, tracker: IssueTracker, config: Config) -> list[str]:
    """Commands typed in new comments by people with write access: relabel, close, reopen,
    set roles. Returns what was done; refused commands get one reply each (found by marker)."""
    done: list[str] = []
    state = snapshot.card
    replied = {c.body.split("-->")[0] for c in snapshot.comments
               if c.author == snapshot.bot_login and c.body.startswith("<!-- incidentbot:reply")}
    for c in snapshot.comments:
        if c.id <= state.last_comment or c.author == snapshot.bot_login:
            continue
        line = commands.first_command(c.body)
        if line is None:
            continue
        try:
            if c.association not in commands.TRUSTED_ASSOCIATIONS:
                raise InvalidInput(f"@{c.author} cannot run incident commands here: only "
                                   "people with write access to the repository can")
            change = commands.parse(line, config)
            fields = commands.apply(snapshot.fields, change, config)
        except IncidentbotError as exc:
            mark = REPLY_MARKER.format(id=c.id)
            if mark.split("-->")[0] not in replied:
                tracker.comment(snapshot.issue.number,
                                f"{mark}\n> {line[:200]}\n\n:warning: {exc}")
            continue
        if change.roles:
            roles = dict(state.roles)
            for role, who in change.roles.items():
                if who is None:
                    roles.pop(role, None)
                else:
                    roles[role] = who
            state = replace(state, roles=roles)
        snapshot.issue = _write_fields(tracker, snapshot.issue, snapshot.fields, fields, config)
        snapshot.fields = fields
        done.append(c.author or "")
    snapshot.card = state
    return done


def _write_fields(tracker: IssueTracker, issue: Issue, before: LabelFields,
                  after: LabelFields, config: Config) -> Issue:
    """Make the issue's labels and state say `after` (idempotent)."""
    add, remove = relabel(issue.labels, after, config.severities)
    if add or remove:
        tracker.relabel(issue.number, add, remove)
        labels = tuple(sorted({*issue.labels, *add} - set(remove)))
        issue = replace(issue, labels=labels)
    if after.status is Status.CLOSED and issue.state != "closed":
        issue = tracker.set_state(issue.number, "closed")
    elif after.status is not Status.CLOSED and issue.state == "closed":
        issue = tracker.set_state(issue.number, "open")
    return issue


def write_fields(tracker: IssueTracker, issue: Issue, after: LabelFields,
                 config: Config) -> Issue:
    before = read_labels(issue.labels, config.severities, issue_closed=issue.state == "closed")
    return _write_fields(tracker, issue, before, after, config)


def sync(tracker: IssueTracker, chat: Chat, pager: Pager | None, config: Config,
         number: int, *, attribution: Attribution | None = None,
         roles: Mapping[str, str | None] | None = None, reporter: str | None = None,
         page: bool = False, repair: bool = False, postmortem: bool = False,
         now: datetime | None = None, extra_posts: Sequence[tuple[str, str]] = (),
         drill_scenario: str | None = None, drill_reminders: bool = False) -> Outcome:
    """Reconcile one incident; see the module docstring."""
    with _lock(tracker.repository, number):
        snapshot = read(tracker, number, config)
        if not snapshot.fields.is_incident:
            raise InvalidInput(f"#{number} is not an incident (it has no `incident` label)")
        ran = run_commands(snapshot, tracker, config)
        if ran and attribution is None:
            attribution = Attribution(ran[-1], "GitHub")
        if drill_scenario and snapshot.card.drill_scenario is None:
            snapshot.card = replace(snapshot.card, drill_scenario=drill_scenario,
                                    drill_reminders=drill_reminders)
        if roles or reporter or page:
            updated = dict(snapshot.card.roles)
            for role, who in (roles or {}).items():
                if who is None:
                    updated.pop(role, None)
                else:
                    updated[role] = who
            snapshot.card = replace(snapshot.card, roles=updated,
                                    reporter=snapshot.card.reporter or reporter,
                                    page_requested=snapshot.card.page_requested or page)
        snapshot.card = prepare(snapshot.card, snapshot.issue.state, config)
        if attribution is None and _fields_changed(snapshot):
            snapshot.events = tracker.label_events(number)
        planned = plan(snapshot, config, repository=tracker.repository,
                       attribution=attribution, now=now, repair=repair,
                       force_postmortem=postmortem, extra_posts=extra_posts)
        return _apply(snapshot, planned, tracker, chat, pager, config)


def _fields_changed(snapshot: Snapshot) -> bool:
    state, fields = snapshot.card, snapshot.fields
    return state.seen_status is not None and (
        state.seen_status != fields.status.value or state.seen_severity != fields.severity
        or tuple(state.seen_services) != fields.services)


def _apply(snapshot: Snapshot, planned: Plan, tracker: IssueTracker, chat: Chat,
           pager: Pager | None, config: Config) -> Outcome:
    applier = _Applier(snapshot, chat, pager, config, tracker.repository, tracker)
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
    assert planned.card is not None
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
        if f"comment:{c.id}" in state.messages or c.author == snapshot.bot_login \
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
    body = cards.render(state, card_rows(snapshot, state, config))
    if snapshot.card_comment is None:
        tracker.comment(snapshot.issue.number, body)
    elif snapshot.card_comment.body != body:
        tracker.edit_comment(snapshot.issue.number, snapshot.card_comment.id, body)


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
