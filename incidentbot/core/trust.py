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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from incidentbot.core.ports import Comment, Issue

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

    def trusts(self, text: Comment | Issue) -> bool:
        """May this comment (or issue body) change the incident, carry a marker or reach the
        public?"""
        return self.is_bot(text) or text.association in TRUSTED_ASSOCIATIONS


def _installed_app(text: Comment | Issue) -> bool:
    return text.author_type == "Bot" and text.app is not None \
        and (text.author or "").endswith("[bot]")
