"""What incidentbot says in Slack and on the issue: pure functions from facts to text.

Every piece of untrusted text (titles, comments, logins, service names from a config someone
else wrote) goes through `text.slack` here, so `<!channel>` or `<@U123>` in an issue title is
shown literally and pings no one. Mentions the bot means to make (role holders) are built
from Slack user ids it validated, never from free text. Each piece is bounded too, so a
text fits Slack's limits (40,000 characters a message, 3,000 a section, 250 a topic)
whatever it quotes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from incidentbot.core import publicstatus
from incidentbot.core.model import Status
from incidentbot.core.render import wording
from incidentbot.core.text import (
    EMPHASIS,
    one_line,
    slack,
    slack_plain,
    truncate,
    truncate_escaped,
)

TOPIC_MAX = 250
SECTION_MAX = 3000
TEXT_MAX = 40_000  # https://api.slack.com/changelog/2018-04-truncating-really-long-messages
NAME_MAX = 100  # a login, a service or severity name, a role label: shown at most this long
# A Slack user id as incidentbot.yml accepts one (its schema's pattern); shorter all-caps
# words ("WALDO") are names, not ids.
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{6,}")


@dataclass(frozen=True, slots=True)
class Facts:
    """What every message may mention about one incident."""

    number: int
    name: str
    title: str
    url: str
    status: Status
    severity: str  # "SEV2"
    meaning: str
    services: tuple[str, ...]  # display names
    roles: Mapping[str, str]  # role label -> person reference, commander first (plan.py)
    channel_id: str | None
    channel_name: str | None
    drill: bool = False
    private: bool = False
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    commander: str | None = None  # a person reference
    latest_update: str = ""  # untrusted: the newest update people posted
    postmortem_url: str | None = None
    call_url: str | None = None
    # What a role means (from the config), by role label, for roles someone holds.
    role_notes: Mapping[str, str] = field(default_factory=dict)
    # Lines already escaped (on-call, dependencies) the summary shows as they are.
    extra_lines: tuple[str, ...] = ()
    public_status: str = ""  # publicstatus.word: what the status page says


def person(ref: str) -> str:
    """A person reference as Slack shows it: a mention for a Slack id, else the name."""
    if _SLACK_ID.fullmatch(ref):
        return f"<@{ref}>"
    return _name(ref)


def _name(text: str, limit: int = NAME_MAX) -> str:
    """A short piece of untrusted text (a name, a label) on one line, escaped and bounded."""
    return truncate_escaped(one_line(text), limit)


def _fit(text: str, limit: int = TEXT_MAX, *, escaped: bool = True) -> str:
    """`text` within `limit` characters, never cutting one of our `<...>` sequences in half
    (untrusted text has no `<` left, so every `<` is ours), nor an `&amp;` if `escaped`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    for opener, closer in (("<", ">"), ("&", ";"))[: 2 if escaped else 1]:
        at = cut.rfind(opener)
        if at != -1 and closer not in cut[at:]:
            cut = cut[:at]
    return cut.rstrip() + "…"


def _prefix(facts: Facts) -> str:
    return "[DRILL] " if facts.drill else ""


# Stands for the incident channel's link before the channel exists; replaced when posting.
# Untrusted text cannot forge it: escaping turns every `<` it has into `&lt;`.
CHANNEL_SLOT = "<#CHANNEL>"


def _channel(facts: Facts) -> str:
    if facts.channel_id:
        return f"<#{facts.channel_id}>"
    return CHANNEL_SLOT


def fill_channel(text: str, channel_id: str) -> str:
    return text.replace(CHANNEL_SLOT, f"<#{channel_id}>")


def _services(facts: Facts) -> str:
    names = ", ".join(one_line(s) for s in facts.services)
    return truncate_escaped(names, 1000) if names else "no service named yet"


def _link(url: str, label: str) -> str:
    # The URL is ours (the issue's), but `|` and `>` would still end the link early.
    return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{slack(label)}>"


def _plain(text: str) -> str:
    """Untrusted text where Slack does not take escapes (topic, purpose): angle brackets
    become look-alikes, so nothing in it can become a mention or a link."""
    return slack_plain(text)


def topic(facts: Facts) -> str:
    """The channel topic (plain text, at most 250 characters): who, what, where. The role
    named is the first of `roles`, whose order is fixed (the commander first)."""
    parts = [f"{_prefix(facts)}{_plain(facts.severity)}", facts.status.value,
             _plain(", ".join(facts.services)) or "no service"]
    lead = next(iter(facts.roles.items()), None)
    if lead is not None:
        holder = f"<@{lead[1]}>" if _SLACK_ID.fullmatch(lead[1]) else _plain(lead[1])
        parts.append(f"{_plain(lead[0])}: {holder}")
    url = _plain(facts.url)
    text = " · ".join([*parts, url])
    if len(text) <= TOPIC_MAX:
        return text
    # Keep the link whole: shorten what comes before it (never inside the mention).
    room = TOPIC_MAX - len(url) - 3
    if room < 2:  # no room left for the link
        return _fit(" · ".join(parts), TOPIC_MAX, escaped=False)
    return f"{_fit(' · '.join(parts), room, escaped=False)} · {url}"


def purpose(facts: Facts, marker: str) -> str:
    """The marker that ties the channel to its issue (kept whole), then the title."""
    return truncate(f"{marker} · {_plain(facts.title)}", TOPIC_MAX)


def summary(facts: Facts, description: str) -> str:
    roles = ", ".join(f"{_name(r)} {person(p)}" for r, p in facts.roles.items())
    title = truncate_escaped(one_line(facts.title), 300)
    return _fit(wording.render(
        "summary", prefix=_prefix(facts), title=title,
        # mrkdwn has no escape for its emphasis marks: a title with one of its own is not
        # wrapped in ours, which it would pair with and break.
        bold=not any(mark in title for mark in EMPHASIS),
        severity=_name(facts.severity), meaning=_name(facts.meaning, 300),
        status=facts.status.value, services=_services(facts),
        issue_link=_link(facts.url, f"#{facts.number}"), roles=roles,
        role_notes="\n".join(f"_{_name(r)}: {_name(d, 300)}_"
                              for r, d in facts.role_notes.items()),
        call=_link(facts.call_url, facts.call_url) if facts.call_url else "",
        extra="\n".join(facts.extra_lines),
        description=truncate_escaped(description.strip(), 1500), drill=facts.drill))


def announcement(facts: Facts, resolved: bool) -> str:
    """The message in announcement channels, edited in place as the incident moves; once
    the incident is closed it says how long it took and links the postmortem instead of an
    archived channel."""
    closed = facts.status is Status.CLOSED and facts.closed_at is not None \
        and facts.opened_at is not None
    took = duration(facts.closed_at - facts.opened_at) \
        if closed and facts.closed_at and facts.opened_at else ""
    return _fit(wording.render(
        "announcement", prefix=_prefix(facts), closed=closed, resolved=resolved, took=took,
        severity=_name(facts.severity), title=truncate_escaped(one_line(facts.title), 300),
        status=facts.status.value, public=_public(facts), services=_services(facts),
        channel=_channel(facts),
        issue_link=_link(facts.url, f"#{facts.number}"),
        postmortem=_link(facts.postmortem_url, "read it") if facts.postmortem_url else ""))


def _public(facts: Facts) -> str:
    return facts.public_status or publicstatus.word(facts.status)


def resolution(facts: Facts, opened: datetime, now: datetime) -> str:
    """Said once when the fix is in, in the status page's word: "Monitoring" at `fixed`
    (still unresolved in public), "Resolved" when it is."""
    return wording.render("resolution", prefix=_prefix(facts), took=duration(now - opened),
                          title=truncate_escaped(one_line(facts.title), 300),
                          channel=_channel(facts), public=_public(facts))


@dataclass(frozen=True, slots=True)
class Change:
    what: str  # "status", "severity", "services", a role label
    before: str
    after: str


def change(facts: Facts, changes: Sequence[Change], by: str, source: str) -> str:
    """One message for what changed in one sync, saying who did it and where.

    `by` is a Slack user id only when the change came from Slack; from GitHub, the CLI or a
    drill it is a login or a name, shown as such even when it looks like a Slack id (anyone
    may call their GitHub account `U0ALICE001`)."""
    parts = []
    for c in changes:
        if c.what in {"status", "severity", "services"}:
            before, after = _name(c.before, 300) or "—", _name(c.after, 300) or "—"
            parts.append(f"{c.what} *{before}* → *{after}*")
        else:
            after = person(c.after) if c.after else "nobody"
            note = facts.role_notes.get(c.what) if c.after else None
            parts.append(f"{_name(c.what)} → {after}"
                         + (f" (_{_name(note, 300)}_)" if note else ""))
    if not by:
        who = "someone"
    elif source.strip().lower() == "slack":
        who = person(by)
    else:
        who = _name(by)
    return _fit(wording.render("change", prefix=_prefix(facts), who=who, parts=parts,
                               source=_name(source)))


def changes_by(facts: Facts, made: Sequence[tuple[Change, tuple[str, str]]]) -> str:
    """What changed in one sync when each change names who made it (by, source): one line
    per person, in the order of the changes; one line when one person made them all."""
    people: dict[tuple[str, str], list[Change]] = {}
    for c, who in made:
        people.setdefault(who, []).append(c)
    return _fit("\n".join(change(facts, cs, by, source)
                          for (by, source), cs in people.items()))


def comment(facts: Facts, author: str, body: str, url: str, *, update: bool = False) -> str:
    head = wording.render("comment", prefix=_prefix(facts), update=update,
                          author=person(author) if update else _name(author),
                          link=_link(url, "GitHub"))
    start = f"{head}\n>>> "
    # The quote gets what is left of a section's worth, however long the head is.
    room = max(2, min(SECTION_MAX - 200, SECTION_MAX - len(start)))
    return _fit(start + truncate_escaped(body.strip(), room))


def closed(facts: Facts, opened: datetime, now: datetime, postmortem: str | None,
           archive: bool) -> str:
    return wording.render("closed", prefix=_prefix(facts), took=duration(now - opened),
                          postmortem=_link(postmortem, "read it") if postmortem else "",
                          archive=archive)


def reopened(facts: Facts, previous: str | None) -> str:
    return wording.render("reopened", prefix=_prefix(facts), status=facts.status.value,
                          previous=f"<#{previous}>" if previous else "")


def duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def reminder(facts: Facts, mention: str, since: timedelta, severity: str) -> str:
    return wording.render("reminder", prefix=_prefix(facts), mention=mention,
                          severity=_name(severity), since=duration(since))


def no_commander(facts: Facts, mention: str, since: timedelta) -> str:
    return wording.render("no_commander", prefix=_prefix(facts), mention=mention,
                          since=duration(since))
