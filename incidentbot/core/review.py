"""Who reviews a postmortem, and when: the owner, the reviewers, the meeting (pure).

The owner is whoever is assigned to the review's pull request (people may change it on
GitHub), else the incident commander. Reviewers are the role holders and the owners of the
affected services, by GitHub login through `people:`. For incidents whose severity needs a
postmortem (SEV1-3 by default) an .ics invitation to a review meeting is committed beside
the postmortem: three working days after the incident was resolved, 14:00 in the team's
time zone, 45 minutes, with everyone `people:` has an email for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from incidentbot.core.config import Config, Person
from incidentbot.core.facts import Facts, login_of
from incidentbot.core.people import display_name
from incidentbot.core.render.messages import person as slack_person
from incidentbot.core.text import slack

MEETING_AFTER_WORKDAYS = 3
MEETING_AT = time(14, 0)
MEETING_LENGTH = timedelta(minutes=45)


@dataclass(frozen=True, slots=True)
class Review:
    owner: str | None  # GitHub login
    reviewers: tuple[str, ...]  # GitHub logins, the owner and the pull's author left out
    people: tuple[Person, ...]  # everyone invited to the meeting, as configured


def _person(config: Config, login: str) -> Person:
    return config.person_by_github(login) or Person(id=login, github=login)


def plan(facts: Facts, config: Config, *, assignees: Sequence[str] = (),
         author: str | None = None) -> Review:
    owner = assignees[0] if assignees else facts.role_logins.get("commander")
    logins = list(facts.role_logins.values())
    for slug in facts.fields.services:
        try:
            service = config.service(slug)
        except KeyError:
            continue
        logins += [login for ref in service.owners if (login := login_of(config, ref))]
    skip = {x.lower() for x in (owner, author) if x}
    reviewers = tuple(dict.fromkeys(x for x in logins if x.lower() not in skip))
    everyone = [x for x in (owner, *reviewers) if x]
    return Review(owner, reviewers, tuple(_person(config, x) for x in everyone))


def shown(config: Config, login: str) -> str:
    """`Bob Example (@bob)` for the document (people.display_name), `@bob` for someone
    `people:` does not list."""
    name = display_name(login, config)
    return f"{name} (@{login})" if name != login else f"@{login}"


def wants_meeting(facts: Facts, config: Config) -> bool:
    if facts.fields.severity is None or facts.fields.drill:
        return False
    return config.severity(facts.fields.severity).postmortem


def meeting_start(resolved: datetime, zone: ZoneInfo) -> datetime:
    """Three working days after `resolved`, at 14:00 local time."""
    day = resolved.astimezone(zone).date()
    left = MEETING_AFTER_WORKDAYS
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return datetime.combine(day, MEETING_AT, zone)


def _ics_text(text: str) -> str:
    """RFC 5545 3.3.11: backslash, semicolon, comma and newlines escaped."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _fold(line: str) -> list[str]:
    """RFC 5545 3.1: lines of at most 75 octets, continued with a leading space."""
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74
        if len((current + char).encode()) > limit:
            out.append(current)
            current = char
        else:
            current += char
    return [*out, current] if out else [current]


def ics(facts: Facts, config: Config, review: Review, *, resolved: datetime,
        url: str) -> str:
    """The invitation: one VEVENT, its UID from the incident so a re-render is the same."""
    start = meeting_start(resolved, ZoneInfo(config.timezone)).astimezone(UTC)
    stamp = resolved.astimezone(UTC)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//incidentbot//postmortem review//EN",
             "METHOD:REQUEST", "BEGIN:VEVENT",
             f"UID:{facts.name}-review@incidentbot",
             f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}", f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
             f"DTEND:{start + MEETING_LENGTH:%Y%m%dT%H%M%SZ}",
             "SUMMARY:" + _ics_text(f"Postmortem review: #{facts.number} {facts.title}"[:200]),
             "DESCRIPTION:" + _ics_text(
                 f"Review the postmortem of #{facts.number} ({facts.name}) together: {url}"),
             f"URL:{url}"]
    for p in review.people:
        if p.email:
            name = _ics_text(p.name or p.github or p.id).replace('"', "'")
            lines.append(f'ATTENDEE;CN="{name}";ROLE=REQ-PARTICIPANT:mailto:{p.email}')
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(part for line in lines for part in _fold(line)) + "\r\n"


def notice(config: Config, review: Review, *, url: str, path: str,
           meeting: str | None, when: datetime | None) -> str:
    """What the channel is told: where the draft is, who owns it, who reviews, the meeting."""
    def who(login: str) -> str:
        found = config.person_by_github(login)
        return slack_person(found.slack) if found is not None and found.slack \
            else slack(f"@{login}")

    lines = [f":memo: The postmortem is drafted with the timeline and figures: "
             f"<{url}|{slack(path)}>. Please fill in what happened and why."]
    if review.owner:
        lines.append(f"Owner: {who(review.owner)} (assigned to the pull request).")
    if review.reviewers:
        lines.append("Reviewers: " + ", ".join(who(x) for x in review.reviewers) + ".")
    if meeting and when is not None:
        local = when.astimezone(ZoneInfo(config.timezone))
        lines.append(f":calendar: Review meeting with everyone involved, proposed for "
                     f"{local:%a %d %b %H:%M %Z}: <{meeting}|add it to your calendar (.ics)>.")
    return "\n".join(lines)
