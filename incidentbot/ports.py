"""What the core needs from the outside world, as small protocols returning our own records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Issue:
    number: int
    title: str
    body: str
    state: str
    labels: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    url: str
    author: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    body: str
    author: str | None
    created_at: datetime
    url: str


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    topic: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    channel: str
    ts: str
    text: str = ""


class IssueTracker(Protocol):
    """The incident repository's issues (GitHub)."""

    repository: str

    def create_issue(self, title: str, body: str, labels: Sequence[str], *,
                     marker: str) -> Issue: ...

    def get_issue(self, number: int) -> Issue: ...

    def ensure_labels(self, labels: Sequence[tuple[str, str, str]]) -> list[str]: ...

    def comment(self, number: int, body: str) -> Comment: ...


class Chat(Protocol):
    """The team's chat (Slack)."""

    def create_channel(self, name: str, *, private: bool = False) -> Channel: ...

    def find_channel(self, name: str) -> Channel | None: ...

    def set_topic(self, channel: str, topic: str) -> None: ...

    def invite(self, channel: str, users: Sequence[str]) -> list[str]: ...

    def post(self, channel: str, text: str) -> Message: ...
