"""What incidentbot says in Slack and on the issue: pure functions from facts to text.

Every piece of untrusted text (titles, comments, logins, service names from a config someone
else wrote) goes through `text.slack` here, so `<!channel>` or `<@U123>` in an issue title is
shown literally and pings no one. Mentions the bot means to make (role holders) are built
from Slack user ids it validated, never from free text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidentbot.model import Status
from incidentbot.text import one_line, slack, truncate, truncate_escaped

TOPIC_MAX = 250
SECTION_MAX = 3000
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,}")


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
    roles: Mapping[str, str]  # role label -> person reference
    channel_id: str | None
    channel_name: str | None
    drill: bool = False
    private: bool = False


def person(ref: str) -> str:
    """A person reference as Slack shows it: a mention for a Slack id, else the name."""
    if _SLACK_ID.fullmatch(ref):
        return f"<@{ref}>"
    return slack(ref)


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
    return ", ".join(slack(s) for s in facts.services) or "no service named yet"


def _link(url: str, label: str) -> str:
    # The URL is ours (the issue's), but `|` and `>` would still end the link early.
    return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{slack(label)}>"


def _plain(text: str) -> str:
    """Untrusted text where Slack does not take escapes (topic, purpose): angle brackets
    become look-alikes, so nothing in it can become a mention or a link."""
    return one_line(text).replace("<", "‹").replace(">", "›")


def topic(facts: Facts) -> str:
    """The channel topic (plain text, at most 250 characters): who, what, where."""
    parts = [f"{_prefix(facts)}{_plain(facts.severity)}", facts.status.value,
             _plain(", ".join(facts.services)) or "no service"]
    lead = next(iter(facts.roles.items()), None)
    if lead is not None:
        parts.append(f"{_plain(lead[0])}: {person(lead[1])}")
    parts.append(facts.url)
    text = one_line(" · ".join(parts))
    if len(text) <= TOPIC_MAX:
        return text
    # Keep the link whole: shorten what comes before it.
    head = truncate(" · ".join(parts[:-1]), TOPIC_MAX - len(facts.url) - 3)
    return f"{head} · {facts.url}"[:TOPIC_MAX]


def purpose(facts: Facts, marker: str) -> str:
    return truncate(f"{marker} · {_plain(facts.title)}", TOPIC_MAX)


def summary(facts: Facts, description: str) -> str:
    lines = [
        f"{_prefix(facts)}:rotating_light: *{truncate_escaped(one_line(facts.title), 300)}*",
        f"*{slack(facts.severity)}* — {slack(facts.meaning)}" if facts.meaning
        else f"*{slack(facts.severity)}*",
        f"Status: *{facts.status.value}* · Services: {_services(facts)}",
        f"Issue: {_link(facts.url, f'#{facts.number}')} (the record: labels, comments, close)",
    ]
    if facts.roles:
        lines.append("Roles: " + ", ".join(f"{slack(r)} {person(p)}"
                                           for r, p in facts.roles.items()))
    if description.strip():
        lines.append(">>> " + truncate_escaped(description.strip(), 1500))
    if facts.drill:
        lines.append("_This is a drill: nobody is paged and nothing is announced._")
    return "\n".join(lines)


def announcement(facts: Facts, resolved: bool) -> str:
    """The message in announcement channels, edited in place as the incident moves."""
    mark = ":white_check_mark:" if resolved else ":rotating_light:"
    title = truncate_escaped(one_line(facts.title), 300)
    lines = [
        f"{_prefix(facts)}{mark} *{slack(facts.severity)} incident:* {title}",
        f"Status: *{facts.status.value}* · Services: {_services(facts)}",
        f"Join {_channel(facts)} · Issue {_link(facts.url, f'#{facts.number}')}",
    ]
    return "\n".join(lines)


def resolution(facts: Facts, opened: datetime, now: datetime) -> str:
    return (f"{_prefix(facts)}:white_check_mark: *Resolved* after {duration(now - opened)}: "
            f"{truncate_escaped(one_line(facts.title), 300)} ({_channel(facts)})")


@dataclass(frozen=True, slots=True)
class Change:
    what: str  # "status", "severity", "services", a role label
    before: str
    after: str


def change(facts: Facts, changes: Sequence[Change], by: str, source: str) -> str:
    """One message for what changed in one sync, saying who did it and where."""
    parts = []
    for c in changes:
        if c.what in {"status", "severity", "services"}:
            parts.append(f"{c.what} *{slack(c.before) or '—'}* → *{slack(c.after) or '—'}*")
        else:
            after = person(c.after) if c.after else "nobody"
            parts.append(f"{slack(c.what)} → {after}")
    who = person(by) if by else "someone"
    return f"{_prefix(facts)}:arrows_counterclockwise: {who} changed " + "; ".join(parts) + \
        f" (via {slack(source)})"


def comment(facts: Facts, author: str, body: str, url: str, *, update: bool = False) -> str:
    head = (f":mega: *Update* from {person(author)}" if update
            else f":speech_balloon: *{slack(author)}* commented on {_link(url, 'GitHub')}")
    quoted = truncate_escaped(body.strip(), SECTION_MAX - 200)
    return f"{_prefix(facts)}{head}\n>>> {quoted}"


def closed(facts: Facts, opened: datetime, now: datetime, postmortem: str | None,
           archive: bool) -> str:
    lines = [f"{_prefix(facts)}:lock: *Closed* after {duration(now - opened)}."]
    if postmortem:
        lines.append(f"Postmortem: {_link(postmortem, 'read it')}")
    lines.append("This channel is archived now; the issue keeps the record." if archive
                 else "This channel is renamed and kept; the issue keeps the record.")
    return "\n".join(lines)


def reopened(facts: Facts, previous: str | None) -> str:
    text = f"{_prefix(facts)}:repeat: *Reopened* — status {facts.status.value}."
    if previous:
        text += f" The earlier conversation is in <#{previous}>."
    return text


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
    return (f"{_prefix(facts)}:alarm_clock: {mention}, stakeholders last heard about this "
            f"{slack(severity)} incident {duration(since)} ago. Time for an update: "
            f"`/incident update` (or the button).")


def no_commander(facts: Facts, mention: str, since: timedelta) -> str:
    return (f"{_prefix(facts)}:bust_in_silhouette: {mention}, this incident has had no "
            f"commander for {duration(since)}. Someone take it: "
            f"`/incident role commander @you`.")
