"""Who may steer an incident: our writers and people with push access; anyone else is data.

A real deployment writes to GitHub under several identities at once: the dispatcher's GitHub
App installation (`<app-slug>[bot]`) or a person's token, the workflow's GITHUB_TOKEN
(`github-actions[bot]`), people's own tokens from the CLI. Each must recognise what the others
wrote — the incident card, notes, markers — and nobody else's text may pass for it.

Trust follows access, never what a comment says about itself:
- a login the team names in `github.writers` (default: the Actions token's login), and the
  login this process's own token writes as, once a write has shown it;
- a GitHub App installation's bot (a Bot account acting through an App): only an admin can
  install an App on the repository;
- anyone GitHub reports with push access (author_association OWNER, MEMBER, COLLABORATOR).

A note or command marker says whom the bot wrote it for (`<!-- incidentbot:command U0ALICE001
Slack -->`). Push access is not enough to say that of someone else: the marker's author and
source are believed only from our own identities, or when the marker names the comment's own
author (the CLI run with a person's token writes as that person). Anywhere else the comment is
its author's own typed text (`vouched`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from incidentbot.core import markers
from incidentbot.core.ports import Comment, Issue

if TYPE_CHECKING:
    from incidentbot.core.configtypes import Config

# https://docs.github.com/en/graphql/reference/enums#commentauthorassociation
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
ACTIONS_LOGIN = "github-actions[bot]"


@dataclass(frozen=True, slots=True)
class Writers:
    """The identities whose cards, notes and markers count (compared case-insensitively)."""

    logins: frozenset[str] = frozenset({ACTIONS_LOGIN})

    @classmethod
    def of(cls, configured: Iterable[str], *own: str | None) -> Writers:
        return cls(frozenset(x.lower() for x in (*configured, *own) if x))

    def is_writer(self, login: str | None) -> bool:
        """One of the deployment's own identities (not merely a person with push access)."""
        return bool(login) and login.lower() in self.logins  # type: ignore[union-attr]

    def is_bot(self, text: Comment | Issue) -> bool:
        """Written by incidentbot itself: a writer, or an App installed here."""
        return self.is_writer(text.author) or _installed_app(text)

    def made(self, actor: str | None) -> bool:
        """Was an event by `actor` (a label added, an issue closed) made by one of our own
        identities: a writer, or a GitHub App (`name[bot]`)?"""
        return self.is_writer(actor) or (actor or "").endswith("[bot]")

    def trusts(self, text: Comment | Issue) -> bool:
        """May this comment (or issue body) change the incident, carry a marker or reach the
        public?"""
        return self.is_bot(text) or text.association in TRUSTED_ASSOCIATIONS


def _installed_app(text: Comment | Issue) -> bool:
    return text.author_type == "Bot" and text.app is not None \
        and (text.author or "").endswith("[bot]")


def names_of(login: str, config: Config) -> set[str]:
    """Every name a GitHub user goes by in the config (login, people id, Slack id)."""
    person = config.person_by_github(login) if login else None
    return {x for x in (login, *((person.id, person.slack or "") if person else ())) if x}


def vouched(comment: Comment, kind: str, writers: Writers,
            config: Config) -> markers.Signed | None:
    """The note or command (`kind`: markers.NOTE or COMMAND) `comment` carries, when its
    marker's author and source are to be believed: the comment was written by one of our own
    identities, or the marker names the comment's own author (their login, people id or Slack
    id). Else None: whatever the marker says, the comment is its author's own text."""
    said = markers.signed(comment.body, kind)
    if said is None or not writers.trusts(comment):
        return None
    if writers.is_bot(comment):
        return said
    own = {x.lower() for x in names_of(comment.author or "", config)}
    return said if said.author.lower() in own else None
