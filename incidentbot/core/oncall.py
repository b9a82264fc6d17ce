"""Who is on call, brought into the incident (FireFighter: "gets the name, phone and email of
the on-call person and invites them on the Slack channel").

With a PagerDuty REST API key, the first-level on-call person of the affected services'
escalation policies (else the severity's) is looked up once per policy, while the incident
would page; their email then finds them in Slack (people.py) to be invited, and the summary
names them. Without a key nothing is asked: paging goes through the Events API alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from incidentbot.core.card import CardState
from incidentbot.core.config import Config
from incidentbot.core.errors import IncidentbotError
from incidentbot.core.text import one_line, truncate_escaped

if TYPE_CHECKING:
    from incidentbot.core.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class OnCall:
    policy: str  # the escalation policy's id
    policy_name: str
    name: str
    email: str


@runtime_checkable
class OnCallSource(Protocol):
    """What can say who is on call (pagerduty.PagerDuty with a REST API key)."""

    @property
    def can_look_up(self) -> bool: ...

    def on_call(self, policy_ids: Sequence[str]) -> list[OnCall]: ...


def policies(snapshot: Snapshot, config: Config) -> list[str]:
    """The escalation policies to ask: the affected services', else the severity's."""
    found = []
    for service in config.services:
        if service.slug in snapshot.fields.services and service.escalation_policy:
            found.append(service.escalation_policy)
    if not found and snapshot.fields.severity is not None:
        policy = config.severity(snapshot.fields.severity).escalation_policy
        if policy:
            found.append(policy)
    return list(dict.fromkeys(found))


def wanted(snapshot: Snapshot, config: Config, state: CardState) -> bool:
    """On-call is brought in when the incident pages (never for a drill)."""
    fields = snapshot.fields
    if fields.drill or snapshot.issue.state == "closed" or not fields.status.active:
        return False
    severity = config.severity(fields.severity) if fields.severity is not None else None
    return state.page_requested or bool(severity and severity.page)


def gather(snapshot: Snapshot, config: Config, state: CardState,
           source: object) -> CardState:
    """The card with the on-call person of each policy not asked yet (one request for all).
    A failed lookup is left for the next run; an unstaffed policy is remembered as such."""
    if not isinstance(source, OnCallSource) or not source.can_look_up \
            or not wanted(snapshot, config, state):
        return state
    asking = [p for p in policies(snapshot, config) if p not in state.oncall]
    if not asking:
        return state
    try:
        found = {o.policy: o for o in source.on_call(asking)}
    except IncidentbotError:
        return state
    oncall = dict(state.oncall)
    for policy in asking:
        person = found.get(policy)
        oncall[policy] = {"name": person.name, "email": person.email.lower(),
                          "policy": person.policy_name} if person else {}
    return replace(state, oncall=oncall)


def emails(state: CardState) -> list[str]:
    """The on-call people as references people.py can resolve (their emails)."""
    return [p["email"] for p in state.oncall.values() if p.get("email")]


def lines(state: CardState, directory: Mapping[str, str]) -> list[str]:
    """Summary lines (escaped): who is on call, as a mention when Slack knows them."""
    out = []
    for person in state.oncall.values():
        if not person.get("email"):
            continue
        user = directory.get(person["email"])
        who = f"<@{user}>" if user else truncate_escaped(
            one_line(f"{person.get('name', '')} ({person['email']})"), 200)
        policy = truncate_escaped(one_line(person.get("policy", "")), 100)
        out.append(f"On call: {who}" + (f" ({policy})" if policy else ""))
    return out
