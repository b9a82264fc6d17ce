"""Who is invited to an incident's channel, whatever form the config names them in.

A reference may be a Slack user id (`U0123ABCD`), a person id from `people:` (with a Slack
id, or only an email), a GitHub login (`@login`, from a role given on GitHub), or an email.
Emails become Slack ids through `users.lookupByEmail`, once per incident: the answers are kept
in the card's `directory`, so an unchanged incident costs no lookup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from incidentbot.core.card import CardState
from incidentbot.core.config import Config, Person
from incidentbot.core.errors import IncidentbotError

if TYPE_CHECKING:
    from incidentbot.core.ports import Chat
    from incidentbot.core.snapshot import Snapshot

SLACK_ID = re.compile(r"[UW][A-Z0-9]{6,}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _person(ref: str, config: Config) -> Person | None:
    bare = ref.lstrip("@")
    return config.people.get(bare) or config.person_by_github(bare)


def known(ref: str, config: Config) -> Person | None:
    """The person of `people:` a reference names (by Slack id, person id or GitHub login)."""
    if SLACK_ID.fullmatch(ref):
        return config.person_by_slack(ref)
    return _person(ref, config)


def display_name(ref: str, config: Config) -> str:
    """A person as people read them, wherever they are shown (a note's byline, the card, the
    postmortem, the CLI): their name in `people:`, else their id there; a reference nobody
    listed as given (a Slack id, a GitHub login, an email). Untrusted: escape it for where it
    goes."""
    person = known(ref, config)
    return (person.name or person.id) if person is not None else ref


def reachable_on_slack(ref: str, config: Config) -> bool:
    """Can the reference be invited to a channel: a Slack id, or a person or email that
    gives one (directly, or through `users.lookupByEmail`)?"""
    return slack_id(ref, config) is not None or email_of(ref, config) is not None


def email_of(ref: str, config: Config) -> str | None:
    """The email to look a reference up by, when it has no Slack id of its own."""
    if SLACK_ID.fullmatch(ref):
        return None
    if EMAIL.fullmatch(ref):
        return ref.lower()
    person = _person(ref, config)
    if person is not None and not person.slack and person.email:
        return person.email.lower()
    return None


def slack_id(ref: str, config: Config, directory: dict[str, str] | None = None) -> str | None:
    """The Slack user id a reference stands for, if known."""
    if SLACK_ID.fullmatch(ref):
        return ref
    person = _person(ref, config)
    if person is not None and person.slack:
        return person.slack
    email = email_of(ref, config)
    if email and directory:
        return directory.get(email) or None
    return None


def references(snapshot: Snapshot, config: Config, state: CardState,
               extra: Iterable[str] = ()) -> list[str]:
    """Everyone the incident should have, as the config and the card name them: reporter,
    role holders, owners of its services, the severity's people, and `extra` (on-call,
    owners of upstream services)."""
    refs: list[str] = []
    if state.reporter:
        refs.append(state.reporter)
    elif snapshot.issue.author:
        refs.append("@" + snapshot.issue.author)
    refs += list(state.roles.values())
    for slug in snapshot.fields.services:
        try:
            refs += list(config.service(slug).owners)
        except KeyError:
            continue
    if snapshot.fields.severity is not None:
        refs += list(config.severity(snapshot.fields.severity).invite)
    refs += list(extra)
    return list(dict.fromkeys(refs))


def wanted(refs: Sequence[str], config: Config, state: CardState) -> list[str]:
    """The Slack ids of `refs` (those that have one)."""
    directory = dict(state.directory)
    ids = [slack_id(r, config, directory) for r in refs]
    return list(dict.fromkeys(i for i in ids if i))


def lookup(refs: Sequence[str], config: Config, state: CardState, chat: Chat) -> CardState:
    """The card with every email among `refs` looked up in Slack (once each). A lookup that
    fails (scope missing, Slack down) is left for the next run."""
    directory = dict(state.directory)
    for ref in refs:
        email = email_of(ref, config)
        if email is None or email in directory:
            continue
        try:
            directory[email] = chat.user_by_email(email) or ""
        except IncidentbotError:
            continue
    if directory == dict(state.directory):
        return state
    return replace(state, directory=directory)
