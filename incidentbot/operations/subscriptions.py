"""Subscriptions: each public update and maintenance change posted once to the webhooks a
team lists in `status_page.subscribers` (Slack incoming webhooks, Microsoft Teams, generic
JSON).

Which notices each subscriber has had is kept in a small ledger file beside the monitor's
data (`subscriptions.json`), keyed by a digest of the subscriber (never its URL: webhook URLs
are secrets, read from the environment as `$NAME`). A failed post is not recorded, so the
next build tries it again; a new subscriber starts from now, not with the whole history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from incidentbot.core.config import Config
from incidentbot.core.render.publicincidents import Maintenance, PublicIncident
from incidentbot.core.render.statusapi import iso, site_url
from incidentbot.core.text import slack, slack_strong

Post = Callable[[str, Mapping[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Notice:
    key: str  # incident:<n>:<update id> or maintenance:<n>:<state>
    kind: str  # "incident" or "maintenance"
    title: str
    word: str  # the public status, or scheduled / in_progress / completed
    body: str
    link: str
    services: tuple[str, ...]
    at: datetime


def notices(config: Config, incidents: Sequence[PublicIncident],
            maintenances: Sequence[Maintenance], now: datetime) -> list[Notice]:
    """Every notice the public could have had, oldest first."""
    base = site_url(config)
    out = []
    for i in incidents:
        link = f"{base}/incidents/{i.number}.html" if base else ""
        for u in i.updates:
            out.append(Notice(f"incident:{i.number}:{u.id}", "incident", i.title, u.word,
                              u.body, link, i.services_named, u.at))
    for m in maintenances:
        state = m.state(now)
        link = f"{base}/maintenance/{m.number}.html" if base else ""
        words = {"scheduled": f"Scheduled for {iso(m.start)} to {iso(m.end)}.",
                 "in_progress": "The maintenance has begun.",
                 "completed": "The maintenance is complete."}
        out.append(Notice(f"maintenance:{m.number}:{state}", "maintenance", m.title, state,
                          words[state], link, m.services_named, now))
    return sorted(out, key=lambda n: (n.at, n.key))


def payload(kind: str, n: Notice) -> dict[str, Any]:
    """The body one subscriber type expects. Titles and texts are people's words: escaped
    for Slack's mrkdwn; Teams' MessageCard and JSON carry them as plain strings."""
    word = n.word.replace("_", " ").capitalize()
    affects = f" (affects {', '.join(n.services)})" if n.services else ""
    if kind == "slack":
        link = f" <{n.link}|details>" if n.link else ""
        return {"text": f"{slack_strong(slack(n.title))} — {slack(word)}: {slack(n.body)}"
                        f"{slack(affects)}{link}"}
    if kind == "teams":
        card: dict[str, Any] = {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                                "summary": f"{n.title}: {word}", "title": n.title,
                                "text": f"**{word}**: {n.body}{affects}"}
        if n.link:
            card["potentialAction"] = [{"@type": "OpenUri", "name": "Details",
                                        "targets": [{"os": "default", "uri": n.link}]}]
        return card
    return {"id": n.key, "type": n.kind, "name": n.title, "status": n.word, "body": n.body,
            "components": list(n.services), "url": n.link or None, "created_at": iso(n.at)}


def _subscriber_id(kind: str, url: str) -> str:
    return hashlib.sha256(f"{kind} {url}".encode()).hexdigest()[:16]


def deliver(config: Config, found: Sequence[Notice], ledger: Path, post: Post,
            env: Mapping[str, str]) -> tuple[int, list[str]]:
    """Post each notice not yet sent to each subscriber; (posts made, problems)."""
    from incidentbot.adapters.probes import expand

    try:
        sent: dict[str, list[str]] = json.loads(ledger.read_text("utf-8"))
    except (OSError, ValueError):
        sent = {}
    made, problems = 0, []
    for number, sub in enumerate(config.status_page.subscribers):
        sid = _subscriber_id(sub.type, sub.url)
        if sid not in sent:  # a new subscriber starts from now
            sent[sid] = [n.key for n in found]
            continue
        done = set(sent[sid])
        try:
            url = expand(sub.url, env)
        except KeyError as missing:
            problems.append(f"subscribers[{number}]: environment variable {missing.args[0]} "
                            "is not set")
            continue
        for n in found:
            if n.key in done:
                continue
            try:
                post(url, payload(sub.type, n))
            except OSError as exc:
                problems.append(f"subscribers[{number}] ({sub.type}): {n.key} not delivered "
                                f"({type(exc).__name__}); tried again next build")
                break
            sent[sid].append(n.key)
            made += 1
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_text(json.dumps(sent, indent=1, sort_keys=True) + "\n", "utf-8")
    return made, problems


def http_post(url: str, body: Mapping[str, Any], *, timeout: float = 10) -> None:
    """POST JSON; any HTTP error or refusal is an OSError (urllib's errors are)."""
    import urllib.request

    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        raise OSError("webhook URLs must be https")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "incidentbot"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        answer.read()
