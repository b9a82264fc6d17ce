"""Who may see and change a private (security) incident from Slack: the people in its
channel, the people in the security channel it is announced in, and its leads."""

from __future__ import annotations

from incidentbot.core import plan as planner
from incidentbot.core.errors import IncidentbotError
from incidentbot.core.model import read_labels
from incidentbot.core.ports import Issue
from incidentbot.core.snapshot import Snapshot
from incidentbot.operations import reading
from incidentbot.operations.connections import Connections


def is_private(c: Connections, issue: Issue) -> bool:
    """From the labels alone (no request): the `private` label, or a private severity or
    service."""
    return planner.is_private(read_labels(issue.labels, c.config.severities), c.config)


def may_see(c: Connections, issue: Issue, user: str, *,
            snapshot: Snapshot | None = None) -> bool:
    """Whether the Slack `user` may see incident `issue` and change it.

    Anyone may, unless it is private. A private incident belongs to the people in its
    channel (as Slack reports the channel's members: the commander invites who is needed),
    to those in `slack.security_channel`, where it is announced and its buttons are, and to
    the people holding its roles. Membership is asked each time, never assumed from where
    a command was typed (a channel made private late stays public; anyone can write a
    purpose). Costs nothing for an incident that is not private; else the comments (unless
    `snapshot` is given) and up to two reads of a channel's members."""
    if not is_private(c, issue):
        return True
    if not user:
        return False
    snap = snapshot if snapshot is not None else \
        reading.read(c.tracker, issue.number, c.config, known=issue)
    card = snap.card
    if user in card.roles.values():
        return True
    for channel in (card.channel_id, _security_channel(c, snap)):
        if not channel:
            continue
        try:
            if user in c.chat.channel_members(channel):
                return True
        except IncidentbotError:
            continue  # a channel gone or hidden from the bot vouches for no one
    return False


def _security_channel(c: Connections, snap: Snapshot) -> str | None:
    """The security channel's id: where the card says the announcement went, else asked."""
    ref = c.config.slack.security_channel
    if not ref:
        return None
    for key, posted in snap.card.messages.items():
        if key == f"announce:{ref}" or key.startswith(f"announce:{ref}:"):
            return posted.channel
    try:
        return c.chat.channel_id(ref)
    except IncidentbotError:
        return None
