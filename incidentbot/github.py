"""The incident repository over PyGithub: the only module that imports `github`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException
from github.GithubObject import NotSet
from github.Issue import Issue as GhIssue
from github.IssueComment import IssueComment as GhComment
from urllib3.util.retry import Retry

from incidentbot.errors import AuthFailed, NotFound, RateLimited, ServiceError
from incidentbot.ports import Comment, Deployment, Issue, IssueEvent, LabelEvent, Pull
from incidentbot.settings import Settings

SERVICE = "GitHub"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree, in every repository
# How far back to look for an issue a failed attempt may already have created.
_MARKER_WINDOW = timedelta(hours=1)
_MAX_WAIT = 60.0  # seconds a write may wait for a rate limit before giving up
_CHANGES_MAX = 200  # merges or deployments read per repository for "what changed?"


def connect(settings: Settings) -> GitHubTracker:
    """A tracker for `settings.repository`; raises MissingSetting if token or repo is unset."""
    settings.require("GITHUB_TOKEN", "GITHUB_REPOSITORY")
    spacing = settings.write_spacing or None
    client = Github(
        base_url=settings.github_api_url,
        auth=Auth.Token(settings.github_token or ""),
        # Reads retry on 5xx and rate limits (honouring Retry-After); POST and PATCH do not,
        # because a retried create can duplicate: create_issue retries itself, by marker.
        retry=GithubRetry(total=_ATTEMPTS - 1, connect=1, backoff_factor=settings.retry_backoff,
                          allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET"}),
        seconds_between_requests=None,
        seconds_between_writes=spacing,
        per_page=100,
        lazy=True,  # no GET of the repository before the first real call
    )
    return GitHubTracker(client, settings.repository or "", login=settings.github_login,
                         backoff=settings.retry_backoff)


def _error(exc: Exception, what: str) -> ServiceError:
    """Our error for a library exception: what we were doing, where (the URL, so the
    repository), what GitHub said and what to do, in one line."""
    url = _url_of(exc)
    at = f" ({url})" if url else ""
    if isinstance(exc, RateLimitExceededException):
        return RateLimited(SERVICE, float((exc.headers or {}).get("retry-after", 60)))
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else str(exc.data)
        if exc.status == 401:
            return AuthFailed(SERVICE, f"{what}: the token was refused ({message}){at}: "
                              "check GITHUB_TOKEN")
        if exc.status == 404:
            return NotFound(SERVICE, f"{what}: not found{at}: check the number and "
                            "GITHUB_REPOSITORY, and that the token can see the repository")
        said = f": {message}" if message else ""
        return ServiceError(SERVICE, f"{what}: HTTP {exc.status}{said}{_reasons(exc.data)}{at}",
                            transient=exc.status >= 500)
    if isinstance(exc, requests.exceptions.RetryError):
        code = re.search(r"too many (\d{3}) error", str(exc))
        return ServiceError(SERVICE, f"{what}: GitHub answered "
                            f"{code.group(1) if code else 'an error'} {_ATTEMPTS} times for "
                            f"{url or 'the request'}; try again later "
                            "(https://www.githubstatus.com)", transient=True)
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        kind = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "cannot connect"
        local = "://127.0.0.1" in url or "://localhost" in url
        return ServiceError(SERVICE, f"{what}: {kind}: {url or 'GitHub'}: check "
                            "GITHUB_API_URL and the network" + (
                                " (a sandbox: is `incidentbot sandbox` running on that port?)"
                                if local else ""), transient=True)
    return ServiceError(SERVICE, f"{what}: {type(exc).__name__}{at}: {exc}")


# Attempts a read makes before a 5xx is reported (GithubRetry's total, plus the first).
_ATTEMPTS = 5


def _url_of(exc: BaseException) -> str:
    """The URL a failed request went to: requests says it; PyGithub does not, so it is read
    from the frame of its Requester that raised (empty when neither knows)."""
    request = getattr(exc, "request", None)
    if request is not None and getattr(request, "url", None):
        return str(request.url).split("?")[0]
    import traceback

    for frame, _line in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_name == "requestJsonAndCheck":
            url = frame.f_locals.get("url")
            base = getattr(frame.f_locals.get("self"), "base_url", "")
            if isinstance(url, str):
                whole = url if "://" in url else f"{base}{url}"
                return f"{frame.f_locals.get('verb', 'GET')} {whole.split('?')[0]}"
    return ""


def _reasons(data: Any) -> str:
    """GitHub's own reasons for a 422 ("Validation Failed"): errors[].message or code."""
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return ""
    said = []
    for error in data["errors"][:5]:
        if isinstance(error, dict):
            text = error.get("message") or " ".join(
                str(error[k]) for k in ("resource", "field", "code") if error.get(k))
            said.append(str(text))
        elif isinstance(error, str):
            said.append(error)
    return f" ({'; '.join(said)})" if said else ""


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except (GithubException, requests.RequestException) as exc:
        raise _error(exc, what) from None


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, GithubException):
        return exc.status >= 500
    return isinstance(exc, requests.RequestException) and not _never_connected(exc)


def _never_connected(exc: BaseException) -> bool:
    """No connection was made (refused, no such host): nothing was sent, and the client has
    already tried again once; more attempts only keep a person waiting."""
    from urllib3.exceptions import NewConnectionError

    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(exc, requests.exceptions.ConnectionError) and \
        isinstance(reason, NewConnectionError)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _app(raw: dict[str, Any]) -> str | None:
    app = raw.get("performed_via_github_app") or None
    return str(app.get("slug") or app.get("name")) if isinstance(app, dict) else None


def _issue(gh: GhIssue) -> Issue:
    # _rawData, not raw_data: the public property completes a listed object with a GET.
    return _issue_raw(gh._rawData)


def _issue_raw(raw: dict[str, Any]) -> Issue:
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
        state_reason=raw.get("state_reason"),
    )


def _comment(gh: GhComment) -> Comment:
    return _comment_raw(gh._rawData)


def _comment_raw(raw: dict[str, Any]) -> Comment:
    user = raw.get("user") or {}
    return Comment(id=int(raw["id"]), body=str(raw.get("body") or ""), author=user.get("login"),
                   created_at=_time(raw["created_at"]) or datetime.now(UTC),
                   url=str(raw.get("html_url") or ""),
                   association=str(raw.get("author_association") or "NONE"),
                   author_type=str(user.get("type") or "User"), app=_app(raw))


class GitHubTracker:
    """Issues, labels and comments of one repository."""

    def __init__(self, client: Github, repository: str, *,
                 sleep: Callable[[float], None] = time.sleep, attempts: int = 4,
                 login: str | None = None, backoff: float = 0.5) -> None:
        self._client = client
        self.repository = repository
        self._repo = client.get_repo(repository)
        self._sleep = sleep
        self._attempts = attempts
        self._login = login
        self._backoff = backoff
        self._etags: dict[str, tuple[str, Any]] = {}

    def login(self) -> str | None:
        """The login our token writes as, when known: from INCIDENTBOT_GITHUB_LOGIN, else from
        the author of our last write. Never from GET /user, which App installation tokens and
        the Actions GITHUB_TOKEN may not call (403): who we are is what our writes say."""
        return self._login

    def _learn(self, login: str | None) -> None:
        if login and self._login is None:
            self._login = login

    def close(self) -> None:
        self._client.close()

    def get_issue(self, number: int) -> Issue:
        with _translated(f"issue #{number}"):
            data, _ = self._conditional(f"{self._repo.url}/issues/{number}")
            return _issue_raw(data)

    def _conditional(self, url: str, params: dict[str, Any] | None = None,
                     ) -> tuple[Any, dict[str, Any]]:
        """GET with the ETag of the last answer: an unchanged resource answers 304, which
        costs nothing against the hourly budget (GitHub's conditional requests)."""
        key = url + "?" + "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
        cached = self._etags.get(key)
        headers = {"If-None-Match": cached[0]} if cached else None
        answer, data = self._repo._requester.requestJsonAndCheck("GET", url, parameters=params,
                                                                headers=headers)
        if data is None and cached is not None:
            return cached[1], answer
        etag = answer.get("etag")
        if etag and len(self._etags) < 1000:
            self._etags[key] = (etag, data)
        return data, answer

    def ensure_labels(self, labels: Sequence[tuple[str, str, str]]) -> list[str]:
        """Create the (name, color, description) labels the repository lacks; the created ones."""
        with _translated("labels"):
            existing = {label.name.lower() for label in self._repo.get_labels()}
            created = []
            for name, color, description in labels:
                if name.lower() not in existing:
                    self._repo.create_label(name, color, description)
                    created.append(name)
            return created

    def label_names(self) -> list[str]:
        with _translated("labels"):
            return [label.name for label in self._repo.get_labels()]

    def access(self) -> dict[str, bool]:
        """What the token may do here: read the repository, push, read contents."""
        with _translated(f"repository {self.repository}"):
            repo = self._client.get_repo(self.repository)
            permissions = repo.permissions
            can = {"read": True, "push": bool(permissions and permissions.push)}
        try:
            repo.get_contents("")
            can["contents"] = True
        except GithubException:
            can["contents"] = False
        return can

    def find_by_marker(self, marker: str) -> Issue | None:
        """The recent issue whose body carries `marker`, if an earlier attempt made one."""
        since = datetime.now(UTC) - _MARKER_WINDOW
        with _translated("recent issues"):
            for gh in self._repo.get_issues(state="all", sort="created", direction="desc"):
                if gh.created_at < since:
                    return None
                if marker in (gh.body or ""):
                    return _issue(gh)
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
            lambda: _issue(self._repo.create_issue(title=title, body=tagged,
                                                   labels=list(labels))),
            f"opening issue {title!r}",
            find=lambda: self.find_by_marker(marker),
        )
        self._learn(created.author)
        return created

    def list_incidents(self, *, since: datetime | None = None,
                       state: str = "all") -> list[Issue]:
        """Issues labelled `incident`, most recently updated first; only those updated at or
        after `since` when given (one page of 100 per call)."""
        with _translated("listing incidents"):
            kwargs: dict[str, Any] = {"state": state, "labels": ["incident"],
                                      "sort": "updated", "direction": "desc"}
            if since is not None:
                kwargs["since"] = since
            # A plain issue has no `pull_request` key: reading the attribute would make
            # PyGithub complete each listed issue with one more GET.
            return [_issue(gh) for gh in self._repo.get_issues(**kwargs)
                    if gh._rawData.get("pull_request") is None]

    def list_labelled(self, label: str, *, state: str = "all") -> list[Issue]:
        with _translated(f"issues labelled {label}"):
            return [_issue(gh) for gh in self._repo.get_issues(state=state, labels=[label])
                    if gh._rawData.get("pull_request") is None]

    def comments(self, number: int) -> list[Comment]:
        """Every comment, oldest first; the first page is asked conditionally (304: free)."""
        with _translated(f"comments of #{number}"):
            url = f"{self._repo.url}/issues/{number}/comments"
            data, answer = self._conditional(url, {"per_page": 100})
            out = [_comment_raw(c) for c in data or ()]
            if 'rel="next"' in str(answer.get("link", "")):
                out = [_comment(c) for c in self._lazy_issue(number).get_comments()]
            return out

    def label_events(self, number: int) -> list[LabelEvent]:
        with _translated(f"events of #{number}"):
            return [
                LabelEvent(id=e.id, action=e.event, label=e.label.name if e.label else "",
                           actor=e.actor.login if e.actor else None, created_at=e.created_at)
                for e in self._lazy_issue(number).get_events()
                if e.event in {"labeled", "unlabeled"}
            ]

    def events(self, number: int) -> list[IssueEvent]:
        """The issue's events the timeline shows (one call per 100 events)."""
        wanted = {"labeled", "unlabeled", "closed", "reopened", "assigned", "unassigned"}
        with _translated(f"events of #{number}"):
            out = []
            for e in self._lazy_issue(number).get_events():
                # _rawData: a `closed` event has no `label`, and reading e.label would make
                # PyGithub complete the event with one more GET.
                raw = e._rawData
                if raw.get("event") not in wanted:
                    continue
                label = str((raw.get("label") or {}).get("name") or "")
                if raw["event"] in {"assigned", "unassigned"} and raw.get("assignee"):
                    label = str(raw["assignee"].get("login") or "")
                out.append(IssueEvent(id=int(raw["id"]), kind=str(raw["event"]),
                                      created_at=_time(raw["created_at"]) or datetime.now(UTC),
                                      actor=(raw.get("actor") or {}).get("login"),
                                      label=label))
            return out

    # -- files, branches, pull requests (postmortems) -------------------------------------
    def default_branch(self) -> str:
        with _translated(f"repository {self.repository}"):
            return str(self._client.get_repo(self.repository).default_branch)

    def read_file(self, path: str, ref: str) -> tuple[str, str] | None:
        """(text, blob sha) of `path` at `ref`, or None when it does not exist."""
        try:
            found = self._repo.get_contents(path, ref=ref)
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise _error(exc, f"reading {path}") from None
        if isinstance(found, list):
            raise ServiceError(SERVICE, f"{path} is a directory")
        return found.decoded_content.decode("utf-8"), found.sha

    def write_file(self, path: str, text: str, message: str, branch: str) -> bool:
        """Commit `text` to `path` on `branch` unless it is already there; True if written.
        PUT with the current sha is idempotent: a retry after success finds no change."""
        current = self.read_file(path, branch)
        if current is not None and current[0] == text:
            return False
        def put() -> None:
            if current is None:
                self._repo.create_file(path, message, text, branch=branch)
            else:
                self._repo.update_file(path, message, text, current[1], branch=branch)
        self._retry(put, f"committing {path}")
        return True

    def ensure_branch(self, branch: str, base: str) -> None:
        """Create `branch` at `base`'s head unless it exists."""
        try:
            self._repo.get_branch(branch)
            return
        except GithubException as exc:
            if exc.status != 404:
                raise _error(exc, f"branch {branch}") from None
        with _translated(f"creating branch {branch}"):
            sha = self._repo.get_branch(base).commit.sha
            try:
                self._repo.create_git_ref(f"refs/heads/{branch}", sha)
            except GithubException as exc:
                if exc.status != 422:  # made meanwhile by another run: fine
                    raise

    def dispatch_workflow(self, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        """Start `workflow` (a file in .github/workflows) on `ref` with `inputs`."""
        with _translated(f"starting workflow {workflow}"):
            self._repo._requester.requestJsonAndCheck(
                "POST", f"{self._repo.url}/actions/workflows/{workflow}/dispatches",
                input={"ref": ref, "inputs": dict(inputs)})

    # -- git refs: the cross-process lease (lease.py) --------------------------------------
    def make_commit(self, message: str, parents: tuple[str, ...] = ()) -> str:
        """An empty commit (git's empty tree) carrying `message`; its sha. Never on a branch."""
        def write() -> str:
            _status, data = self._repo._requester.requestJsonAndCheck(
                "POST", f"{self._repo.url}/git/commits",
                input={"message": message, "tree": EMPTY_TREE, "parents": list(parents)})
            return str(data["sha"])
        sha: str = self._retry(write, "writing the lease commit")
        return sha

    def create_ref(self, ref: str, sha: str) -> bool:
        """Create `ref` at `sha`; False when it exists (GitHub's 422 makes this atomic)."""
        def write() -> bool:
            try:
                self._repo.create_git_ref(ref, sha)
            except GithubException as exc:
                if exc.status == 422 and "already exists" in str(exc.data):
                    return False
                raise
            return True
        created: bool = self._retry(write, f"creating {ref}")
        return created

    def get_ref(self, ref: str) -> str | None:
        try:
            return str(self._repo.get_git_ref(ref.removeprefix("refs/")).object.sha)
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise _error(exc, f"reading {ref}") from None

    def commit_message(self, sha: str) -> str:
        with _translated(f"reading commit {sha[:7]}"):
            return str(self._repo.get_git_commit(sha).message)

    def move_ref(self, ref: str, sha: str) -> bool:
        """Fast-forward `ref` to `sha`; False when GitHub refuses (not a fast forward, gone)."""
        def write() -> bool:
            try:
                _status, _data = self._repo._requester.requestJsonAndCheck(
                    "PATCH", f"{self._repo.url}/git/{ref}", input={"sha": sha, "force": False})
            except GithubException as exc:
                if exc.status == 422:
                    return False
                raise
            return True
        moved: bool = self._retry(write, f"moving {ref}")
        return moved

    def delete_ref(self, ref: str) -> None:
        def write() -> None:
            try:
                self._repo._requester.requestJsonAndCheck("DELETE", f"{self._repo.url}/git/{ref}")
            except GithubException as exc:
                if exc.status not in {404, 422}:  # already gone: what we wanted
                    raise
        self._retry(write, f"deleting {ref}")

    def ensure_pull(self, head: str, base: str, title: str, body: str) -> str:
        """The open pull request from `head` to `base` (made if missing); its URL."""
        owner = self.repository.split("/")[0]
        with _translated(f"pull request for {head}"):
            for pull in self._repo.get_pulls(state="all", head=f"{owner}:{head}", base=base):
                return str(pull.html_url)
            return str(self._repo.create_pull(title=title, body=body, head=head,
                                              base=base).html_url)

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        """Replace a comment's body (PATCH is idempotent: retried on a transient failure)."""
        def write() -> None:
            # Lazy: PATCH /repos/{o}/{r}/issues/comments/{id} with no GET first.
            self._lazy_issue(number).get_comment(comment_id).edit(body)
        self._retry(write, f"editing comment {comment_id}")

    def relabel(self, number: int, add: Sequence[str], remove: Sequence[str]) -> None:
        """Add and remove labels (each call idempotent); labels others set are left alone."""
        issue = self._lazy_issue(number)
        if add:
            self._retry(lambda: issue.add_to_labels(*add), f"labelling #{number}")
        for name in remove:
            def drop(name: str = name) -> None:
                try:
                    issue.remove_from_labels(name)
                except GithubException as exc:
                    if exc.status != 404:  # already gone: what we wanted
                        raise
            self._retry(drop, f"unlabelling #{number}")

    def set_state(self, number: int, state: str, *, reason: str | None = None) -> Issue:
        """Close (`closed`, as `completed` unless `reason` says `not_planned`) or reopen
        (`open`) an issue."""
        issue = self._lazy_issue(number)
        reason = reason or ("completed" if state == "closed" else "reopened")
        self._retry(lambda: issue.edit(state=state, state_reason=reason),
                    f"setting #{number} {state}")
        return self.get_issue(number)

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

        def write() -> Issue:
            url = f"{self._repo.url}/issues/{number}"
            headers, data = self._repo._requester.requestJsonAndCheck("PATCH", url, input=body)
            if headers.get("etag"):  # the issue as it now is: the next read can be a free 304
                self._etags[url + "?"] = (headers["etag"], data)
            return _issue_raw(data)
        updated: Issue = self._retry(write, f"updating #{number}")
        return updated

    def edit_issue(self, number: int, *, title: str | None = None,
                   body: str | None = None) -> Issue:
        """Change an issue's title or body (PATCH: idempotent, so retried)."""
        issue = self._lazy_issue(number)
        if title is not None or body is not None:
            self._retry(lambda: issue.edit(title=NotSet if title is None else title,
                                           body=NotSet if body is None else body),
                        f"editing #{number}")
        return self.get_issue(number)

    def _lazy_issue(self, number: int) -> GhIssue:
        return self._repo.get_issue(number)

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
            except RateLimitExceededException as exc:
                # Secondary limits answer writes with Retry-After: wait that long, within
                # reason (a run that would wait minutes reports it instead).
                wait = float((exc.headers or {}).get("retry-after", 60))
                if wait > _MAX_WAIT:
                    raise _error(exc, what) from None
                self._sleep(wait)
                last = exc
            except (GithubException, requests.RequestException) as exc:
                if not _transient(exc):
                    raise _error(exc, what) from None
                last = exc
        detail = _error(last, what) if last is not None else "no attempt made"
        raise ServiceError(SERVICE, f"gave up after {self._attempts} attempts: {detail}")

    def comment(self, number: int, body: str) -> Comment:
        """A new comment. Not retried blindly (a retry could post twice): callers put a
        marker in the body and look for it among the comments they read next time."""
        with _translated(f"commenting on #{number}"):
            made = _comment(self._lazy_issue(number).create_comment(body))
        self._learn(made.author)
        return made

    # -- postmortem reviews (issue 14) --------------------------------------------------------
    def find_pull(self, head: str, base: str) -> Pull | None:
        """The pull request from `head` to `base` in any state (one call), or None."""
        owner = self.repository.split("/")[0]
        with _translated(f"pull request for {head}"):
            for p in self._repo.get_pulls(state="all", head=f"{owner}:{head}", base=base):
                return Pull(number=p.number, url=p.html_url, state=p.state, title=p.title,
                            author=p.user.login if p.user else None,
                            assignees=tuple(a.login for a in p.assignees),
                            reviewers=tuple(r.login for r in p.requested_reviewers),
                            merged_at=p.merged_at)
        return None

    def assign(self, number: int, logins: Sequence[str]) -> None:
        """Assign people to an issue or pull request (GitHub ignores who may not be)."""
        if logins:
            self._retry(lambda: self._lazy_issue(number).add_to_assignees(*logins),
                        f"assigning #{number}")

    def request_reviewers(self, number: int, logins: Sequence[str]) -> None:
        """Ask for reviews on pull request `number` (asking twice is harmless)."""
        if logins:
            # Lazy: POST …/pulls/{n}/requested_reviewers with no GET first.
            pull = self._repo.get_pull(number)
            self._retry(lambda: pull.create_review_request(list(logins)),
                        f"requesting reviewers on #{number}")

    # -- "what changed?" (issue 14) -------------------------------------------------------------
    def merged_pulls(self, repository: str, since: datetime) -> list[Pull]:
        """Pull requests of `repository` merged since `since`: closed ones, most recently
        updated first, read until one was last updated before `since` (a page or two)."""
        out = []
        with _translated(f"pull requests of {repository}"):
            repo = self._client.get_repo(repository)  # lazy: the client is
            for n, p in enumerate(repo.get_pulls(state="closed", sort="updated",
                                                 direction="desc")):
                if (p.updated_at is not None and p.updated_at < since) or n >= _CHANGES_MAX:
                    break
                if p.merged_at is not None and p.merged_at >= since:
                    out.append(Pull(number=p.number, url=p.html_url, state=p.state,
                                    title=p.title, author=p.user.login if p.user else None,
                                    merged_at=p.merged_at))
        return out

    def deployments(self, repository: str, since: datetime) -> list[Deployment]:
        """Deployments of `repository` made since `since`, newest first."""
        out = []
        with _translated(f"deployments of {repository}"):
            repo = self._client.get_repo(repository)  # lazy: the client is
            for n, d in enumerate(repo.get_deployments()):
                if d.created_at is None:
                    continue
                if d.created_at < since or n >= _CHANGES_MAX:
                    break
                out.append(Deployment(id=d.id, ref=d.ref, sha=d.sha,
                                      environment=d.environment or "",
                                      description=d.description or "",
                                      creator=d.creator.login if d.creator else None,
                                      created_at=d.created_at))
        return out

