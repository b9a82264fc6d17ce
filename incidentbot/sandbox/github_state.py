"""The GitHub emulator's world: its records and the rules GitHub applies to them (no HTTP here).

Times are ISO 8601 strings at seconds precision in UTC ("2026-11-22T13:41:00Z"), so they
sort as text and serialise as they are. Every record is a dataclass whose fields are JSON
types, so `dump()` is `asdict` and `load()` is the constructor.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
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
_COLOR = re.compile(r"[0-9a-fA-F]{6}")


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


# -- the world ----------------------------------------------------------------------------------
class Store:
    """One repository and its users; `now` is set by the API before each request."""

    def __init__(self, repository: str, now: str) -> None:
        self.owner, _, self.name = repository.partition("/")
        self.now = now
        self.seed()

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def seed(self) -> None:
        self.created_at = self.now
        self.next_id = 1_000_001
        self.next_number = 1
        self.users = {u.login.lower(): u for u in (
            User(self.owner, 9001, "Organization", self.owner.title()),
            User(BOT, 9002, "User", "incidentbot (sandbox)"),
            *(User(login, 9010 + i, "User", f"{login.title()} Example")
              for i, login in enumerate(PEOPLE)),
            # Someone from outside: may comment on the (public) repository, may not push.
            User(OUTSIDER, 9090, "User", "Mallory Outsider"),
            User(APP_BOT, 9100, "Bot", None, app=APP_SLUG),
            User(ACTIONS_BOT, 41898282, "Bot", None, app="github-actions"),
        )}
        self.collaborators = [BOT, *PEOPLE]
        self.deliveries: list[Delivery] = []
        self.dispatches: list[dict[str, Any]] = []  # workflow_dispatch requests
        self.labels: dict[int, Label] = {}
        for name, color, description in DEFAULT_LABELS:
            label = Label(self._id(), name, color, description, default=True)
            self.labels[label.id] = label
        self.issues: dict[int, Issue] = {}
        self.pulls: dict[int, Pull] = {}
        self.comments: dict[int, Comment] = {}
        self.events: list[Event] = []
        self.blobs: dict[str, str] = {}  # blob sha -> base64
        self.commits: dict[str, Commit] = {}
        self.refs: dict[str, str] = {}  # "heads/main" -> commit sha
        self.deployments: list[Deployment] = []
        self.refs["heads/main"] = self._commit(BOT, "Initial commit", {
            "README.md": self._blob(README)}, []).sha

    def dump(self) -> dict[str, Any]:
        return {
            "repository": self.full_name, "created_at": self.created_at,
            "next_id": self.next_id, "next_number": self.next_number,
            "users": [asdict(u) for u in self.users.values()],
            "collaborators": list(self.collaborators),
            "labels": [asdict(x) for x in self.labels.values()],
            "issues": [asdict(x) for x in self.issues.values()],
            "pulls": [asdict(x) for x in self.pulls.values()],
            "comments": [asdict(x) for x in self.comments.values()],
            "events": [asdict(x) for x in self.events],
            "blobs": dict(self.blobs), "commits": [asdict(x) for x in self.commits.values()],
            "refs": dict(self.refs), "deliveries": [asdict(x) for x in self.deliveries],
            "deployments": [asdict(x) for x in self.deployments],
            "dispatches": list(self.dispatches),
        }

    def load(self, data: Mapping[str, Any]) -> None:
        self.owner, _, self.name = str(data["repository"]).partition("/")
        self.created_at = data["created_at"]
        self.next_id, self.next_number = int(data["next_id"]), int(data["next_number"])
        self.users = {u["login"].lower(): User(**u) for u in data["users"]}
        self.collaborators = list(data["collaborators"])
        self.labels = {x["id"]: Label(**x) for x in data["labels"]}
        self.issues = {x["number"]: Issue(**x) for x in data["issues"]}
        self.pulls = {x["number"]: Pull(**x) for x in data["pulls"]}
        self.comments = {x["id"]: Comment(**x) for x in data["comments"]}
        self.events = [Event(**x) for x in data["events"]]
        self.blobs = dict(data["blobs"])
        self.commits = {x["sha"]: Commit(**x) for x in data["commits"]}
        self.refs = dict(data["refs"])
        self.deliveries = [Delivery(**x) for x in data.get("deliveries", [])]
        self.dispatches = list(data.get("dispatches", []))
        self.deployments = [Deployment(**x) for x in data.get("deployments", [])]

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    # -- users --------------------------------------------------------------------------------
    def user(self, login: str) -> User:
        found = self.users.get(login.lower())
        if found is None:
            raise not_found()
        return found

    def can_push(self, login: str) -> bool:
        """Write access: the collaborators, and the Apps installed here with issues and
        contents write (the dispatcher's App, the workflow's GITHUB_TOKEN)."""
        user = self.users.get(login.lower())
        if user is not None and user.app is not None:
            return True
        return login.lower() in {c.lower() for c in self.collaborators}

    def require_push(self, actor: str) -> None:
        """403 as GitHub answers someone without write access (labels, state, others' text)."""
        if not self.can_push(actor):
            raise GitHubError(403, "Must have push access to repository")

    def deliver(self, event: str, action: str, issue: Issue, actor: str, *,
                comment: int | None = None, label: str | None = None) -> None:
        self.deliveries.append(Delivery(
            len(self.deliveries) + 1, event, action, issue.number, self._login(actor),
            starts_workflows=self._login(actor) != ACTIONS_BOT, comment=comment, label=label))

    def _login(self, login: str) -> str:
        return self.users[login.lower()].login

    # -- labels -------------------------------------------------------------------------------
    def find_label(self, name: str) -> Label | None:
        folded = name.casefold()
        return next((x for x in self.labels.values() if x.name.casefold() == folded), None)

    def label(self, name: str) -> Label:
        found = self.find_label(name)
        if found is None:
            raise not_found()
        return found

    def _check_label(self, name: str | None, color: str | None, description: str | None,
                     same: Label | None = None) -> None:
        if name is not None:
            if not name.strip():
                raise failed("Label", "name", "missing_field")
            other = self.find_label(name)
            if other is not None and other is not same:
                raise failed("Label", "name", "already_exists")
        if color is not None and not _COLOR.fullmatch(color):
            raise failed("Label", "color", "invalid")
        if description is not None and len(description) > 100:
            raise failed("Label", "description", "custom",
                         message="description is too long (maximum is 100 characters)")

    def create_label(self, name: str, color: str | None, description: str | None) -> Label:
        self._check_label(name, color, description)
        label = Label(self._id(), name, (color or "ededed").lower(), description)
        self.labels[label.id] = label
        return label

    def edit_label(self, name: str, new_name: str | None, color: str | None,
                   description: str | None) -> Label:
        label = self.label(name)
        self._check_label(new_name, color, description, same=label)
        if new_name is not None:
            label.name = new_name
        if color is not None:
            label.color = color.lower()
        if description is not None:
            label.description = description
        return label

    def delete_label(self, name: str) -> None:
        label = self.label(name)
        del self.labels[label.id]
        for issue in self.issues.values():
            if label.id in issue.labels:
                issue.labels.remove(label.id)

    def _label_for_issue(self, name: str) -> Label:
        """The repository's label of that name, created as GitHub does when it is missing."""
        return self.find_label(name) or self.create_label(name, None, None)

    # -- issues -------------------------------------------------------------------------------
    def issue(self, number: str | int) -> Issue:
        found = self.issues.get(int(number)) if str(number).isdigit() else None
        if found is None:
            raise not_found()
        return found

    def _event(self, actor: str, issue: Issue, event: str, **fields: Any) -> None:
        if event in {"labeled", "unlabeled", "closed", "reopened", "assigned", "unassigned",
                     "renamed"}:
            action = "edited" if event == "renamed" else event
            label = fields.get("label")
            self.deliver("issues", action, issue, actor,
                         label=label["name"] if isinstance(label, dict) else None)
        self.events.append(Event(self._id(), issue.number, event, actor, self.now, **fields))

    def _check_body(self, resource: str, body: str | None) -> None:
        if body is not None and len(body) > MAX_BODY:
            raise failed(resource, "body", "custom",
                         message=f"body is too long (maximum is {MAX_BODY} characters)")

    def _check_assignees(self, logins: Sequence[str]) -> list[str]:
        for login in logins:
            if login.lower() not in self.users or not self.can_push(login):
                raise failed("Issue", "assignees", "invalid", value=login)
        return [self._login(x) for x in logins]

    def create_issue(self, actor: str, title: str, body: str | None, labels: Sequence[str],
                     assignees: Sequence[str]) -> Issue:
        if not title.strip():
            raise failed("Issue", "title", "missing_field")
        self._check_body("Issue", body)
        push = self.can_push(actor)  # without push access, GitHub silently drops both
        logins = self._check_assignees(assignees) if push else []
        issue = Issue(self.next_number, self._id(), title, body, self._login(actor), self.now,
                      self.now)
        self.next_number += 1
        self.issues[issue.number] = issue
        self.deliver("issues", "opened", issue, actor)
        if push:
            self._set_labels(actor, issue, labels)
            self._set_assignees(actor, issue, logins)
        return issue

    def edit_issue(self, actor: str, issue: Issue, changes: Mapping[str, Any]) -> Issue:
        """Apply a PATCH: title, body, state, state_reason, labels, assignees (all optional)."""
        before = asdict(issue)
        if not self.can_push(actor):
            # Without write access: only the author may edit or close their own issue;
            # labels and assignees are silently dropped, as GitHub documents.
            if issue.user.lower() != actor.lower():
                raise GitHubError(403, "Must have push access to repository")
            changes = {k: v for k, v in changes.items() if k not in {"labels", "assignees"}}
        if "title" in changes:
            title = str(changes["title"])
            if not title.strip():
                raise failed("Issue", "title", "missing_field")
            if title != issue.title:
                self._event(actor, issue, "renamed", rename={"from": issue.title, "to": title})
                issue.title = title
        if "body" in changes:
            self._check_body("Issue", changes["body"])
            issue.body = changes["body"]
        if changes.get("labels") is not None:
            self._set_labels(actor, issue, changes["labels"])
        if changes.get("assignees") is not None:
            self._set_assignees(actor, issue, self._check_assignees(changes["assignees"]))
        self._change_state(actor, issue, changes.get("state"), changes.get("state_reason"))
        if asdict(issue) != before:
            issue.updated_at = self.now
            if issue.body != before["body"]:
                self.deliver("issues", "edited", issue, actor)
        return issue

    def _change_state(self, actor: str, issue: Issue, state: str | None,
                      reason: str | None) -> None:
        target = state or issue.state
        if state is not None and reason is not None and (reason == "reopened") != (state == "open"):
            raise failed("Issue", "state_reason", "invalid", value=reason)
        if target == "closed" and issue.state == "open":
            issue.state, issue.closed_at, issue.closed_by = "closed", self.now, actor
            issue.state_reason = reason or "completed"
            self._event(actor, issue, "closed", state_reason=issue.state_reason)
        elif target == "open" and issue.state == "closed":
            issue.state, issue.closed_at, issue.closed_by = "open", None, None
            issue.state_reason = "reopened"
            self._event(actor, issue, "reopened", state_reason="reopened")
        elif reason is not None and target == "closed" and reason != "reopened":
            issue.state_reason = reason

    def _set_labels(self, actor: str, issue: Issue, names: Iterable[str]) -> None:
        wanted: list[int] = []
        for name in names:
            label = self._label_for_issue(name)
            if label.id not in wanted:
                wanted.append(label.id)
        for label_id in [x for x in issue.labels if x not in wanted]:
            self._unlabel(actor, issue, self.labels[label_id])
        self.add_labels(actor, issue, [self.labels[x].name for x in wanted])

    def add_labels(self, actor: str, issue: Issue, names: Iterable[str]) -> None:
        for name in names:
            label = self._label_for_issue(name)
            if label.id not in issue.labels:
                issue.labels.append(label.id)
                issue.updated_at = self.now
                self._event(actor, issue, "labeled",
                            label={"name": label.name, "color": label.color})

    def set_labels(self, actor: str, issue: Issue, names: Iterable[str]) -> None:
        self._set_labels(actor, issue, names)

    def remove_label(self, actor: str, issue: Issue, name: str) -> None:
        label = self.find_label(name)
        if label is None or label.id not in issue.labels:
            raise not_found("Label does not exist")
        self._unlabel(actor, issue, label)

    def clear_labels(self, actor: str, issue: Issue) -> None:
        for label_id in list(issue.labels):
            self._unlabel(actor, issue, self.labels[label_id])

    def _unlabel(self, actor: str, issue: Issue, label: Label) -> None:
        issue.labels.remove(label.id)
        issue.updated_at = self.now
        self._event(actor, issue, "unlabeled", label={"name": label.name, "color": label.color})

    def _set_assignees(self, actor: str, issue: Issue, logins: Sequence[str]) -> None:
        self.remove_assignees(actor, issue, [x for x in issue.assignees if x not in logins])
        self.add_assignees(actor, issue, logins)

    def add_assignees(self, actor: str, issue: Issue, logins: Iterable[str]) -> None:
        """Add the ones who may be assigned; GitHub silently ignores the others."""
        for login in logins:
            if login.lower() in self.users and self.can_push(login):
                name = self._login(login)
                if name not in issue.assignees and len(issue.assignees) < 10:
                    issue.assignees.append(name)
                    issue.updated_at = self.now
                    self._event(actor, issue, "assigned", assignee=name)

    def remove_assignees(self, actor: str, issue: Issue, logins: Iterable[str]) -> None:
        for login in logins:
            name = next((x for x in issue.assignees if x.lower() == login.lower()), None)
            if name is not None:
                issue.assignees.remove(name)
                issue.updated_at = self.now
                self._event(actor, issue, "unassigned", assignee=name)

    def list_issues(self, *, state: str, labels: Sequence[str], since: datetime | None,
                    creator: str | None, assignee: str | None) -> list[Issue]:
        """The list endpoint's filters: labels are ANDed and compared case-insensitively."""
        wanted = {x.casefold() for x in labels}

        def keep(issue: Issue) -> bool:
            names = {self.labels[x].name.casefold() for x in issue.labels}
            assigned = {x.lower() for x in issue.assignees}
            updated = parse_time(issue.updated_at)
            return ((state == "all" or issue.state == state) and wanted <= names
                    and (since is None or (updated is not None and updated >= since))
                    and (creator is None or issue.user.lower() == creator.lower())
                    and (assignee is None
                         or (assignee == "none" and not assigned)
                         or (assignee == "*" and bool(assigned))
                         or assignee.lower() in assigned))

        return [issue for issue in self.issues.values() if keep(issue)]

    def events_of(self, issue: Issue) -> list[Event]:
        return [e for e in self.events if e.issue == issue.number]

    # -- comments -----------------------------------------------------------------------------
    def comment(self, comment_id: str | int) -> Comment:
        found = self.comments.get(int(comment_id)) if str(comment_id).isdigit() else None
        if found is None:
            raise not_found()
        return found

    def _check_comment(self, body: str | None) -> str:
        if body is None or not body.strip():
            raise failed("IssueComment", "body", "missing_field")
        self._check_body("IssueComment", body)
        return body

    def create_comment(self, actor: str, issue: Issue, body: str | None) -> Comment:
        comment = Comment(self._id(), issue.number, self._check_comment(body),
                          self._login(actor), self.now, self.now)
        self.comments[comment.id] = comment
        issue.comments += 1
        issue.updated_at = self.now
        self.deliver("issue_comment", "created", issue, actor, comment=comment.id)
        return comment

    def _require_author_or_push(self, actor: str, comment: Comment) -> None:
        if comment.user.lower() != actor.lower():
            self.require_push(actor)

    def edit_comment(self, comment: Comment, body: str | None, actor: str = BOT) -> Comment:
        self._require_author_or_push(actor, comment)
        text = self._check_comment(body)
        if text != comment.body:
            comment.body = text
            comment.updated_at = self.now
            # GitHub counts an edited comment as activity on its issue: updated_at moves.
            self.issues[comment.issue].updated_at = self.now
            self.deliver("issue_comment", "edited", self.issues[comment.issue], actor,
                         comment=comment.id)
        return comment

    def delete_comment(self, comment: Comment, actor: str = BOT) -> None:
        self._require_author_or_push(actor, comment)
        del self.comments[comment.id]
        issue = self.issues[comment.issue]
        issue.comments -= 1

    def comments_of(self, issue: Issue | None) -> list[Comment]:
        return [c for c in self.comments.values() if issue is None or c.issue == issue.number]

    # -- git: blobs, commits, refs ------------------------------------------------------------
    def _blob(self, data: bytes) -> str:
        sha = blob_sha(data)
        self.blobs[sha] = base64.b64encode(data).decode("ascii")
        return sha

    def blob(self, sha: str) -> bytes:
        return base64.b64decode(self.blobs[sha])

    def _commit(self, actor: str, message: str, tree: dict[str, str],
                parents: list[str]) -> Commit:
        seed = f"{tree_sha(tree)}\n{' '.join(parents)}\n{actor} {self.now}\n{message}"
        seed += f"\n{self.next_id}"  # two equal commits in one second still differ
        self._id()
        sha = hashlib.sha1(seed.encode()).hexdigest()  # noqa: S324
        commit = Commit(sha, message, dict(tree), parents, self.now, actor)
        self.commits[sha] = commit
        return commit

    def resolve(self, ref: str | None) -> tuple[str, Commit]:
        """A branch name, `heads/x`, `refs/heads/x` or a commit sha -> (ref name, commit)."""
        ref = ref or "main"
        for name in (ref, ref.removeprefix("refs/").removeprefix("heads/")):
            if f"heads/{name}" in self.refs:
                return name, self.commits[self.refs[f"heads/{name}"]]
        if ref in self.commits:
            return ref, self.commits[ref]
        raise not_found(f"No commit found for the ref {ref}")

    def branch(self, name: str) -> Commit:
        sha = self.refs.get(f"heads/{name}")
        if sha is None:
            raise not_found("Branch not found")
        return self.commits[sha]

    def put_file(self, actor: str, path: str, message: str, content: str, sha: str | None,
                 branch: str | None) -> tuple[bool, Commit]:
        """Create or update one file with one commit; (created?, the commit)."""
        name = branch or "main"
        if f"heads/{name}" not in self.refs:
            raise not_found(f"Branch {name} not found")
        head = self.branch(name)
        try:
            data = base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise GitHubError(422, "content is not valid Base64") from None
        path = path.strip("/")
        if not path or any(p == path or p.startswith(path + "/") or path.startswith(p + "/")
                           for p in head.tree if p != path):
            raise invalid_request(f"path {path!r} is a directory or lies inside a file")
        current = head.tree.get(path)
        if current is not None and sha is None:
            raise invalid_request('"sha" wasn\'t supplied.')
        if current is not None and sha != current:
            raise GitHubError(409, f"{path} does not match {sha}")
        tree = {**head.tree, path: self._blob(data)}
        commit = self._commit(actor, message, tree, [head.sha])
        self.refs[f"heads/{name}"] = commit.sha
        return current is None, commit

    def delete_file(self, actor: str, path: str, message: str, sha: str | None,
                    branch: str | None) -> Commit:
        name = branch or "main"
        if f"heads/{name}" not in self.refs:
            raise not_found(f"Branch {name} not found")
        head = self.branch(name)
        path = path.strip("/")
        if sha is None:
            raise invalid_request('"sha" wasn\'t supplied.')
        if path not in head.tree:
            raise not_found()
        if sha != head.tree[path]:
            raise GitHubError(409, f"{path} does not match {sha}")
        tree = {p: s for p, s in head.tree.items() if p != path}
        commit = self._commit(actor, message, tree, [head.sha])
        self.refs[f"heads/{name}"] = commit.sha
        return commit

    def create_ref(self, ref: str, sha: str) -> str:
        if not ref.startswith("refs/") or ref.count("/") < 2 or ref.endswith("/"):
            raise GitHubError(422, "Reference name is invalid")
        if sha not in self.commits:
            raise GitHubError(422, "Object does not exist")
        name = ref.removeprefix("refs/")
        if name in self.refs:
            raise GitHubError(422, "Reference already exists")
        self.refs[name] = sha
        return name

    def update_ref(self, name: str, sha: str, *, force: bool) -> str:
        name = name.removeprefix("refs/")
        if name not in self.refs:
            raise GitHubError(422, "Reference does not exist")
        if sha not in self.commits:
            raise GitHubError(422, "Object does not exist")
        if not force and self.refs[name] not in self.ancestors(sha):
            raise GitHubError(422, "Update is not a fast forward")
        self.refs[name] = sha
        return name

    def delete_ref(self, name: str) -> None:
        name = name.removeprefix("refs/")
        if name not in self.refs:
            raise GitHubError(422, "Reference does not exist")
        del self.refs[name]

    def create_commit(self, actor: str, message: str, tree: str,
                      parents: Sequence[str]) -> Commit:
        """POST /git/commits: a commit of an existing tree (any commit's, or the empty one)."""
        files = {} if tree == EMPTY_TREE else next(
            (dict(c.tree) for c in self.commits.values() if c.tree_sha == tree), None)
        if files is None:
            raise failed("Commit", "tree", "invalid", message="Tree SHA does not exist")
        for parent in parents:
            if parent not in self.commits:
                raise failed("Commit", "parents", "invalid",
                             message="Parent SHA does not exist or is not a commit object")
        return self._commit(actor, message, files, list(parents))

    def ancestors(self, sha: str) -> set[str]:
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.commits[current].parents)
        return seen

    # -- pull requests ------------------------------------------------------------------------
    def pull(self, number: str | int) -> Pull:
        found = self.pulls.get(int(number)) if str(number).isdigit() else None
        if found is None:
            raise not_found()
        return found

    def create_pull(self, actor: str, title: str, head: str, base: str, body: str | None,
                    draft: bool) -> Pull:
        owner, _, branch = head.rpartition(":")
        if not title.strip():
            raise failed("PullRequest", "title", "missing_field")
        if f"heads/{base}" not in self.refs:
            raise failed("PullRequest", "base", "invalid")
        if (owner and owner.lower() != self.owner.lower()) or f"heads/{branch}" not in self.refs:
            raise failed("PullRequest", "head", "invalid")
        if self.refs[f"heads/{branch}"] in self.ancestors(self.refs[f"heads/{base}"]):
            raise failed("PullRequest", None, "custom",
                         message=f"No commits between {base} and {branch}")
        for pull in self.pulls.values():
            same = pull.head == branch and pull.base == base
            if same and self.issues[pull.number].state == "open":
                raise failed("PullRequest", None, "custom",
                             message=f"A pull request already exists for {self.owner}:{branch}.")
        self._check_body("PullRequest", body)
        issue = Issue(self.next_number, self._id(), title, body, self._login(actor), self.now,
                      self.now)
        self.next_number += 1
        self.issues[issue.number] = issue
        self.deliver("issues", "opened", issue, actor)
        pull = Pull(issue.number, self._id(), branch, base, draft)
        self.pulls[pull.number] = pull
        return pull

    def merge_pull(self, actor: str, pull: Pull) -> None:
        """Merge as GitHub's "rebase and merge" would when `base` has not moved: the base
        branch takes the head's commits; the pull request is closed and merged."""
        issue = self.issues[pull.number]
        if issue.state != "open":
            raise GitHubError(405, "Pull Request is not mergeable")
        self.refs[f"heads/{pull.base}"] = self.refs[f"heads/{pull.head}"]
        pull.merged_at = self.now
        self._event(actor, issue, "merged")
        self._change_state(actor, issue, "closed", "completed")

    def create_deployment(self, actor: str, ref: str, environment: str,
                          description: str) -> Deployment:
        sha = self.refs.get(f"heads/{ref}") or ref
        if sha not in self.commits:
            raise failed("Deployment", "ref", "invalid")
        deployment = Deployment(self._id(), sha, ref, environment, description, actor,
                                self.now)
        self.deployments.append(deployment)
        return deployment

    def list_pulls(self, *, state: str, head: str | None, base: str | None) -> list[Pull]:
        out = []
        for pull in self.pulls.values():
            if state != "all" and self.issues[pull.number].state != state:
                continue
            if head is not None:
                owner, _, branch = head.rpartition(":")
                if (owner or self.owner).lower() != self.owner.lower() or branch != pull.head:
                    continue
            if base is not None and base != pull.base:
                continue
            out.append(pull)
        return out

    def diff_stats(self, pull: Pull) -> dict[str, int]:
        """commits, additions, deletions, changed_files of a pull request, as GitHub counts."""
        head, base = self.branch(pull.head), self.branch(pull.base)
        new = self.ancestors(head.sha) - self.ancestors(base.sha)
        paths = {p for p in {*head.tree, *base.tree} if head.tree.get(p) != base.tree.get(p)}
        additions = deletions = 0
        for path in paths:
            old = self.blob(base.tree[path]).decode("utf-8", "replace").splitlines() \
                if path in base.tree else []
            now = self.blob(head.tree[path]).decode("utf-8", "replace").splitlines() \
                if path in head.tree else []
            for line in difflib.unified_diff(old, now, lineterm="", n=0):
                if line.startswith("+") and not line.startswith("+++"):
                    additions += 1
                elif line.startswith("-") and not line.startswith("---"):
                    deletions += 1
        return {"commits": len(new), "additions": additions, "deletions": deletions,
                "changed_files": len(paths)}
