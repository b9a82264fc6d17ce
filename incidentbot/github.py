"""The incident repository over PyGithub: the only module that imports `github`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException
from github.Issue import Issue as GhIssue
from github.IssueComment import IssueComment as GhComment
from urllib3.util.retry import Retry

from incidentbot.errors import AuthFailed, NotFound, RateLimited, ServiceError
from incidentbot.ports import Comment, Issue
from incidentbot.settings import Settings

SERVICE = "GitHub"
# How far back to look for an issue a failed attempt may already have created.
_MARKER_WINDOW = timedelta(hours=1)


def connect(settings: Settings) -> GitHubTracker:
    """A tracker for `settings.repository`; raises MissingSetting if token or repo is unset."""
    settings.require("GITHUB_TOKEN", "GITHUB_REPOSITORY")
    spacing = settings.write_spacing or None
    client = Github(
        base_url=settings.github_api_url,
        auth=Auth.Token(settings.github_token or ""),
        # Reads retry on 5xx and rate limits (honouring Retry-After); POST and PATCH do not,
        # because a retried create can duplicate: create_issue retries itself, by marker.
        retry=GithubRetry(total=4, backoff_factor=0.5,
                          allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET"}),
        seconds_between_requests=None,
        seconds_between_writes=spacing,
        per_page=100,
        lazy=True,  # no GET of the repository before the first real call
    )
    return GitHubTracker(client, settings.repository or "")


def _error(exc: Exception, what: str) -> ServiceError:
    """Our error for a library exception, saying what we were doing."""
    if isinstance(exc, RateLimitExceededException):
        return RateLimited(SERVICE, float((exc.headers or {}).get("retry-after", 60)))
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else str(exc.data)
        if exc.status == 401:
            return AuthFailed(SERVICE, f"{what}: the token was refused ({message})")
        if exc.status == 404:
            return NotFound(SERVICE, f"{what}: not found")
        return ServiceError(SERVICE, f"{what}: HTTP {exc.status}: {message}")
    return ServiceError(SERVICE, f"{what}: {type(exc).__name__}")


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except (GithubException, requests.RequestException) as exc:
        raise _error(exc, what) from None


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, GithubException):
        return exc.status >= 500
    return isinstance(exc, requests.RequestException)


def _issue(gh: GhIssue) -> Issue:
    return Issue(
        number=gh.number, title=gh.title, body=gh.body or "", state=gh.state,
        labels=tuple(label.name for label in gh.labels),
        created_at=gh.created_at, updated_at=gh.updated_at, url=gh.html_url,
        author=gh.user.login if gh.user else None, closed_at=gh.closed_at,
    )


def _comment(gh: GhComment) -> Comment:
    return Comment(id=gh.id, body=gh.body or "", author=gh.user.login if gh.user else None,
                   created_at=gh.created_at, url=gh.html_url)


class GitHubTracker:
    """Issues, labels and comments of one repository."""

    def __init__(self, client: Github, repository: str, *,
                 sleep: Callable[[float], None] = time.sleep, attempts: int = 4) -> None:
        self._client = client
        self.repository = repository
        self._repo = client.get_repo(repository)
        self._sleep = sleep
        self._attempts = attempts

    def close(self) -> None:
        self._client.close()

    def get_issue(self, number: int) -> Issue:
        with _translated(f"issue #{number}"):
            return _issue(self._repo.get_issue(number))

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
                     marker: str) -> Issue:
        """Open an issue once: a retry after a failure first looks for the marker it left.

        `marker` must be unique to this request (it goes into the body as an HTML comment),
        so a create that reached GitHub but whose answer was lost is never made twice.
        """
        tagged = f"{body}\n\n<!-- incidentbot:request {marker} -->"
        created: Issue = self._write_once(
            lambda: _issue(self._repo.create_issue(title=title, body=tagged,
                                                   labels=list(labels))),
            lambda: self.find_by_marker(marker),
            f"opening issue {title!r}",
        )
        return created

    def comment(self, number: int, body: str) -> Comment:
        with _translated(f"commenting on #{number}"):
            return _comment(self._repo.get_issue(number).create_comment(body))

    def _write_once(self, write: Callable[[], Any], find: Callable[[], Any], what: str) -> Any:
        """Run a non-idempotent write; after a transient failure, look before writing again."""
        last: Exception | None = None
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(min(0.5 * 2**attempt, 8.0))
                found = find()
                if found is not None:
                    return found
            try:
                return write()
            except (GithubException, requests.RequestException) as exc:
                if not _transient(exc):
                    raise _error(exc, what) from None
                last = exc
        detail = _error(last, what) if last is not None else "no attempt made"
        raise ServiceError(SERVICE, f"gave up after {self._attempts} attempts: {detail}")
