"""The GitHub emulator's records (users, labels, issues, comments, commits, pulls…), its
seeded identities and the error answers GitHub gives, in its words.

Times are ISO 8601 strings at seconds precision in UTC ("2026-11-22T13:41:00Z"), so they
sort as text and serialise as they are. Every record is a dataclass whose fields are JSON
types, so `dump()` is `asdict` and `load()` is the constructor.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DOCS = "https://docs.github.com/rest"
MAX_BODY = 65536  # characters in an issue or comment body

# The labels GitHub gives every new repository.
DEFAULT_LABELS = (
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
)
BOT = "incidentbot-sandbox"
PEOPLE = ("alice", "bob", "carol", "dan")  # the seeded config's people, all with push access
OUTSIDER = "mallory"
# The two bot identities of a real deployment: the dispatcher's GitHub App installation
# (writes as `<app-slug>[bot]`) and the Actions workflow's GITHUB_TOKEN. Both are Bot
# accounts acting through an App, may write issues, and cannot read GET /user.
APP_SLUG = "incidentbot"
APP_BOT = f"{APP_SLUG}[bot]"
ACTIONS_BOT = "github-actions[bot]"
# Git's empty tree: every repository has it, so a commit can be made with no files at all.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
README = b"# Incidents\n\nOne GitHub issue per incident; postmortems live in incidents/.\n"
COLOR = re.compile(r"[0-9a-fA-F]{6}")


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time as GitHub accepts it in `since`; None when it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- answers other than success -----------------------------------------------------------------
class GitHubError(Exception):
    """What GitHub answers instead of doing the thing; the API turns it into a response."""

    def __init__(self, status: int, message: str,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": DOCS,
                               "status": str(self.status)}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def not_found(message: str = "Not Found") -> GitHubError:
    return GitHubError(404, message)


def failed(resource: str, field_: str | None, code: str, **extra: Any) -> GitHubError:
    """422 Validation Failed with one error, as GitHub reports a rule a field breaks."""
    error: dict[str, Any] = {"resource": resource, "code": code}
    if field_ is not None:
        error["field"] = field_
    error.update(extra)
    return GitHubError(422, "Validation Failed", [error])


def invalid_request(detail: str) -> GitHubError:
    """422 for a body that does not fit the operation's schema (wrong type, missing key)."""
    return GitHubError(422, f"Invalid request.\n\n{detail}")


# -- records ------------------------------------------------------------------------------------
@dataclass
class User:
    login: str
    id: int
    type: str = "User"
    name: str | None = None
    created_at: str = "2020-01-01T00:00:00Z"
    app: str | None = None  # a Bot's GitHub App (its slug): performed_via_github_app


@dataclass
class Label:
    id: int
    name: str
    color: str
    description: str | None = None
    default: bool = False


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    created_at: str
    updated_at: str
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None
    closed_by: str | None = None
    labels: list[int] = field(default_factory=list)  # label ids, in the order added
    assignees: list[str] = field(default_factory=list)
    comments: int = 0


@dataclass
class Pull:
    number: int
    id: int
    head: str  # branch names in this repository
    base: str
    draft: bool = False
    reviewers: list[str] = field(default_factory=list)  # requested, not yet reviewed
    merged_at: str | None = None


@dataclass
class Deployment:
    """A deployment recorded for a ref (what "what changed?" lists)."""

    id: int
    sha: str
    ref: str
    environment: str
    description: str
    creator: str
    created_at: str
    task: str = "deploy"


@dataclass
class Comment:
    id: int
    issue: int
    body: str
    user: str
    created_at: str
    updated_at: str


@dataclass
class Delivery:
    """A webhook event a write caused (`issues` or `issue_comment`), and whether it starts
    the repository's workflows: writes made with the Actions GITHUB_TOKEN start none."""

    seq: int
    event: str
    action: str
    issue: int
    actor: str
    starts_workflows: bool
    comment: int | None = None
    label: str | None = None


@dataclass
class Event:
    id: int
    issue: int
    event: str
    actor: str
    created_at: str
    label: dict[str, str] | None = None
    assignee: str | None = None
    rename: dict[str, str] | None = None
    state_reason: str | None = None


@dataclass
class Commit:
    sha: str
    message: str
    tree: dict[str, str]  # path -> blob sha: every commit is a snapshot
    parents: list[str]
    date: str
    author: str

    @property
    def tree_sha(self) -> str:
        return tree_sha(self.tree)


def blob_sha(data: bytes) -> str:
    """Git's object id for a blob, as the contents API reports it."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324


def tree_sha(tree: Mapping[str, str]) -> str:
    if not tree:
        return EMPTY_TREE
    listing = "\n".join(f"{path} {sha}" for path, sha in sorted(tree.items()))
    return hashlib.sha1(b"tree\0" + listing.encode()).hexdigest()  # noqa: S324


class StoreBase:
    """What the git and pull-request rules use of the store (github_state.Store has it all)."""

    owner: str
    now: str
    next_id: int
    next_number: int
    issues: dict[int, Issue]
    pulls: dict[int, Pull]
    blobs: dict[str, str]
    commits: dict[str, Commit]
    refs: dict[str, str]
    deployments: list[Deployment]

    def _id(self) -> int:
        raise NotImplementedError

    def _login(self, login: str) -> str:
        raise NotImplementedError

    def deliver(self, event: str, action: str, issue: Issue, actor: str, *,
                comment: int | None = None, label: str | None = None) -> None:
        raise NotImplementedError

    def _event(self, actor: str, issue: Issue, event: str, **fields: Any) -> None:
        raise NotImplementedError

    def _check_body(self, resource: str, body: str | None) -> None:
        raise NotImplementedError

    def _change_state(self, actor: str, issue: Issue, state: str | None,
                      reason: str | None) -> None:
        raise NotImplementedError
