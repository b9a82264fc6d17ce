"""What changed? The pull requests merged and deployments made in the affected services'
repositories (`services[].repos`) in the hours before an incident started: posted in its
channel when it opens, kept in the postmortem as "Recent changes"."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidentbot.core.config import Config
from incidentbot.core.errors import IncidentbotError
from incidentbot.core.ports import Issue, IssueTracker
from incidentbot.core.render.messages import duration
from incidentbot.core.text import slack, truncate

LOOKBACK = timedelta(hours=6)
SHOWN = 15  # lines in the channel; the postmortem keeps them all
KEY = "recent-changes"


@dataclass(frozen=True, slots=True)
class Change:
    at: datetime
    repo: str
    what: str
    who: str  # a person's name, or their login
    url: str
    kind: str  # "pull", "deployment", or "error" (the repository could not be read)


def repos_of(config: Config, services: Iterable[str]) -> list[str]:
    out: list[str] = []
    for slug in services:
        try:
            out += config.service(slug).repos
        except KeyError:
            continue
    return list(dict.fromkeys(out))


def recent(tracker: IssueTracker, config: Config, services: Iterable[str], start: datetime,
           *, web: str = "https://github.com/") -> list[Change]:
    """Merges and deployments in [start - LOOKBACK, start], oldest first. Two requests per
    repository, a few more for a busy one."""
    since = start - LOOKBACK

    def name(login: str | None) -> str:
        person = config.person_by_github(login) if login else None
        return (person.name or login or "") if person else (login or "")

    out = []
    for repo in repos_of(config, services):
        try:
            pulls, deployments = tracker.merged_pulls(repo, since), \
                tracker.deployments(repo, since)
        except IncidentbotError as exc:
            # Said where the list goes, not retried on every sync: the token may simply
            # not reach that repository.
            out.append(Change(since, repo, f"could not be read ({exc}); does the token "
                              "have read access?", "", f"{web}{repo}", "error"))
            continue
        for p in pulls:
            if p.merged_at is not None and p.merged_at <= start:
                out.append(Change(p.merged_at, repo, f"#{p.number} {p.title} (merged)",
                                  name(p.author), p.url, "pull"))
        for d in deployments:
            if d.created_at <= start:
                said = f": {d.description}" if d.description else ""
                out.append(Change(d.created_at, repo,
                                  f"deployed {d.ref} ({d.sha[:7]}) to {d.environment}{said}",
                                  name(d.creator), f"{web}{repo}/commit/{d.sha}",
                                  "deployment"))
    return sorted(out, key=lambda c: (c.at, c.repo, c.what))


def message(changes: Sequence[Change], repos: Sequence[str], start: datetime) -> str:
    """The channel's post (Slack mrkdwn; every outside text escaped)."""
    head = (f":mag: *What changed?* In the {LOOKBACK.total_seconds() / 3600:g} hours before "
            "the start, in "
            + ", ".join(f"`{slack(r)}`" for r in repos) + ":")
    if all(c.kind == "error" for c in changes):
        head += "\nNo pull request was merged and nothing was deployed."
    lines = [head]
    for c in changes[-SHOWN:]:
        if c.kind == "error":
            lines.append(f"• :warning: `{slack(c.repo)}` {slack(truncate(c.what, 200))}")
            continue
        before = duration(start - c.at)
        who = f" — {slack(c.who)}" if c.who else ""
        lines.append(f"• {before} before: <{c.url}|{slack(c.repo)}> "
                     f"{slack(truncate(c.what, 150))}{who}")
    if len(changes) > SHOWN:
        lines.append(f"_…and {len(changes) - SHOWN} earlier; the postmortem lists them all._")
    return "\n".join(lines)


def for_channel(tracker: IssueTracker, config: Config, issue: Issue, services: Sequence[str],
                *, auto: bool) -> str:
    """The post for a new incident's channel: from its start (the first failed check when
    the monitor opened it)."""
    from incidentbot.core.health import first_failure

    start = (first_failure(issue.body, (), issue.created_at) if auto else None) \
        or issue.created_at
    web = issue.url.split(tracker.repository)[0] if tracker.repository in issue.url \
        else "https://github.com/"
    return message(recent(tracker, config, services, start, web=web),
                   repos_of(config, services), start)
