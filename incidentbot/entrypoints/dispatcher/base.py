"""What every handler may use of the dispatcher: its configuration, its connections, its
worker pools and its way of telling people. `app.Dispatcher` provides them; the handler
classes (slash.py, forms.py, events.py) are mixed into it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from incidentbot.core.config import Config
from incidentbot.core.ports import Issue
from incidentbot.core.snapshot import Snapshot
from incidentbot.entrypoints.dispatcher.replies import Seen, private
from incidentbot.operations import incidents as operations
from incidentbot.operations import privacy


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
               snapshot: Snapshot | None = None) -> bool:
        """True, and the person told without a word of the incident, when `issue` is a
        private incident the Slack user who asked is not in (privacy.may_see)."""
        if privacy.may_see(self.conn(), issue, str(request.get("user_id") or ""),
                           snapshot=snapshot):
            return False
        self.tell(request, private(issue.number, self.config))
        return True
