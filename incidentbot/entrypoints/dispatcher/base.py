"""What every handler may use of the dispatcher: its configuration, its connections, its
worker pools and its way of telling people. `app.Dispatcher` provides them; the handler
classes (slash.py, forms.py, events.py) are mixed into it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from incidentbot.core.config import Config
from incidentbot.core.ports import Issue
from incidentbot.core.snapshot import Snapshot
from incidentbot.entrypoints.dispatcher.replies import Seen, not_an_incident, private
from incidentbot.operations import incidents as operations
from incidentbot.operations import privacy, reading


class Handlers:
    config: Config
    _channels: dict[str, int | None]
    _seen_work: Seen

    def conn(self) -> operations.Connections:
        raise NotImplementedError

    def later(self, work: Callable[[], None], *, what: str, fast: bool = False) -> None:
        raise NotImplementedError

    def durable(self, kind: str, key: str, payload: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def tell(self, request: Mapping[str, Any], text: str,
             blocks: list[dict[str, Any]] | None = None) -> None:
        raise NotImplementedError

    def _team_ok(self, team_id: str | None) -> bool:
        raise NotImplementedError

    def incident_of(self, channel_id: str) -> int | None:
        raise NotImplementedError

    def may_close(self, user: str | None) -> bool:
        raise NotImplementedError

    def open_update_form(self, number: int, request: Mapping[str, str]) -> None:
        raise NotImplementedError

    def hidden(self, issue: Issue, request: Mapping[str, Any], *,
               snapshot: Snapshot | None = None, called: str = "") -> bool:
        """True, and the person told without a word of the incident, when `issue` is a
        private incident the Slack user who asked is not in (privacy.may_see). `called`:
        what they named it by, when not its number (the refusal repeats it, not the
        number)."""
        if privacy.may_see(self.conn(), issue, str(request.get("user_id") or ""),
                           snapshot=snapshot):
            return False
        self.tell(request, private(called or f"#{issue.number}", self.config))
        return True

    def incident_to_change(self, number: int, request: Mapping[str, Any]) -> Issue | None:
        """Incident `number` as it stands now, for a change; None, and the person told, when
        it is no incident of this repository or a private one they are not in.

        Deciding a private incident asks GitHub and Slack, so it is read once more after:
        a label write computed from the issue (comment_commands.write_fields sends the whole
        list) then drops no label added meanwhile. An incident that is not private is
        decided from its labels, with nothing in between."""
        c = self.conn()
        issue = reading.incident(c.tracker, number, self.config)
        if issue is not None and privacy.is_private(c, issue):
            if self.hidden(issue, request):
                return None
            issue = reading.incident(c.tracker, number, self.config)
        if issue is None:
            self.tell(request, not_an_incident(number))
        return issue

    def incident_to_show(self, number: int, request: Mapping[str, Any]) -> Snapshot | None:
        """Incident `number` read whole (issue, comments, card), to show; None, and the
        person told, when it is no incident of this repository or a private one they are
        not in."""
        c = self.conn()
        issue = reading.incident(c.tracker, number, self.config)
        if issue is None:
            self.tell(request, not_an_incident(number))
            return None
        snap = reading.read(c.tracker, number, self.config, known=issue)
        return None if self.hidden(issue, request, snapshot=snap) else snap
