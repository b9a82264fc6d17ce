"""Beyond Slack: what each configured target (Teams webhook, JSON webhook, email) is told,
and when — once per change of an incident at the severities it lists (pure).

A change is what the channel is told (the card's `seq` counts them; the opening is 0), so
the key `notify:<target>:<reopens>:<seq>` names one message per target per change. Keys sent
are kept in the card; the key also travels with the message (a webhook's `key` field, an
email's Message-ID), so a receiver can drop the repeat a crash between sending and saving
the card would cause. Drills and private incidents are never sent beyond Slack.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from incidentbot.core import publicstatus
from incidentbot.core.card import CardState
from incidentbot.core.config import Config, NotifyTarget
from incidentbot.core.model import Status
from incidentbot.core.render.messages import Facts
from incidentbot.core.text import markdown, one_line, truncate

if TYPE_CHECKING:
    from incidentbot.core.snapshot import Snapshot


def key(target: NotifyTarget, state: CardState, seq: int) -> str:
    return f"notify:{target.name}:{state.reopens}:{seq}"


def due(snapshot: Snapshot, config: Config, state: CardState, seq: int,
        *, private: bool) -> list[tuple[NotifyTarget, str]]:
    """(target, key) of the notifications this state of the incident still owes."""
    fields = snapshot.fields
    if fields.drill or private or fields.severity is None:
        return []
    out = []
    for target in config.notify:
        if target.severities and fields.severity not in target.severities:
            continue
        k = key(target, state, seq)
        if k not in state.notified:
            out.append((target, k))
    return out


def _event(f: Facts, seq: int) -> str:
    if f.status is Status.CLOSED:
        return "incident.closed"
    return "incident.opened" if seq == 0 else "incident.changed"


def webhook(f: Facts, k: str, seq: int) -> dict[str, Any]:
    """The generic JSON webhook's body: the facts, raw (the receiver escapes for itself)."""
    return {
        "key": k, "event": _event(f, seq),
        "incident": {"number": f.number, "name": f.name, "title": f.title, "url": f.url,
                     "status": f.status.value,
                     "public_status": f.public_status or publicstatus.word(f.status),
                     "severity": f.severity, "services": list(f.services),
                     "commander": f.commander,
                     "opened_at": f.opened_at.isoformat() if f.opened_at else None,
                     "closed_at": f.closed_at.isoformat() if f.closed_at else None,
                     "postmortem": f.postmortem_url, "call": f.call_url},
    }


def teams(f: Facts, k: str, seq: int) -> dict[str, Any]:
    """A Microsoft Teams incoming webhook's MessageCard; untrusted text escaped for the
    Markdown Teams renders (https://learn.microsoft.com/en-us/outlook/actionable-messages/message-card-reference)."""
    title = markdown(truncate(one_line(f.title), 200))
    facts = [{"name": "Severity", "value": markdown(f.severity)},
             {"name": "Status", "value": f.status.value},
             {"name": "Services", "value": markdown(", ".join(f.services)) or "—"}]
    if f.latest_update:
        facts.append({"name": "Latest update",
                      "value": markdown(truncate(one_line(f.latest_update), 300))})
    colour = "2EB886" if f.status.rank >= Status.FIXED.rank else "D93F0B"
    return {
        "@type": "MessageCard", "@context": "https://schema.org/extensions",
        "summary": truncate(f"{f.severity} incident: {one_line(f.title)}", 150),
        "themeColor": colour,
        "title": f"{markdown(f.severity)} incident #{f.number}: {title}",
        "sections": [{"facts": facts, "text": f"incidentbot key `{k}` · {_event(f, seq)}"}],
        "potentialAction": [{"@type": "OpenUri", "name": "Open the issue",
                             "targets": [{"os": "default", "uri": f.url}]}],
    }


def email(f: Facts, k: str, seq: int) -> tuple[str, str]:
    """(subject, plain-text body) of the email (a P1's major-incident report, say)."""
    subject = truncate(f"[{one_line(f.severity)}] {one_line(f.title)} — {f.status.value}", 200)
    lines = [f"{f.severity} incident #{f.number}: {one_line(f.title)}",
             f"Status: {f.status.value} ({f.public_status or publicstatus.word(f.status)})",
             f"Services: {', '.join(f.services) or '—'}",
             f"Issue: {f.url}"]
    if f.latest_update:
        lines.append(f"Latest update: {one_line(f.latest_update)}")
    if f.call_url:
        lines.append(f"Call: {f.call_url}")
    if f.postmortem_url:
        lines.append(f"Postmortem: {f.postmortem_url}")
    lines.append(f"\n(incidentbot {_event(f, seq)}, key {k})")
    return subject, "\n".join(lines)


def payload(target: NotifyTarget, f: Facts, k: str, seq: int) -> str:
    """What a planned notify action carries (JSON), built here so the plan can be printed."""
    if target.kind == "teams":
        return json.dumps(teams(f, k, seq), ensure_ascii=False)
    if target.kind == "email":
        subject, body = email(f, k, seq)
        return json.dumps({"subject": subject, "body": body, "to": list(target.to)},
                          ensure_ascii=False)
    return json.dumps(webhook(f, k, seq), ensure_ascii=False)


def actions(snapshot: Snapshot, config: Config, state: CardState, f: Facts, seq: int,
            private: bool) -> list[tuple[str, str, Mapping[str, str]]]:
    """(key, payload, extra) for each notification due: sync turns them into actions."""
    return [(k, payload(t, f, k, seq), {"target": t.name})
            for t, k in due(snapshot, config, state, seq, private=private)]
