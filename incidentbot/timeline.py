"""One ordered account of an incident, merged from the issue and its Slack channel (pure).

Sources: the issue (opened, label changes with their actor, assignments, comments, closed and
reopened) and the channel's history (people's messages; pinned or :pushpin:-ed ones marked as
key events; thread replies folded into their parent; joins and the bot's own posts left out,
since what the bot posts is already in the issue's events). From it, the key figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from incidentbot.messages import duration
from incidentbot.model import STATUS_PREFIX, Status

PIN_MARKER = "<!-- incidentbot:pin"


@dataclass(frozen=True, slots=True)
class Event:
    """An issue event, as the timeline needs it."""

    at: datetime
    kind: str  # opened, labeled, unlabeled, assigned, closed, reopened, commented
    actor: str | None
    label: str = ""
    text: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class SlackMessage:
    ts: str
    user: str | None
    text: str
    subtype: str | None = None
    bot: bool = False
    thread_ts: str | None = None
    reply_count: int = 0
    pinned: bool = False
    reactions: tuple[str, ...] = ()

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(float(self.ts), UTC)


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    who: str
    source: str  # "GitHub" or "Slack"
    text: str
    key: bool = False
    url: str = ""
    replies: int = 0


@dataclass(frozen=True, slots=True)
class Figures:
    opened: datetime
    acknowledged: datetime | None
    fixing: datetime | None
    fixed: datetime | None
    closed: datetime | None
    people: tuple[str, ...]

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return self.acknowledged - self.opened if self.acknowledged else None

    @property
    def time_to_mitigate(self) -> timedelta | None:
        """From the fix starting (status fixing) to it working (fixed)."""
        if self.fixed is None:
            return None
        return self.fixed - (self.fixing or self.opened)

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self.fixed - self.opened if self.fixed else None

    @property
    def duration(self) -> timedelta | None:
        return self.closed - self.opened if self.closed else None


@dataclass
class Timeline:
    entries: list[Entry] = field(default_factory=list)
    figures: Figures | None = None


_NOISE = {"channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
          "channel_archive", "channel_unarchive", "bot_message", "pinned_item",
          "bookmark_added"}


def build(*, opened: datetime, reporter: str | None, events: Sequence[Event],
          messages: Sequence[SlackMessage], bots: Iterable[str],
          name_of: Callable[[str], str] = str, closed: datetime | None = None,
          thread_replies: Mapping[str, Sequence[SlackMessage]] | None = None,
          changed_by: Sequence[tuple[str, str, str]] = ()) -> Timeline:
    """Merge both sources into entries in time order, and compute the figures.

    `bots` are the logins and Slack user ids that are incidentbot itself; `name_of` turns a
    login or Slack id into a person's name (so alice on GitHub and U0ALICE on Slack are one).
    `changed_by` lists (what, by, where) for changes the bot made for someone (from the
    incident card), in order: a label the bot wrote is shown as that person's.
    """
    pending: dict[str, list[tuple[str, str]]] = {}
    for what, by, where in changed_by:
        pending.setdefault(what.lower(), []).append((by, where))
    bots = set(bots)
    entries: list[Entry] = []
    reporter_name = name_of(reporter) if reporter else None
    entries.append(Entry(opened, reporter_name or "someone", "GitHub", "Incident opened"))
    fixing = fixed = None
    acknowledged = None
    people: dict[str, None] = {}
    if reporter_name:
        people[reporter_name] = None

    def human(who: str | None) -> str | None:
        if not who or who in bots:
            return None
        return name_of(who)

    def responded(at: datetime, who: str | None) -> None:
        nonlocal acknowledged
        if who is None:
            return
        people[who] = None
        if who != reporter_name and at >= opened and (acknowledged is None or at < acknowledged):
            acknowledged = at

    for e in sorted(events, key=lambda e: e.at):
        who = human(e.actor)
        shown = who or "incidentbot"
        if e.kind == "labeled" and e.label.lower().startswith(STATUS_PREFIX):
            value = e.label[len(STATUS_PREFIX):].lower()
            if value == Status.OPEN.value:
                continue  # the opening is its own entry
            if value == Status.FIXING.value and fixing is None:
                fixing = e.at
            if value == Status.FIXED.value and fixed is None:
                fixed = e.at
            source = "GitHub"
            queue = pending.get(f"status:{value}")
            if who is None and queue:
                by, source = queue.pop(0)
                who = human(by) if by and by != "incidentbot" else None
                shown = who or "incidentbot"
            entries.append(Entry(e.at, shown, source, f"Status → {value}", key=True))
            responded(e.at, who)
        elif e.kind == "labeled" and e.at > opened:
            entries.append(Entry(e.at, shown, "GitHub", f"Label {e.label} added"))
            responded(e.at, who)
        elif e.kind == "unlabeled" and not e.label.lower().startswith(STATUS_PREFIX):
            entries.append(Entry(e.at, shown, "GitHub", f"Label {e.label} removed"))
            responded(e.at, who)
        elif e.kind in {"closed", "reopened"}:
            entries.append(Entry(e.at, shown, "GitHub", f"Issue {e.kind}", key=True))
        elif e.kind == "assigned":
            entries.append(Entry(e.at, shown, "GitHub", f"Assigned {e.label}"))
        elif e.kind == "commented" and who is not None and not e.text.startswith(PIN_MARKER):
            entries.append(Entry(e.at, who, "GitHub", e.text, url=e.url))
            responded(e.at, who)

    replies = thread_replies or {}
    for m in messages:
        if m.bot or m.subtype in _NOISE or m.user in bots or not m.text.strip():
            continue
        if m.thread_ts and m.thread_ts != m.ts:
            continue  # a reply: folded into its parent below
        who = human(m.user) or "someone"
        folded = [r for r in replies.get(m.ts, ()) if r.ts != m.ts and not r.bot]
        for r in folded:
            responded(r.at, human(r.user))
        key = m.pinned or "pushpin" in m.reactions
        entries.append(Entry(m.at, who, "Slack", m.text, key=key, replies=len(folded)))
        responded(m.at, who)

    if closed is not None and not any(e.kind == "closed" for e in events):
        entries.append(Entry(closed, "someone", "GitHub", "Issue closed", key=True))
    entries.sort(key=lambda e: e.at)  # stable: same-second entries keep their order
    figures = Figures(opened=opened, acknowledged=acknowledged, fixing=fixing, fixed=fixed,
                      closed=closed, people=tuple(sorted(people)))
    return Timeline(entries, figures)


def human_duration(delta: timedelta | None) -> str:
    return "—" if delta is None else duration(delta)
