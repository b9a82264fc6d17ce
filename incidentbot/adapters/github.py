"""The incident repository: issues, labels, comments, events and the lease's git refs over our
small REST client (github_rest.py); files, branches and pull requests over PyGithub, imported
only when one of those is used (github_pulls.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from incidentbot.adapters.github_pulls import PullsAndFiles
from incidentbot.adapters.github_rest import (
    MAX_WAIT,
    SERVICE,
    GaveUp,
    HttpError,
    Rest,
    Unreachable,
    error,
    translated,
)
from incidentbot.core.errors import ServiceError
from incidentbot.core.ports import Comment, Issue, IssueEvent, LabelEvent
from incidentbot.core.settings import Settings

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree, in every repository
# How far back to look for an issue a failed attempt may already have created.
_MARKER_WINDOW = timedelta(hours=1)


def connect(settings: Settings) -> GitHubTracker:
    """A tracker for `settings.repository`; raises MissingSetting if token or repo is unset."""
    settings.require("GITHUB_TOKEN", "GITHUB_REPOSITORY")
    return GitHubTracker(settings, login=settings.github_login, backoff=settings.retry_backoff)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _app(raw: dict[str, Any]) -> str | None:
    app = raw.get("performed_via_github_app") or None
    return str(app.get("slug") or app.get("name")) if isinstance(app, dict) else None


def _login(raw: Any) -> str | None:
    return str(raw["login"]) if isinstance(raw, dict) and raw.get("login") else None


def _issue(raw: dict[str, Any]) -> Issue:
    """Our record from GitHub's JSON for an issue (a response or a listed item)."""
    user = raw.get("user") or {}
    return Issue(
        number=int(raw["number"]), title=str(raw.get("title") or ""),
        body=str(raw.get("body") or ""), state=str(raw.get("state") or "open"),
        labels=tuple(str(label["name"]) for label in raw.get("labels") or ()),
        created_at=_time(raw["created_at"]) or datetime.now(UTC),
        updated_at=_time(raw["updated_at"]) or datetime.now(UTC),
        url=str(raw.get("html_url") or ""), author=user.get("login"),
        closed_at=_time(raw.get("closed_at")),
        association=str(raw.get("author_association") or "NONE"),
        author_type=str(user.get("type") or "User"), app=_app(raw),
        state_reason=raw.get("state_reason"), comments=int(raw.get("comments", -1)),
        pull=raw.get("pull_request") is not None,
    )


def _comment(raw: dict[str, Any]) -> Comment:
    user = raw.get("user") or {}
    return Comment(id=int(raw["id"]), body=str(raw.get("body") or ""), author=user.get("login"),
                   created_at=_time(raw["created_at"]) or datetime.now(UTC),
                   url=str(raw.get("html_url") or ""),
                   association=str(raw.get("author_association") or "NONE"),
                   author_type=str(user.get("type") or "User"), app=_app(raw))


class GitHubTracker(PullsAndFiles):
    """Issues, labels and comments of one repository."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep,
                 attempts: int = 4, login: str | None = None, backoff: float = 0.5) -> None:
        self._settings = settings
        self.repository = settings.repository or ""
        self._sleep = sleep
        # The client sleeps through the tracker, so a test's `tracker._sleep` reaches it.
        self._rest = Rest(settings.github_api_url, settings.github_token or "",
                          backoff=backoff, write_spacing=settings.write_spacing or None,
                          sleep=lambda seconds: self._sleep(seconds))
        self._at = f"/repos/{self.repository}"
        self._attempts = attempts
        self._login = login
        self._backoff = backoff

    def login(self) -> str | None:
        """The login our token writes as, when known: from INCIDENTBOT_GITHUB_LOGIN, else from
        the author of our last write. Never from GET /user, which App installation tokens and
        the Actions GITHUB_TOKEN may not call (403): who we are is what our writes say."""
        return self._login

    def whoami(self) -> str | None:
        """The login, asking GitHub (`GET /user`) when no write told it yet: for a person's
        token only (the CLI's, on a laptop); App and Actions tokens are refused (None)."""
        if self._login is None:
            try:
                self._learn(_login(self._rest.get("/user")))
            except (HttpError, Unreachable, GaveUp):
                return None
        return self._login

    def _learn(self, login: str | None) -> None:
        if login and self._login is None:
            self._login = login

    def close(self) -> None:
        self._rest.close()
        self._close_pygithub()

    # -- issues -----------------------------------------------------------------------------
    def get_issue(self, number: int) -> Issue:
        with translated(f"issue #{number}"):
            return _issue(self._rest.conditional(f"{self._at}/issues/{number}").data)

    def find_by_marker(self, marker: str) -> Issue | None:
        """The recent issue whose body carries `marker`, if an earlier attempt made one."""
        since = datetime.now(UTC) - _MARKER_WINDOW
        with translated("recent issues"):
            for raw in self._rest.pages(f"{self._at}/issues", {
                    "state": "all", "sort": "created", "direction": "desc"}):
                issue = _issue(raw)
                if issue.created_at < since:
                    return None
                if marker in issue.body:
                    return issue
        return None

    def create_issue(self, title: str, body: str, labels: Sequence[str], *,
                     marker: str, repeat: bool = True) -> Issue:
        """Open an issue once: a retry after a failure first looks for the marker it left.

        `marker` must be unique to this request (it goes into the body as an HTML comment),
        so a create that reached GitHub but whose answer was lost is never made twice.
        `repeat`: this request may have been made before (a resumed job): look first.
        """
        tagged = f"{body}\n\n<!-- incidentbot:request {marker} -->"
        found = self.find_by_marker(marker) if repeat else None
        if found is not None:
            return found
        created: Issue = self._retry(
            lambda: _issue(self._rest.request("POST", f"{self._at}/issues", body={
                "title": title, "body": tagged, "labels": list(labels)}).data),
            f"opening issue {title!r}",
            find=lambda: self.find_by_marker(marker),
        )
        self._learn(created.author)
        return created

    def list_incidents(self, *, since: datetime | None = None,
                       state: str = "all") -> list[Issue]:
        """Issues labelled `incident`, most recently updated first; only those updated at or
        after `since` when given."""
        params = {"state": state, "labels": "incident", "sort": "updated", "direction": "desc"}
        if since is not None:
            params["since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with translated("listing incidents"):
            return [_issue(raw) for raw in self._rest.pages(f"{self._at}/issues", params)
                    if raw.get("pull_request") is None]

    def list_labelled(self, label: str, *, state: str = "all") -> list[Issue]:
        with translated(f"issues labelled {label}"):
            return [_issue(raw) for raw in self._rest.pages(
                f"{self._at}/issues", {"state": state, "labels": label})
                if raw.get("pull_request") is None]

    def update_issue(self, number: int, *, labels: Sequence[str] | None = None,
                     state: str | None = None) -> Issue:
        """One PATCH of the labels (the whole set) and the state; the issue as GitHub now
        has it. Idempotent, so retried."""
        body: dict[str, Any] = {}
        if labels is not None:
            body["labels"] = list(labels)
        if state is not None:
            body["state"] = state
            body["state_reason"] = "completed" if state == "closed" else "reopened"
        return self._patch_issue(number, body, f"updating #{number}")

    def _patch_issue(self, number: int, body: dict[str, Any], what: str) -> Issue:
        path = f"{self._at}/issues/{number}"

        def write() -> Issue:
            answer = self._rest.request("PATCH", path, body=body)
            # The issue as it now is: the next read can be a free 304.
            self._rest.remember(self._rest.url(path), answer)
            return _issue(answer.data)
        updated: Issue = self._retry(write, what)
        return updated

    def set_state(self, number: int, state: str, *, reason: str | None = None) -> Issue:
        """Close (`closed`, as `completed` unless `reason` says `not_planned`) or reopen
        (`open`) an issue."""
        reason = reason or ("completed" if state == "closed" else "reopened")
        return self._patch_issue(number, {"state": state, "state_reason": reason},
                                 f"setting #{number} {state}")

    def edit_issue(self, number: int, *, title: str | None = None,
                   body: str | None = None) -> Issue:
        """Change an issue's title or body (PATCH: idempotent, so retried)."""
        change = {k: v for k, v in (("title", title), ("body", body)) if v is not None}
        if not change:
            return self.get_issue(number)
        return self._patch_issue(number, change, f"editing #{number}")

    def relabel(self, number: int, add: Sequence[str], remove: Sequence[str]) -> None:
        """Add and remove labels (each call idempotent); labels others set are left alone."""
        path = f"{self._at}/issues/{number}/labels"
        if add:
            self._retry(lambda: self._rest.request("POST", path, body={"labels": list(add)}),
                        f"labelling #{number}")
        for name in remove:
            def drop(name: str = name) -> None:
                try:
                    self._rest.request("DELETE", f"{path}/{quote(name, safe='')}")
                except HttpError as exc:
                    if exc.status != 404:  # already gone: what we wanted
                        raise
            self._retry(drop, f"unlabelling #{number}")

    def assign(self, number: int, logins: Sequence[str]) -> tuple[str, ...]:
        """Assign people to an issue or pull request, and return who is assigned now.

        https://docs.github.com/en/rest/issues/assignees#add-assignees-to-an-issue: users
        who may not be assigned (no push access) are silently ignored, so the answer is
        the only way to know whether someone was."""
        if not logins:
            return ()
        answer = self._retry(lambda: self._rest.request(
            "POST", f"{self._at}/issues/{number}/assignees",
            body={"assignees": list(logins)}).data, f"assigning #{number}")
        found = answer.get("assignees") if isinstance(answer, dict) else None
        return tuple(str(a.get("login", "")) for a in found or ())

    # -- comments and events ------------------------------------------------------------------
    def comments(self, number: int) -> list[Comment]:
        """Every comment, oldest first; the first page is asked conditionally (304: free)."""
        path = f"{self._at}/issues/{number}/comments"
        with translated(f"comments of #{number}"):
            first = self._rest.conditional(path, {"per_page": 100})
            out = [_comment(c) for c in first.data or ()]
            following = first.next_url
            while following:
                page = self._rest.request("GET", following)
                out += [_comment(c) for c in page.data or ()]
                following = page.next_url
            return out

    def comment(self, number: int, body: str) -> Comment:
        """A new comment. Not retried blindly (a retry could post twice): callers put a
        marker in the body and look for it among the comments they read next time."""
        with translated(f"commenting on #{number}"):
            made = _comment(self._rest.request(
                "POST", f"{self._at}/issues/{number}/comments", body={"body": body}).data)
        self._learn(made.author)
        return made

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        """Replace a comment's body (PATCH is idempotent: retried on a transient failure)."""
        self._retry(lambda: self._rest.request(
            "PATCH", f"{self._at}/issues/comments/{comment_id}", body={"body": body}),
            f"editing comment {comment_id}")

    def _events(self, number: int) -> list[dict[str, Any]]:
        return list(self._rest.pages(f"{self._at}/issues/{number}/events"))

    def label_events(self, number: int) -> list[LabelEvent]:
        """The events that change what the labels and the state say (labeled, unlabeled,
        closed, reopened), each with its actor: who made each change of an incident."""
        with translated(f"events of #{number}"):
            return [LabelEvent(id=int(e["id"]), action=str(e["event"]),
                               label=str((e.get("label") or {}).get("name") or ""),
                               actor=_login(e.get("actor")),
                               created_at=_time(e["created_at"]) or datetime.now(UTC))
                    for e in self._events(number)
                    if e.get("event") in {"labeled", "unlabeled", "closed", "reopened"}]

    def events(self, number: int) -> list[IssueEvent]:
        """The issue's events the timeline shows (one call per 100 events)."""
        wanted = {"labeled", "unlabeled", "closed", "reopened", "assigned", "unassigned"}
        with translated(f"events of #{number}"):
            out = []
            for e in self._events(number):
                if e.get("event") not in wanted:
                    continue
                label = str((e.get("label") or {}).get("name") or "")
                if e["event"] in {"assigned", "unassigned"} and _login(e.get("assignee")):
                    label = _login(e.get("assignee")) or ""
                out.append(IssueEvent(id=int(e["id"]), kind=str(e["event"]),
                                      created_at=_time(e["created_at"]) or datetime.now(UTC),
                                      actor=_login(e.get("actor")), label=label))
            return out

    # -- the repository -----------------------------------------------------------------------
    def ensure_labels(self, labels: Sequence[tuple[str, str, str]]) -> list[str]:
        """Create the (name, color, description) labels the repository lacks; the created ones."""
        existing = {name.lower() for name in self.label_names()}
        created = []
        with translated("labels"):
            for name, color, description in labels:
                if name.lower() not in existing:
                    self._rest.request("POST", f"{self._at}/labels", body={
                        "name": name, "color": color, "description": description})
                    created.append(name)
        return created

    def label_names(self) -> list[str]:
        with translated("labels"):
            return [str(label["name"]) for label in self._rest.pages(f"{self._at}/labels")]

    def access(self) -> dict[str, bool]:
        """What the token may do here: read the repository, push, read contents."""
        with translated(f"repository {self.repository}"):
            permissions = self._rest.get(self._at).get("permissions") or {}
        can = {"read": True, "push": bool(permissions.get("push"))}
        try:
            self._rest.get(f"{self._at}/contents/")
            can["contents"] = True
        except (HttpError, Unreachable):
            can["contents"] = False
        return can

    def default_branch(self) -> str:
        with translated(f"repository {self.repository}"):
            return str(self._rest.get(self._at)["default_branch"])

    def dispatch_workflow(self, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        """Start `workflow` (a file in .github/workflows) on `ref` with `inputs`."""
        with translated(f"starting workflow {workflow}"):
            self._rest.request("POST", f"{self._at}/actions/workflows/{workflow}/dispatches",
                               body={"ref": ref, "inputs": dict(inputs)})

    # -- git refs: the cross-process turns (turns.py) --------------------------------------
    def make_commit(self, message: str, parents: tuple[str, ...] = ()) -> str:
        """An empty commit (git's empty tree) carrying `message`; its sha. Never on a branch."""
        sha: str = self._retry(lambda: str(self._rest.request(
            "POST", f"{self._at}/git/commits", body={
                "message": message, "tree": EMPTY_TREE, "parents": list(parents)}).data["sha"]),
            "writing the claim commit")
        return sha

    def create_ref(self, ref: str, sha: str) -> bool:
        """Create `ref` at `sha`; False when it exists (GitHub's 422 makes this atomic)."""
        def write() -> bool:
            try:
                self._rest.request("POST", f"{self._at}/git/refs", body={"ref": ref, "sha": sha})
            except HttpError as exc:
                if exc.status == 422 and "already exists" in str(exc.data):
                    return False
                raise
            return True
        created: bool = self._retry(write, f"creating {ref}")
        return created

    def get_ref(self, ref: str) -> str | None:
        try:
            data = self._rest.get(f"{self._at}/git/ref/{ref.removeprefix('refs/')}")
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise error(exc, f"reading {ref}") from None
        except Unreachable as exc:
            raise error(exc, f"reading {ref}") from None
        return str(data["object"]["sha"])

    def commit_message(self, sha: str) -> str:
        with translated(f"reading commit {sha[:7]}"):
            return str(self._rest.get(f"{self._at}/git/commits/{sha}")["message"])

    def move_ref(self, ref: str, sha: str) -> bool:
        """Fast-forward `ref` to `sha`; False when GitHub refuses (not a fast forward, gone)."""
        def write() -> bool:
            try:
                self._rest.request("PATCH", f"{self._at}/git/{ref}",
                                   body={"sha": sha, "force": False})
            except HttpError as exc:
                if exc.status == 422:
                    return False
                raise
            return True
        moved: bool = self._retry(write, f"moving {ref}")
        return moved

    def matching_refs(self, prefix: str) -> dict[str, str]:
        """Every ref whose full name starts with `prefix` (refs/...), with the sha it names."""
        with translated(f"listing {prefix}"):
            return {str(r["ref"]): str(r["object"]["sha"]) for r in self._rest.pages(
                f"{self._at}/git/matching-refs/{prefix.removeprefix('refs/')}")}

    # -- writes tried again -------------------------------------------------------------------
    def _retry(self, write: Callable[[], Any], what: str, *,
               find: Callable[[], Any] | None = None) -> Any:
        """A write tried again after a transient failure. For a write that is not idempotent,
        `find` looks for what an earlier attempt may have done before writing again."""
        last: Exception | None = None
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(min(self._backoff * 2**attempt, 8.0))
                found = find() if find is not None else None
                if found is not None:
                    return found
            try:
                return write()
            except HttpError as exc:
                wait = exc.retry_after
                if wait is not None:
                    # Secondary limits answer writes with Retry-After: wait that long, within
                    # reason (a run that would wait minutes reports it instead).
                    if wait > MAX_WAIT:
                        raise error(exc, what) from None
                    self._sleep(wait)
                elif exc.status < 500:
                    raise error(exc, what) from None
                last = exc
            except Unreachable as exc:
                if not exc.sent:  # nothing reached GitHub; waiting only keeps a person waiting
                    raise error(exc, what) from None
                last = exc
            except GaveUp as exc:  # a read or an idempotent write, already tried again
                raise error(exc, what) from None
        detail = error(last, what) if last is not None else "no attempt made"
        raise ServiceError(SERVICE, f"gave up after {self._attempts} attempts: {detail}")
