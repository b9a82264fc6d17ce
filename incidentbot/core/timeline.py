"""One ordered account of an incident, merged from the issue and its Slack channel (pure).

Sources: the issue (opened, label changes with their actor, assignments, comments, closed and
reopened), the changes the bot announced for someone (the incident card's history: status,
severity, services, roles, paging, each with the person who asked), stakeholder notes the
bot wrote for someone, and the channel's history (people's messages; pinned or :pushpin:-ed
ones marked as key events; thread replies folded into their parent; joins and the bot's own
posts left out). A label change the card also announced is one entry, in the label's time,
in the name of the person who asked. From it, the key figures, all from the incident's start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from incidentbot.core.identity import is_bot
from incidentbot.core.model import STATUS_PREFIX, Status
from incidentbot.core.render.messages import duration

# How long after a label change the reconciler may announce it (one sync, maybe a retry).
_ANNOUNCED_WITHIN = timedelta(minutes=10)
MONITOR = "health checks"  # who the monitor's changes are by: shown, never a person
# Where people act under their own account; any other source names someone the team may not
# know: the CLI's GitHub login comes from whoever ran it (and an older CLI wrote the
# computer's user name, such as `root`).
_PLACES = frozenset({"GitHub", "GitHub form", "Slack"})


@dataclass(frozen=True, slots=True)
class Event:
    """An issue event, as the timeline needs it. `kind`: labeled, unlabeled, assigned,
    closed, reopened, commented, outside (a comment by someone without push access: text,
    never an update, and its author is no responder), note (a stakeholder update the bot
    wrote for `actor`, from `label`, the place it was typed), monitor (the health checks'
    comment) or pin."""

    at: datetime
    kind: str
    actor: str | None
    label: str = ""
    text: str = ""
    url: str = ""
    public: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """A change the bot announced, from the card's history: `what` is status, severity,
    services, role, paging or visibility; `by` the person who asked ("" unknown)."""

    at: datetime
    what: str
    value: str
    by: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class SlackMessage:
    ts: str
    user: str | None
    text: str
    subtype: str | None = None
    bot: bool = False
    thread_ts: str | None = None
    pinned: bool = False
    reactions: tuple[str, ...] = ()

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(float(self.ts), UTC)


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline. `who` is a person's name, or "health checks", or "" when
    nobody can be named; `kind`: opened, change, comment, update, public, slack, monitor, or
    outside (a comment by someone outside the team: shown as theirs, never key)."""

    at: datetime
    who: str
    source: str
    text: str
    key: bool = False
    url: str = ""
    replies: int = 0
    kind: str = "comment"


@dataclass(frozen=True, slots=True)
class Figures:
    """When things happened. Every time-to figure runs from `started`: the first failed
    health check for an incident the monitor opened, else the opening. `acknowledged` is
    the first thing a person other than the one who opened it did (any person, for an
    incident the health checks opened): a change, a comment, an update, a Slack message."""

    opened: datetime
    acknowledged: datetime | None
    fixed: datetime | None
    closed: datetime | None
    people: tuple[str, ...]
    started: datetime | None = None
    resolved: datetime | None = None
    false_alarm: bool = False

    @property
    def start(self) -> datetime:
        return self.started or self.opened

    @property
    def mitigated(self) -> datetime | None:
        """The service restored: status fixed, or the close when it skipped fixed."""
        return self.fixed or self.resolved

    @property
    def time_to_detect(self) -> timedelta | None:
        return self.opened - self.start

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return self.acknowledged - self.start if self.acknowledged else None

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self.mitigated - self.start if self.mitigated else None

    @property
    def time_to_resolve(self) -> timedelta | None:
        """To the incident being over: status postmortem or closed, whichever came first."""
        return self.resolved - self.start if self.resolved else None

    @property
    def duration(self) -> timedelta | None:
        return self.closed - self.start if self.closed else None


@dataclass
class Timeline:
    entries: list[Entry]
    figures: Figures


_NOISE = {"channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
          "channel_archive", "channel_unarchive", "bot_message", "pinned_item",
          "bookmark_added"}


def label_kind(label: str) -> tuple[str, str] | None:
    """What a label says: ("status", "fixing"), ("severity", "SEV2"), ("service",
    "checkout"), ("visibility", "public"); None for the rest. The postmortem passes one
    that knows the team's severity labels."""
    lowered = label.lower()
    if lowered.startswith(STATUS_PREFIX):
        return "status", lowered[len(STATUS_PREFIX):]
    if lowered.startswith("sev:") and lowered[4:].isdigit():
        return "severity", f"SEV{lowered[4:]}"
    if lowered.startswith("service:"):
        return "service", lowered[len("service:"):]
    if lowered in {"public", "private"}:
        return "visibility", lowered
    return None


def _matches(change: Change, kind: str, value: str, added: bool) -> bool:
    if change.what == "services" and kind == "service":
        inside = value in {v.strip() for v in change.value.split(",")}
        return inside == added
    return change.what == kind and change.value.lower() == value.lower() and added


def _change_text(what: str, value: str, *, reason: str = "") -> str:
    if what == "status" and value == Status.CLOSED.value:
        return "Incident closed as a false alarm" if reason == "not_planned" \
            else "Incident closed"
    if what == "paging":
        return "On-call paged (PagerDuty)" if value == "triggered" \
            else "Page resolved (PagerDuty)"
    if what == "visibility":
        return {"public": "Made public (status page)", "private": "Made private",
                "-public": "No longer public", "-private": "No longer private"}.get(value, value)
    if what == "role":
        return value
    return f"{what.capitalize()} → {value or 'none'}"


def build(*, opened: datetime, reporter: str | None, events: Sequence[Event],
          messages: Sequence[SlackMessage], bots: Iterable[str],
          name_of: Callable[[str], str] = str, closed: datetime | None = None,
          thread_replies: Mapping[str, Sequence[SlackMessage]] | None = None,
          changes: Sequence[Change] = (), started: datetime | None = None,
          opened_via: str = "GitHub", kinds: Callable[[str], tuple[str, str] | None]
          = label_kind, is_person: Callable[[str], bool] | None = None,
          close_reason: str = "") -> Timeline:
    """Merge the sources into entries in time order, and compute the figures.

    `bots` are the logins and Slack user ids the bot writes as (see identity.is_bot);
    `name_of` turns a login or Slack id into a person's name (so alice on GitHub and U0ALICE
    on Slack are one). `reporter` opened the incident through `opened_via` (facts.opener:
    CLI, Slack, GitHub, GitHub form or monitor); what they do is never its acknowledgement.
    `started` is the first failed check of a monitor-opened incident.
    `is_person` says whether a reference from outside GitHub and Slack (the CLI's GitHub
    login, or the computer's user name an older CLI wrote) is someone the team knows; one
    nobody configured, such as `root`, is shown where it acted but not counted among the
    people involved. `close_reason` is GitHub's
    state_reason of the last close (`not_planned`: a false alarm).
    """
    def known(ref: str, source: str) -> bool:
        return source in _PLACES or is_person is None or is_person(ref)

    own = set(bots)

    def human(who: str | None) -> str | None:
        if not who or is_bot(who, own) or who in {"someone", MONITOR}:
            return None
        return name_of(who)

    def person(who: str | None) -> str | None:
        # Someone the bot's own records name (a note's author, a change's asker, the
        # opener): a person even when their login is the token this run writes with (the
        # CLI with a person's own token), so only a real bot is left out.
        if not who or is_bot(who) or who in {"someone", MONITOR}:
            return None
        return name_of(who)

    entries: list[Entry] = []
    people: dict[str, None] = {}
    acknowledged: datetime | None = None
    reporter_name = person(reporter) if reporter else None
    monitor = opened_via == "monitor"
    if monitor and started is not None and started < opened:
        entries.append(Entry(started, "health checks", "monitor", "First failed health check",
                             key=True, kind="monitor"))
    entries.append(Entry(opened, "health checks" if monitor else reporter_name or "",
                         opened_via, "Incident opened", key=True, kind="opened"))
    if reporter_name and reporter and known(reporter, opened_via):
        people[reporter_name] = None

    def responded(at: datetime, who: str | None, counts: bool = True) -> None:
        nonlocal acknowledged
        if not who:
            return
        if counts:
            people[who] = None
        if who != reporter_name and at >= opened and (acknowledged is None or at < acknowledged):
            acknowledged = at

    # Label changes, closes and reopens, each explained by the card's change when it has one.
    labels: list[tuple[Event, str, str, bool]] = []
    for e in sorted(events, key=lambda e: e.at):
        if e.kind in {"labeled", "unlabeled"} and e.at > opened:
            said = kinds(e.label)
            # The old status or severity going is part of the new one coming.
            # The `closed` event is the close (a status:closed label may come with it).
            if said is not None and not (said[0] in {"status", "severity"}
                                         and e.kind == "unlabeled") \
                    and said != ("status", Status.CLOSED.value):
                labels.append((e, said[0], said[1], e.kind == "labeled"))
        elif e.kind == "closed":
            labels.append((e, "status", Status.CLOSED.value, True))
    used: set[int] = set()
    status_at: dict[str, datetime] = {}
    for ch in sorted(changes, key=lambda c: c.at):
        found = [i for i, (e, kind, value, added) in enumerate(labels)
                 if i not in used and e.at <= ch.at + timedelta(seconds=1)
                 and ch.at - e.at <= _ANNOUNCED_WITHIN and _matches(ch, kind, value, added)]
        if ch.what != "services":
            found = found[:1]
        used.update(found)
        at = min([labels[i][0].at for i in found] or [ch.at])
        actor = next((labels[i][0].actor for i in found if human(labels[i][0].actor)), None)
        who = person(ch.by) if known(ch.by, ch.source) else None
        counted = who is not None or human(actor) is not None
        who = who or human(actor) or person(ch.by) or (ch.by if ch.by == MONITOR else None)
        if ch.what == "status":
            status_at.setdefault(ch.value, at)
        entries.append(Entry(at, who or "", ch.source or "GitHub",
                             _change_text(ch.what, ch.value, reason=close_reason),
                             key=ch.what in {"status", "severity", "paging"}, kind="change"))
        responded(at, who if who != MONITOR else None, counts=counted)
    for i, (e, kind, value, added) in enumerate(labels):
        if i in used or (kind == "status" and value == Status.OPEN.value):
            continue
        who = human(e.actor)
        if kind == "status":
            status_at.setdefault(value, e.at)
            text = _change_text("status", value, reason=close_reason)
        elif kind == "service":
            text = f"Service {value} {'added' if added else 'removed'}"
        elif kind == "visibility":
            text = _change_text("visibility", value if added else f"-{value}")
        else:
            text = _change_text(kind, value)
        entries.append(Entry(e.at, who or "", "GitHub", text, key=kind in {"status", "severity"},
                             kind="change"))
        responded(e.at, who)

    for e in sorted(events, key=lambda e: e.at):
        who = human(e.actor)
        if e.kind == "reopened":
            entries.append(Entry(e.at, who or "", "GitHub", "Incident reopened", key=True,
                                 kind="change"))
        elif e.kind == "assigned" and who is not None:
            entries.append(Entry(e.at, who, "GitHub", f"Assigned {name_of(e.label)}",
                                 kind="change"))
        elif e.kind == "monitor":
            entries.append(Entry(e.at, "health checks", "monitor", e.text, key=True,
                                 kind="monitor"))
        elif e.kind == "outside" and who is not None:
            # Text from someone without push access: in the record as theirs, never a
            # public update, a key event or a response (the status page ignores it too).
            entries.append(Entry(e.at, who, e.label or "GitHub", e.text, url=e.url,
                                 kind="outside"))
        elif e.kind in {"note", "pin"}:
            named = person(e.actor)
            if named is None and not e.public:
                continue
            source = e.label or ("Slack" if e.kind == "pin" else "GitHub")
            entries.append(Entry(e.at, named or "", source, e.text, url=e.url,
                                 key=e.public or e.kind == "pin",
                                 kind="public" if e.public else
                                 "update" if e.kind == "note" else "comment"))
            responded(e.at, named, counts=known(e.actor or "", source))
        elif e.kind == "commented" and (who is not None or e.public):
            # A public update is in the account whoever wrote it: the page showed it.
            source = e.label or "GitHub"
            entries.append(Entry(e.at, who or "", source, e.text, url=e.url, key=e.public,
                                 kind="public" if e.public else "comment"))
            responded(e.at, who, counts=known(e.actor or "", source))

    replies = thread_replies or {}
    for m in messages:
        if m.bot or m.subtype in _NOISE or is_bot(m.user, own) or not m.text.strip():
            continue
        if m.thread_ts and m.thread_ts != m.ts:
            continue  # a reply: folded into its parent below
        who = human(m.user) or ""
        folded = [r for r in replies.get(m.ts, ()) if r.ts != m.ts and not r.bot]
        for r in folded:
            responded(r.at, human(r.user))
        key = m.pinned or "pushpin" in m.reactions
        entries.append(Entry(m.at, who, "Slack", m.text, key=key, replies=len(folded),
                             kind="slack"))
        responded(m.at, who)

    if closed is not None and Status.CLOSED.value not in status_at:
        entries.append(Entry(closed, "", "GitHub", "Incident closed", key=True, kind="change"))
        status_at[Status.CLOSED.value] = closed
    # Stable: same-second entries keep their order, what the checks saw before what it did.
    entries.sort(key=lambda e: (e.at, e.kind != "monitor"))
    ends = [t for s, t in status_at.items()
            if s in {Status.POSTMORTEM.value, Status.CLOSED.value}]
    figures = Figures(opened=opened, acknowledged=acknowledged,
                      fixed=status_at.get(Status.FIXED.value), closed=closed,
                      people=tuple(sorted(people)), started=started,
                      resolved=min(ends) if ends else None,
                      false_alarm=close_reason == "not_planned")
    return Timeline(entries, figures)


def human_duration(delta: timedelta | None) -> str:
    return "—" if delta is None else duration(delta)
