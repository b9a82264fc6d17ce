"""The GitHub emulator's world: its records and the rules GitHub applies to them (no HTTP here).

Times are ISO 8601 strings at seconds precision in UTC ("2026-11-22T13:41:00Z"), so they
sort as text and serialise as they are. Every record is a dataclass whose fields are JSON
types, so `dump()` is `asdict` and `load()` is the constructor.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from incidentbot.sandbox.github_git_state import GitStore
from incidentbot.sandbox.github_records import (
    ACTIONS_BOT,
    APP_BOT,
    APP_SLUG,
    BOT,
    COLOR,
    DEFAULT_LABELS,
    MAX_BODY,
    OUTSIDER,
    PEOPLE,
    README,
    Comment,
    Commit,
    Delivery,
    Deployment,
    Event,
    GitHubError,
    Issue,
    Label,
    Pull,
    User,
    failed,
    not_found,
    parse_time,
)


# -- the world ----------------------------------------------------------------------------------
class Store(GitStore):
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
        if color is not None and not COLOR.fullmatch(color):
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
