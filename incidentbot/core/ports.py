"""What the core needs from the outside world, as small protocols returning our own records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


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
    association: str = "NONE"  # the author's author_association, as on comments
    author_type: str = "User"
    app: str | None = None
    state_reason: str | None = None  # of a closed issue: completed, not_planned
    comments: int = -1  # how many comments it has (-1: not known)
    pull: bool = False  # a pull request (GitHub serves those as issues too)


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    body: str
    author: str | None
    created_at: datetime
    url: str
    # GitHub's author_association: OWNER, MEMBER and COLLABORATOR may run commands.
    association: str = "NONE"
    author_type: str = "User"  # "Bot" for App installations and the Actions token
    app: str | None = None  # the GitHub App it was written through (performed_via_github_app)


@dataclass(frozen=True, slots=True)
class LabelEvent:
    """A label added to or removed from an issue, or the issue closed or reopened, and by
    whom (GitHub's issue events)."""

    id: int
    action: str  # "labeled", "unlabeled", "closed" or "reopened" (label "")
    label: str
    actor: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """Any issue event the timeline shows: labeled, unlabeled, closed, reopened, assigned."""

    id: int
    kind: str
    actor: str | None
    created_at: datetime
    label: str = ""


@dataclass(frozen=True, slots=True)
class Pull:
    """A pull request, as postmortem reviews and "what changed?" need it."""

    number: int
    url: str
    state: str
    title: str = ""
    author: str | None = None
    assignees: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()  # requested
    merged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment recorded in a repository (GitHub's deployments API)."""

    id: int
    ref: str
    sha: str
    environment: str
    description: str
    creator: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    topic: str = ""
    purpose: str = ""
    creator: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    channel: str
    ts: str
    text: str = ""


class Refs(Protocol):
    """The few git operations the cross-process turns need (turns.py)."""

    def make_commit(self, message: str, parents: tuple[str, ...] = ()) -> str: ...

    def create_ref(self, ref: str, sha: str) -> bool: ...

    def get_ref(self, ref: str) -> str | None: ...

    def commit_message(self, sha: str) -> str: ...

    def move_ref(self, ref: str, sha: str) -> bool: ...

    def matching_refs(self, prefix: str) -> dict[str, str]: ...


class IssueTracker(Refs, Protocol):
    """The incident repository's issues (GitHub)."""

    repository: str

    def close(self) -> None: ...

    def login(self) -> str | None: ...

    def whoami(self) -> str | None: ...

    def find_by_marker(self, marker: str) -> Issue | None: ...

    def create_issue(self, title: str, body: str, labels: Sequence[str], *,
                     marker: str, repeat: bool = True) -> Issue: ...

    def get_issue(self, number: int) -> Issue: ...

    def list_incidents(self, *, since: datetime | None = None,
                       state: str = "all") -> list[Issue]: ...

    def ensure_labels(self, labels: Sequence[tuple[str, str, str]]) -> list[str]: ...

    def list_labelled(self, label: str, *, state: str = "all") -> list[Issue]: ...

    def comments(self, number: int) -> list[Comment]: ...

    def label_events(self, number: int) -> list[LabelEvent]: ...

    def comment(self, number: int, body: str) -> Comment: ...

    def edit_comment(self, number: int, comment_id: int, body: str) -> None: ...

    def relabel(self, number: int, add: Sequence[str], remove: Sequence[str]) -> None: ...

    def update_issue(self, number: int, *, labels: Sequence[str] | None = None,
                     state: str | None = None) -> Issue: ...

    def set_state(self, number: int, state: str, *, reason: str | None = None) -> Issue: ...

    def edit_issue(self, number: int, *, title: str | None = None,
                   body: str | None = None) -> Issue: ...

    def events(self, number: int) -> list[IssueEvent]: ...

    def default_branch(self) -> str: ...

    def dispatch_workflow(self, workflow: str, ref: str, inputs: Mapping[str, str]) -> None: ...

    def read_file(self, path: str, ref: str) -> tuple[str, str] | None: ...

    def write_file(self, path: str, text: str, message: str, branch: str) -> bool: ...

    def ensure_branch(self, branch: str, base: str) -> None: ...

    def ensure_pull(self, head: str, base: str, title: str, body: str) -> str: ...

    # postmortem reviews (issue 14)
    def find_pull(self, head: str, base: str) -> Pull | None: ...

    def assign(self, number: int, logins: Sequence[str]) -> tuple[str, ...]: ...

    def request_reviewers(self, number: int, logins: Sequence[str]) -> None: ...

    # "what changed?" (issue 14): another repository's recent merges and deployments
    def merged_pulls(self, repository: str, since: datetime) -> list[Pull]: ...

    def deployments(self, repository: str, since: datetime) -> list[Deployment]: ...


class Chat(Protocol):
    """The team's chat (Slack)."""

    def user_id(self) -> str: ...

    def create_channel(self, name: str, *, private: bool = False) -> Channel: ...

    def find_channel(self, name: str) -> Channel | None: ...

    def channel_info(self, channel: str) -> Channel: ...

    def channel_id(self, ref: str) -> str: ...

    def set_topic(self, channel: str, topic: str) -> None: ...

    def set_purpose(self, channel: str, purpose: str) -> None: ...

    def channel_members(self, channel: str) -> frozenset[str]: ...

    def invite(self, channel: str, users: Sequence[str], *,
               fresh: bool = False) -> dict[str, str]: ...

    def post(self, channel: str, text: str, *, key: str | None = None,
             thread_ts: str | None = None, broadcast: bool = False,
             blocks: Sequence[Mapping[str, Any]] | None = None) -> Message:
        """`channel` is an id or a `#name`; the Message names the channel by id."""
        ...

    def update(self, channel: str, ts: str, text: str, *,
               blocks: Sequence[Mapping[str, Any]] | None = None) -> None: ...

    def posted_keys(self, channel: str, oldest: float) -> Mapping[str, str]: ...

    def bookmarks(self, channel: str) -> list[str]: ...

    def add_bookmark(self, channel: str, title: str, url: str) -> None: ...

    def archive(self, channel: str) -> None: ...

    def rename(self, channel: str, name: str) -> Channel: ...

    # the dispatcher's side
    def open_view(self, trigger_id: str, view: Mapping[str, Any]) -> str: ...

    def post_ephemeral(self, channel: str, user: str, text: str,
                       blocks: Sequence[Mapping[str, Any]] | None = None) -> None: ...

    def respond(self, response_url: str, text: str,
                blocks: Sequence[Mapping[str, Any]] | None = None, *,
                in_channel: bool = False) -> None: ...

    def message_text(self, channel: str, ts: str) -> str: ...

    def history(self, channel: str) -> tuple[list[dict[str, Any]],
                                              dict[str, list[dict[str, Any]]]]: ...

    def user_name(self, user: str) -> str: ...

    def user_by_email(self, email: str) -> str | None: ...


class Pager(Protocol):
    """On-call paging (PagerDuty Events API v2)."""

    def trigger(self, dedup_key: str, summary: str, severity: str,
                details: Mapping[str, Any]) -> None: ...

    def resolve(self, dedup_key: str) -> None: ...
