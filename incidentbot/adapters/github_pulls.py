"""Files, branches, pull requests, reviewers and deployments over PyGithub: what postmortems,
drills and "what changed?" need, which no sync, `list` or sweep does. This and github.py are
the only modules that import `github`, and only inside these methods (PyGithub and requests
cost more than Python's start: every Actions run is a cold start)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from incidentbot.adapters.github_rest import GaveUp, HttpError, Unreachable, error, translated
from incidentbot.core.errors import ServiceError
from incidentbot.core.ports import Deployment, Pull
from incidentbot.core.settings import Settings

SERVICE = "GitHub"
_CHANGES_MAX = 200  # merges or deployments read per repository for "what changed?"
_ATTEMPTS = 5  # GithubRetry's total, plus the first (as the REST client's reads)


def pygithub(settings: Settings) -> Any:
    """A PyGithub client on the settings' API and token, retrying as the REST client does."""
    from github import Auth, Github, GithubRetry
    from urllib3.util.retry import Retry

    return Github(
        base_url=settings.github_api_url,
        auth=Auth.Token(settings.github_token or ""),
        # Reads retry on 5xx and rate limits (honouring Retry-After); POST and PATCH do not,
        # because a retried create can duplicate.
        retry=GithubRetry(total=_ATTEMPTS - 1, connect=1, backoff_factor=settings.retry_backoff,
                          allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET"}),
        seconds_between_requests=None,
        seconds_between_writes=settings.write_spacing or None,
        per_page=100,
        lazy=True,  # no GET of the repository before the first real call
    )


@contextmanager
def as_http() -> Iterator[None]:
    """PyGithub's and requests' exceptions as the REST client's, so one error path (and one
    retry policy, `_retry`) serves both clients."""
    import requests
    from github import GithubException

    try:
        yield
    except GithubException as exc:
        raise HttpError("", _url_of(exc), exc.status, exc.data, exc.headers or {}) from None
    except requests.RequestException as exc:
        from urllib3.exceptions import NewConnectionError

        request = getattr(exc, "request", None)
        url = str(getattr(request, "url", "") or "").split("?")[0]
        reason = getattr(exc.args[0] if exc.args else None, "reason", None)
        if isinstance(exc, requests.exceptions.RetryError):
            code = re.search(r"too many (\d{3}) error", str(exc))
            raise GaveUp(url, int(code.group(1)) if code else None) from None
        raise Unreachable(url, sent=not isinstance(reason, NewConnectionError),
                          timeout=isinstance(exc, requests.exceptions.Timeout)) from None


def _url_of(exc: BaseException) -> str:
    """The URL a failed PyGithub request went to, read from the frame of its Requester that
    raised (PyGithub does not say it)."""
    import traceback

    for frame, _line in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_name == "requestJsonAndCheck":
            url = frame.f_locals.get("url")
            base = getattr(frame.f_locals.get("self"), "base_url", "")
            if isinstance(url, str):
                whole = url if "://" in url else f"{base}{url}"
                return f"{frame.f_locals.get('verb', 'GET')} {whole.split('?')[0]}"
    return ""


@contextmanager
def _done(what: str) -> Iterator[None]:
    with translated(what), as_http():
        yield


class PullsAndFiles:
    """The tracker's PyGithub half (GitHubTracker inherits it); the client is built on first
    use."""

    repository: str
    _settings: Settings
    _pygithub: Any = None
    _retry: Callable[..., Any]

    def _gh(self) -> Any:
        if self._pygithub is None:
            self._pygithub = pygithub(self._settings)
        return self._pygithub

    def _repo(self, repository: str | None = None) -> Any:
        return self._gh().get_repo(repository or self.repository)  # lazy: no GET

    def _close_pygithub(self) -> None:
        if self._pygithub is not None:
            self._pygithub.close()

    # -- files and branches (postmortems, drills) ------------------------------------------------
    def read_file(self, path: str, ref: str) -> tuple[str, str] | None:
        """(text, blob sha) of `path` at `ref`, or None when it does not exist."""
        try:
            with as_http():
                found = self._repo().get_contents(path, ref=ref)
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise error(exc, f"reading {path}") from None
        except Unreachable as exc:
            raise error(exc, f"reading {path}") from None
        if isinstance(found, list):
            raise ServiceError(SERVICE, f"{path} is a directory")
        return found.decoded_content.decode("utf-8"), str(found.sha)

    def write_file(self, path: str, text: str, message: str, branch: str) -> bool:
        """Commit `text` to `path` on `branch` unless it is already there; True if written.
        PUT with the current sha is idempotent: a retry after success finds no change."""
        current = self.read_file(path, branch)
        if current is not None and current[0] == text:
            return False

        def put() -> None:
            with as_http():
                if current is None:
                    self._repo().create_file(path, message, text, branch=branch)
                else:
                    self._repo().update_file(path, message, text, current[1], branch=branch)
        self._retry(put, f"committing {path}")
        return True

    def ensure_branch(self, branch: str, base: str) -> None:
        """Create `branch` at `base`'s head unless it exists."""
        try:
            with as_http():
                self._repo().get_branch(branch)
            return
        except HttpError as exc:
            if exc.status != 404:
                raise error(exc, f"branch {branch}") from None
        with _done(f"creating branch {branch}"):
            sha = self._repo().get_branch(base).commit.sha
            try:
                with as_http():
                    self._repo().create_git_ref(f"refs/heads/{branch}", sha)
            except HttpError as exc:
                if exc.status != 422:  # made meanwhile by another run: fine
                    raise

    # -- pull requests and reviews (postmortems) -------------------------------------------
    def ensure_pull(self, head: str, base: str, title: str, body: str) -> str:
        """The open pull request from `head` to `base` (made if missing); its URL."""
        owner = self.repository.split("/")[0]
        with _done(f"pull request for {head}"):
            for pull in self._repo().get_pulls(state="all", head=f"{owner}:{head}", base=base):
                return str(pull.html_url)
            return str(self._repo().create_pull(title=title, body=body, head=head,
                                                base=base).html_url)

    def find_pull(self, head: str, base: str) -> Pull | None:
        """The pull request from `head` to `base` in any state (one call), or None."""
        owner = self.repository.split("/")[0]
        with _done(f"pull request for {head}"):
            for p in self._repo().get_pulls(state="all", head=f"{owner}:{head}", base=base):
                return Pull(number=p.number, url=p.html_url, state=p.state, title=p.title,
                            author=p.user.login if p.user else None,
                            assignees=tuple(a.login for a in p.assignees),
                            reviewers=tuple(r.login for r in p.requested_reviewers),
                            merged_at=p.merged_at)
        return None

    def request_reviewers(self, number: int, logins: Sequence[str]) -> None:
        """Ask for reviews on pull request `number` (asking twice is harmless)."""
        if logins:
            def ask() -> None:
                with as_http():
                    # Lazy: POST …/pulls/{n}/requested_reviewers with no GET first.
                    self._repo().get_pull(number).create_review_request(list(logins))
            self._retry(ask, f"requesting reviewers on #{number}")

    # -- "what changed?" (issue 14) -------------------------------------------------------------
    def merged_pulls(self, repository: str, since: datetime) -> list[Pull]:
        """Pull requests of `repository` merged since `since`: closed ones, most recently
        updated first, read until one was last updated before `since` (a page or two)."""
        out = []
        with _done(f"pull requests of {repository}"):
            pulls = self._repo(repository).get_pulls(state="closed", sort="updated",
                                                     direction="desc")
            for n, p in enumerate(pulls):
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
        with _done(f"deployments of {repository}"):
            for n, d in enumerate(self._repo(repository).get_deployments()):
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
