"""What the bot knows about one incident, read for its postmortem: the issue, its events and
comments, the card's history, the channel, and the monitor's data for affected services."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from incidentbot.core import commands, facts, health, markers
from incidentbot.core import timeline as tl
from incidentbot.core.card import CardState
from incidentbot.core.config import Config
from incidentbot.core.errors import InvalidInput
from incidentbot.core.facts import SLACK_ID, Facts, Outage, known_person, login_of
from incidentbot.core.identity import is_bot
from incidentbot.core.markers import NOTE
from incidentbot.core.model import LabelFields
from incidentbot.core.ports import Chat, Comment, IssueTracker
from incidentbot.core.render.publicupdates import published_text
from incidentbot.core.trust import Writers, vouched
from incidentbot.operations import reading

DATA_BRANCH = "status-data"  # where the uptime workflow commits the monitor's data
_PIN = re.compile(re.escape(markers.PIN_PREFIX) + r" \S+:(\d+(?:\.\d+)?) -->.*?posted by (.+?) at "
                  r"[^\n]*:\n\n> (.*)", re.DOTALL)
_HEALTH = (":red_circle: Health checks", ":large_green_circle: Health checks")
GRAPH_MARGIN = timedelta(hours=1)
RELATED_WITHIN = timedelta(days=90)


def person_name(config: Config, chat: Chat | None) -> Callable[[str], str]:
    """A reference (Slack id, GitHub login, person id, `@login`) -> the person's name."""
    names: dict[str, str] = {}

    def name_of(who: str) -> str:
        who = who.lstrip("@")
        if who not in names:
            person = config.person_by_slack(who) or config.person_by_github(who) \
                or config.people.get(who)
            if person is not None:
                names[who] = person.name or person.github or person.id
            elif chat is not None and SLACK_ID.fullmatch(who):
                names[who] = chat.user_name(who)
            else:
                names[who] = who
        return names[who]
    return name_of


def label_kinds(config: Config) -> Callable[[str], tuple[str, str] | None]:
    names = {s.label.lower(): s.name for s in config.severities}

    def kind(label: str) -> tuple[str, str] | None:
        if label.lower() in names:
            return "severity", names[label.lower()]
        return tl.label_kind(label)
    return kind


def changes(history: Sequence[tuple[str, str, str, str]], config: Config,
            name_of: Callable[[str], str]) -> list[tl.Change]:
    """The card's history as timeline changes (roles named, the bot's own name dropped)."""
    role_words = {v.lower(): v for v in config.roles.values()}
    out = []
    for stamp, what, by, source in history:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        kind, _, value = what.partition(":")
        by = "" if is_bot(by) else by
        if kind.lower() in role_words:
            value = f"{role_words[kind.lower()]} → {name_of(value) if value else 'nobody'}"
            kind = "role"
        out.append(tl.Change(at, kind, value, by, source))
    return out


def comment_events(comments: Sequence[Comment], writers: Writers, config: Config, *,
                   with_pins: bool) -> list[tl.Event]:
    out = []
    for c in comments:
        body = c.body.strip()
        # Trust follows access: a marker counts from our writers and people with push
        # access; from anyone else the comment is only text.
        ours = writers.trusts(c)
        # What the status page published of it: the one rule (publicupdates.published_text),
        # so the postmortem and the page cannot disagree.
        public = published_text(c, writers)
        # A note's marker names whom the bot wrote it for; believed only from our own
        # identities or naming the comment's own author (trust.vouched): else it is the
        # author's own comment.
        note = vouched(replace(c, body=body), NOTE, writers, config) if ours else None
        forged = markers.signed(body, NOTE) if ours and note is None else None
        if forged is not None:
            out.append(tl.Event(c.created_at, "commented", c.author, url=c.url,
                                text=f"Public update: {public}" if public else forged.text,
                                public=public is not None))
        elif note is not None:
            author, source, text = note.author, note.source.replace("_", " "), note.text
            if source == "monitor" and text.startswith(_HEALTH):  # the health checks' word
                out.append(tl.Event(c.created_at, "monitor", None,
                                    text=text.split(" ", 1)[1].replace("**", "")))
                continue
            out.append(tl.Event(c.created_at, "note", author, label=source,
                                text=f"Public update: {public}" if public else text,
                                url=c.url, public=public is not None))
        elif body.startswith(markers.PIN_PREFIX) and ours:
            if not with_pins:
                continue  # the channel's history has the message itself
            found = _PIN.search(body)
            if found:
                at = datetime.fromtimestamp(float(found.group(1)), UTC)
                text = found.group(3).replace("\n> ", "\n")
                out.append(tl.Event(at, "pin", found.group(2).lstrip("@").replace("\\", ""),
                                    label="Slack", text=text))
        elif markers.has_marker(body) and ours:
            continue  # the card, replies, links: the bot's bookkeeping
        elif writers.is_bot(c) and public is None:
            if body.startswith(_HEALTH):
                text = body.split(" ", 1)[1].replace("**", "")
                out.append(tl.Event(c.created_at, "monitor", None, text=text))
        elif not ours:
            # Someone without push access: their words are data (trust.Writers), never a
            # public update nor a response; the timeline shows them as an outsider's.
            if commands.first_command(body) is None:
                out.append(tl.Event(c.created_at, "outside", c.author, url=c.url, text=body))
        elif public is not None or commands.first_command(body) is None:
            out.append(tl.Event(c.created_at, "commented", c.author, url=c.url,
                                text=f"Public update: {public}" if public else body,
                                public=public is not None))
    return out


def outages(tracker: IssueTracker, config: Config, fields: LabelFields, start: datetime,
            end: datetime, files: dict[str, str | None] | None = None) -> tuple[Outage, ...]:
    """Each affected service's samples from the data branch, from an hour before `start`
    to an hour after `end`, and its time down within [start - 1h, end]. `files` keeps the
    data files read, so a second window costs no request."""
    files = {} if files is None else files
    out = []
    lo, hi = start - GRAPH_MARGIN, end + GRAPH_MARGIN
    for slug in fields.services:
        months = sorted({f"{lo:%Y-%m}", f"{hi:%Y-%m}"})
        samples: list[health.Sample] = []
        for month in months:
            path = f"{slug}/{month}.ndjson"
            if path not in files:
                found = tracker.read_file(path, DATA_BRANCH)
                files[path] = found[0] if found is not None else None
            text = files[path]
            if text is not None:
                samples += [s for s in health.parse_samples(text) if lo <= s.t <= hi]
        if not samples:
            continue
        measured = health.uptime(samples, lo, end)
        out.append(Outage(slug, config.service_names([slug])[0], measured.down,
                          measured.degraded, tuple(samples)))
    return tuple(out)


def description(body: str) -> str:
    """What the reporter wrote, without the bot's lines and markers."""
    text = body.split(markers.PREFIX, 1)[0].strip()
    return re.sub(r"\n*_Reported by .* via .*\._\s*$", "", text).strip()


def gather(tracker: IssueTracker, chat: Chat | None, config: Config, number: int, *,
           card: CardState | None = None) -> Facts:
    """Read the issue, its events and comments, the channel's history (when there is a
    channel and a chat) and the monitor's data, and build the facts. `card` is the
    reconciler's newer memory when it writes the postmortem in the middle of a run."""

    snap = reading.read(tracker, number, config)
    if not snap.fields.is_incident:  # a plain issue or a pull request: no postmortem
        raise InvalidInput(f"#{number} is not an incident (it has no `incident` label)")
    state = card or snap.card
    issue = snap.issue
    own = set(snap.bot_logins)
    messages: list[tl.SlackMessage] = []
    threads: dict[str, list[tl.SlackMessage]] = {}
    if chat is not None and state.channel_id:
        own.add(chat.user_id())
        raw, raw_threads = chat.history(state.channel_id)
        messages = [_message(m) for m in raw]
        threads = {ts: [_message(m) for m in replies] for ts, replies in raw_threads.items()}
    events = [tl.Event(e.created_at, e.kind, e.actor, label=e.label)
              for e in tracker.events(number)]
    events += comment_events(snap.comments, snap.writers, config, with_pins=not messages)
    name_of = person_name(config, chat)
    end = issue.closed_at or max([issue.updated_at, *(e.at for e in events)])
    files: dict[str, str | None] = {}
    found = outages(tracker, config, snap.fields, issue.created_at, end, files) \
        if snap.fields.services and any(s.checks for s in config.services) else ()
    started = health.first_failure(issue.body, [s for o in found for s in o.samples],
                            issue.created_at) if snap.fields.auto else None
    if started is not None and started != issue.created_at and found:
        found = outages(tracker, config, snap.fields, started, end, files)
    opener = facts.opener(issue, snap.fields, snap.writers, state.reporter)
    built = tl.build(opened=issue.created_at, reporter=opener.who, events=events,
                     messages=messages, bots=own, name_of=name_of,
                     closed=issue.closed_at, thread_replies=threads,
                     changes=changes(state.history, config, name_of), started=started,
                     opened_via=opener.via, kinds=label_kinds(config),
                     is_person=known_person(config), close_reason=issue.state_reason or "")
    related = tuple(i for i in tracker.list_incidents(since=issue.created_at - RELATED_WITHIN)
                    if i.number != number and i.created_at < issue.created_at
                    and issue.created_at - i.created_at <= RELATED_WITHIN
                    and set(i.labels) & {f"service:{s}" for s in snap.fields.services})
    from incidentbot.operations import changes as what_changed

    repos = what_changed.repos_of(config, snap.fields.services)
    web = issue.url.split(tracker.repository)[0] if tracker.repository in issue.url \
        else "https://github.com/"
    recent = what_changed.recent(tracker, config, snap.fields.services,
                                 started or issue.created_at, web=web) if repos else []
    roles = {role: name_of(ref) for role, ref in state.roles.items()}
    for on_call in state.oncall.values():  # who PagerDuty had on call (oncall.py)
        if on_call.get("name"):
            roles[f"On call ({on_call.get('policy') or 'PagerDuty'})"] = on_call["name"]
    logins = {role: login for role, ref in state.roles.items()
              if (login := login_of(config, ref))}
    url = (f"https://slack.com/app_redirect?channel={state.channel_id}"
           if state.channel_id else None)
    return Facts(number=number, name=state.name, title=issue.title, issue_url=issue.url,
                 fields=snap.fields, opened=issue.created_at, closed=issue.closed_at,
                 roles=roles, channel_name=state.channel_name, channel_url=url,
                 timeline=built, description=description(issue.body),
                 close_reason=issue.state_reason or "", outages=found, role_logins=logins,
                 related=related[:10], recent_changes=tuple(recent),
                 changes_known=bool(repos))


def _message(m: Mapping[str, Any]) -> tl.SlackMessage:
    reactions = tuple(r.get("name", "") for r in m.get("reactions") or [])
    return tl.SlackMessage(ts=str(m.get("ts", "0")), user=m.get("user"),
                           text=str(m.get("text", "")), subtype=m.get("subtype"),
                           bot=bool(m.get("bot_id")), thread_ts=m.get("thread_ts"),
                           pinned=bool(m.get("pinned_to")), reactions=reactions)
