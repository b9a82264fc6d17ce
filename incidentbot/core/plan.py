"""The planner, pure: from a `Snapshot` and the configuration, the list of actions that bring
Slack (and paging) in line with the issue. Tested directly, with no server (tests/test_plan.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from incidentbot.core import (
    commands,
    credit,
    flow,
    intake,
    markers,
    names,
    notify,
    people,
    publicstatus,
)
from incidentbot.core.card import CardState
from incidentbot.core.config import Config
from incidentbot.core.model import LabelFields, Role, Status
from incidentbot.core.render import blocks, messages
from incidentbot.core.snapshot import Attribution, Plan, Snapshot, digest, marker
from incidentbot.core.trust import vouched


def facts(snapshot: Snapshot, config: Config, state: CardState) -> messages.Facts:
    severity = config.severity(snapshot.fields.severity) if snapshot.fields.severity else None
    service_names = config.service_names(snapshot.fields.services)
    roles = {role_label(config, r): state.roles[r] for r in ordered_roles(state.roles, config)}
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


def ordered_roles(roles: Iterable[str], config: Config) -> list[str]:
    """Roles in a fixed order, whatever order they were set or stored in: the commander
    first, then the config's order (`roles:`), then the rest by name. The topic names the
    first one, so it never changes because another process read the card."""
    ranked = [Role.COMMANDER.value, *(r.value for r in config.roles), *(r.value for r in Role)]

    def rank(role: str) -> tuple[int, str]:
        return (ranked.index(role) if role in ranked else len(ranked), role)
    return sorted(roles, key=rank)


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
    # The status page shows an incident only once it is public: before that the bookmark
    # would lead nowhere about this incident (and cost a request); it comes with `public`.
    if config.status_page.url and snapshot.fields.on_status_page \
            and not is_private(snapshot.fields, config):
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

    # Changes since the channel was last told. When the incident closes in this run, the
    # change is said in the closing message (one post, below), not in a post of its own.
    # Once the close archived the channel, nothing more is said there (Slack refuses posts
    # to an archived channel): what happens after stays on GitHub, the shared channels'
    # announcements still follow, and a reopen makes a successor channel (`prepare`).
    closing = closed and not state.archived
    silent = closed and state.archived and config.slack.on_close == "archive"
    kept = f"kept on GitHub: #{state.channel_name or 'the channel'} was archived at the close"
    final_key = f"closed:{state.reopens}"
    said: tuple[str, str] | None = None  # the change's (key, text) the closing post carries
    new = replace(state, seen_status=fields.status.value, seen_severity=fields.severity,
                  seen_services=fields.services, seen_roles=dict(state.roles))
    if state.seen_status is not None:
        changes = _changes(state, fields, f, config)
        if changes:
            made = credit.who(snapshot, config, changes, attribution)
            key = f"change:{state.seq}:" + digest(repr(changes))
            # People read names: a GitHub login listed in `people:` shows as its name.
            named = [(_name_of(by, config) if source == "GitHub" and by else by, source)
                     for by, source in made]
            text = messages.changes_by(f, list(zip(changes, named, strict=True)))
            if closing and key not in state.messages and final_key not in state.messages:
                said = (key, text)
            elif silent:
                out.settled["changes"] = kept
            else:
                out.add("post", "changes", key=key, text=text)
            stamp = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            logged = tuple((stamp, f"{c.what}:{value}", by, source)
                           for c, value, (by, source) in zip(
                               changes, _values(fields, changes), made, strict=True))
            new = replace(new, seq=state.seq + 1, history=(*state.history, *logged)[-200:])

    # Beyond Slack (Teams, webhooks, email): once per change, by key.
    for k, body, extra in notify.actions(snapshot, config, state, f, new.seq, private):
        out.add("notify", f"notify {extra['target']}", key=k, text=body,
                extra=tuple(extra.items()))

    # Comments mirrored once each; notes (updates typed in Slack or the CLI) as updates.
    # A comment carrying a marker (a card, a reply) is never shown as what a person said; a
    # note is someone's update only when its marker is believed (trust.vouched), else, from
    # someone with push access, it is their own comment (from anyone else, nothing).
    writers = snapshot.writers
    for c in snapshot.comments:
        if c.id <= state.last_comment:
            continue
        if markers.has_marker(c.body):
            note = vouched(c, markers.NOTE, writers, config)
            forged = markers.signed(c.body, markers.NOTE) if note is None else None
            if forged is not None and writers.trusts(c):
                text = messages.comment(f, _name_of(c.author, config) if c.author
                                        else "someone", forged.text, c.url)
            elif note is None:
                continue
            else:
                # A note typed in Slack names its author by Slack id (a mention); from the
                # CLI by GitHub login, shown as the person's name from `people:` when listed.
                author = note.author if note.source.lower() == "slack" \
                    else "Health checks" if note.source.lower() == "monitor" \
                    else f"{_name_of(note.author, config)} ({note.source})"
                text = messages.comment(f, author, note.text, c.url, update=True)
        elif commands.first_command(c.body) is not None:
            continue  # commands act; the change message says what they did
        else:
            text = messages.comment(f, _name_of(c.author, config) if c.author else "someone",
                                    c.body, c.url)
        if silent:
            out.settled["comments"] = kept  # seen (`last_comment`), not mirrored
        else:
            out.add("post", "comments", key=f"comment:{c.id}", text=text)
    if silent:  # a failure from before this rule (or the close's own run) is settled too
        for name in ("comments", "changes"):
            if name in state.effects and not state.effects[name].ok:
                out.settled[name] = kept
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
        pager_by = attribution or snapshot.made.get("severity") or snapshot.made.get("status")
        paging = (("at", now.astimezone(UTC).isoformat(timespec="seconds").replace(
            "+00:00", "Z")), ("by", pager_by.by if pager_by else ""),
            ("source", pager_by.source if pager_by else ""))
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

    # Close: a final word (after who closed it, when that is news), then archive or rename.
    if closing:
        archive = config.slack.on_close == "archive"
        final = messages.closed(f, issue.created_at, issue.closed_at or now,
                                state.postmortem_url, archive)
        if said is None:
            out.add("post", "close", key=final_key, text=final)
        else:
            # One message, two keys: `also` is the change's key, recorded with the close's;
            # `alone` is the text to post if an earlier run already said the change. Its
            # effect is the change's, so a failed post leaves the change to be said again.
            out.add("post", "changes", key=final_key, text=f"{said[1]}\n{final}",
                    extra=(("also", said[0]), ("alone", final)))
        # `after`: never archived (or renamed) before the final word is in the channel.
        out.add("archive" if archive else "rename", "close",
                text=config.slack.resolved_suffix, extra=(("after", final_key),))

    if repair:
        _settle_stale(out, state)
    out.card = new
    return out


# Effects only a caller plans (a drill's posts, a postmortem asked for): a plain repair
# cannot tell whether they still apply, so their failures stay in the ledger.
_ASKED_BY_CALLERS = frozenset({"drill", "postmortem"})


def _settle_stale(out: Plan, state: CardState) -> None:
    """On a repair, every failed effect is planned again while it is still owed (a failed
    post's key stays unknown, a failed change leaves `seen_*` behind, refused invites are
    retried): a failed one this plan does not touch no longer applies, so its [ERR] goes."""
    touched = {a.effect for a in out.actions}
    for name, effect in state.effects.items():
        if not effect.ok and name not in touched and name not in out.settled \
                and name not in _ASKED_BY_CALLERS:
            out.settled[name] = "nothing left to retry"


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
              if c.body.startswith(markers.NOTE) and snapshot.writers.trusts(c)]
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
    """What changed since the channel was last told, in the words people read (a
    severity's name, services' display names, a role's label)."""
    out = []
    if state.seen_status != fields.status.value:
        out.append(messages.Change("status", state.seen_status or "", fields.status.value))
    if state.seen_severity != fields.severity:
        def name(level: int | None) -> str:
            return config.severity(level).name if level else ""
        out.append(messages.Change("severity", name(state.seen_severity),
                                   name(fields.severity)))
    if tuple(state.seen_services) != tuple(fields.services):
        out.append(messages.Change("services",
                                   ", ".join(config.service_names(state.seen_services)),
                                   ", ".join(config.service_names(fields.services))))
    for role in sorted(set(state.seen_roles) | set(state.roles)):
        before, after = state.seen_roles.get(role, ""), state.roles.get(role, "")
        if before != after:
            out.append(messages.Change(role_label(config, role), before, after))
    return out


def _values(fields: LabelFields, changes: Sequence[messages.Change]) -> list[str]:
    """Each change's new value as the card's history keeps it: services by slug."""
    return [", ".join(fields.services) if c.what == "services" else c.after for c in changes]


# -- reading ---------------------------------------------------------------------------------
def _name_of(ref: str, config: Config) -> str:
    """A person as people read them (`people.display_name`), but a Slack id stays one: Slack
    shows it as a mention (messages.person)."""
    return ref if people.SLACK_ID.fullmatch(ref) else people.display_name(ref, config)


def _holder(ref: str, config: Config) -> str:
    """A role holder on the card, as people read it: their name from `people:` and their
    GitHub login in a code span (a mention there would notify them on every new card), else
    the reference as given (a Slack id nobody listed, an `@login`)."""
    from incidentbot.core.text import markdown

    person = people.known(ref, config)
    if person is None:
        return markdown(ref)
    name = markdown(person.name or person.id)
    return f"{name} (`@{person.github.replace('`', '')}`)" if person.github else name


def card_rows(snapshot: Snapshot, state: CardState, config: Config) -> list[tuple[str, str]]:
    from incidentbot.core.text import markdown

    f = facts(snapshot, config, state)
    rows = [("Status", f"`{f.status.value}`"), ("Severity", markdown(f.severity)),
            ("Services", markdown(", ".join(f.services) or "—"))]
    if state.channel_name:
        rows.append(("Slack", markdown(f"#{state.channel_name}")
                     + (" (archived)" if state.archived else "")))
    for role, who in f.roles.items():
        rows.append((role, _holder(who, config)))
    if f.drill:
        rows.append(("Drill", "yes: not announced, never paged"))
    return rows
