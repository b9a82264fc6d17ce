"""Who is incidentbot: the one place that answers "was this written by the bot?" (pure).

The bot writes under several identities at once: a GitHub App installation token
(`<app-slug>[bot]`), the Actions token (`github-actions[bot]`), a person's own token (the
CLI; then the "bot" login is that person's), and the Slack bot user. Callers pass the
identities they know of (the tracker's login, the chat's user id); any `[bot]` login counts.
"""

from __future__ import annotations

from collections.abc import Iterable

# Names the bot goes by in its own history lines ("incidentbot" for a change it made) and
# the Actions app's name. Who may write markers is trust.Writers' question, not this one.
KNOWN = frozenset({"incidentbot", "github-actions"})


def is_bot(who: str | None, own: Iterable[str] = ()) -> bool:
    """True when `who` (a GitHub login or a Slack user id) is incidentbot or another bot."""
    if not who:
        return False
    lowered = who.lower()
    return (lowered.endswith("[bot]") or lowered in KNOWN
            or lowered in {o.lower() for o in own if o})
