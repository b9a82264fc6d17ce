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


class Viewer:
    """One Slack user, for one request: which incidents they may see and change.

    Anyone may, unless it is private. A private incident belongs to the people holding its
    roles, to those in `slack.security_channel`, where it is announced and its buttons are,
    and to the people in its channel (as Slack reports the channel's members: the commander
    invites who is needed). Membership is asked, never assumed from where a command was
    typed (a channel made private late stays public; anyone can write a purpose), but only
    once per request: `/incident list` over many private incidents reads the security
    channel's members once. An incident that is not private costs nothing; a private one its
    comments (unless its snapshot is given), then members only when its roles do not decide.
    """

    def __init__(self, c: Connections, user: str) -> None:
        self.c = c
        self.user = user
        self._members: dict[str, frozenset[str]] = {}
        self._security: str | None = None  # the security channel's id, once asked

    def may_see(self, issue: Issue, *, snapshot: Snapshot | None = None) -> bool:
        if not is_private(self.c, issue):
            return True
        if not self.user:
            return False
        snap = snapshot if snapshot is not None else \
            reading.read(self.c.tracker, issue.number, self.c.config, known=issue)
        card = snap.card
        if self.user in card.roles.values():
            return True  # no channel asked: the card decides
        return any(self.user in self._members_of(channel)
                   for channel in (self._security_channel(snap), card.channel_id) if channel)

    def _members_of(self, channel: str) -> frozenset[str]:
        if channel not in self._members:
            try:
                self._members[channel] = frozenset(self.c.chat.channel_members(channel))
            except IncidentbotError:
                # A channel gone or hidden from the bot vouches for no one.
                self._members[channel] = frozenset()
        return self._members[channel]

    def _security_channel(self, snap: Snapshot) -> str | None:
        """The security channel's id: where the card says the announcement went, else asked
        (once)."""
        ref = self.c.config.slack.security_channel
        if not ref:
            return None
        for key, posted in snap.card.messages.items():
            if key == f"announce:{ref}" or key.startswith(f"announce:{ref}:"):
                return posted.channel
        if self._security is None:
            try:
                self._security = self.c.chat.channel_id(ref) or ""
            except IncidentbotError:
                self._security = ""
        return self._security or None


def may_see(c: Connections, issue: Issue, user: str, *,
            snapshot: Snapshot | None = None) -> bool:
    """Whether the Slack `user` may see incident `issue` and change it (see `Viewer`); for
    one incident. A request about many asks one `Viewer`."""
    return Viewer(c, user).may_see(issue, snapshot=snapshot)
