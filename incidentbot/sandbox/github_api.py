"""The GitHub REST API subset incidentbot uses: routing, auth, rate limits, ETags, pagination.

The records and the rules GitHub applies to them live in `github_state`; this module turns
requests into calls on that store and the results into the JSON shapes of GitHub's OpenAPI
description (`components/schemas/issue`, `label`, `issue-comment`, …). Every absolute URL
it writes starts at the request's `base_url`, because PyGithub asserts that they do.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from incidentbot.sandbox.github_state import (
    ACTIONS_BOT,
    BOT,
    DOCS,
    Comment,
    Commit,
    Deployment,
    Event,
    GitHubError,
    Issue,
    Label,
    Pull,
    Store,
    failed,
    invalid_request,
    iso,
    not_found,
    parse_time,
    tree_sha,
)
from incidentbot.sandbox.http import Request, Response

RATE_LIMIT = 5000
ACTIONS_RATE_LIMIT = 1000  # the Actions GITHUB_TOKEN's hourly budget per repository
_R = "/repos/{owner}/{repo}"
# Every route the emulator serves: (method, path template, handler), in matching order
# (literal segments before variables). Templates and parameter names are those of GitHub's
# OpenAPI description, so the call log and fault rules name operations as GitHub's docs do.
_TABLE: tuple[tuple[str, str, str], ...] = (
    ("GET", "/rate_limit", "rate_limit"),
    ("GET", "/user", "get_user"),
    ("GET", "/users/{username}", "get_a_user"),
    ("GET", _R, "get_repo"),
    ("GET", f"{_R}/issues", "list_issues"),
    ("POST", f"{_R}/issues", "create_issue"),
    ("GET", f"{_R}/issues/comments", "repo_comments"),
    ("GET", f"{_R}/issues/comments/{{comment_id}}", "get_comment"),
    ("PATCH", f"{_R}/issues/comments/{{comment_id}}", "edit_comment"),
    ("DELETE", f"{_R}/issues/comments/{{comment_id}}", "delete_comment"),
    ("GET", f"{_R}/issues/events/{{event_id}}", "get_event"),
    ("GET", f"{_R}/issues/{{issue_number}}", "get_issue"),
    ("PATCH", f"{_R}/issues/{{issue_number}}", "edit_issue"),
    ("GET", f"{_R}/issues/{{issue_number}}/comments", "issue_comments"),
    ("POST", f"{_R}/issues/{{issue_number}}/comments", "create_comment"),
    ("GET", f"{_R}/issues/{{issue_number}}/events", "events"),
    ("GET", f"{_R}/issues/{{issue_number}}/timeline", "timeline"),
    ("GET", f"{_R}/issues/{{issue_number}}/labels", "issue_labels"),
    ("POST", f"{_R}/issues/{{issue_number}}/labels", "add_labels"),
    ("PUT", f"{_R}/issues/{{issue_number}}/labels", "set_labels"),
    ("DELETE", f"{_R}/issues/{{issue_number}}/labels", "clear_labels"),
    ("DELETE", f"{_R}/issues/{{issue_number}}/labels/{{name}}", "remove_label"),
    ("POST", f"{_R}/issues/{{issue_number}}/assignees", "add_assignees"),
    ("DELETE", f"{_R}/issues/{{issue_number}}/assignees", "remove_assignees"),
    ("GET", f"{_R}/labels", "list_labels"),
    ("POST", f"{_R}/labels", "create_label"),
    ("GET", f"{_R}/labels/{{name}}", "get_label"),
    ("PATCH", f"{_R}/labels/{{name}}", "edit_label"),
    ("DELETE", f"{_R}/labels/{{name}}", "delete_label"),
    ("GET", f"{_R}/contents/{{path}}", "get_contents"),
    ("PUT", f"{_R}/contents/{{path}}", "put_contents"),
    ("DELETE", f"{_R}/contents/{{path}}", "delete_contents"),
    ("GET", f"{_R}/branches/{{branch}}", "get_branch"),
    ("GET", f"{_R}/git/ref/{{ref}}", "get_ref"),
    ("POST", f"{_R}/git/refs", "create_ref"),
    ("PATCH", f"{_R}/git/refs/{{ref}}", "update_ref"),
    ("DELETE", f"{_R}/git/refs/{{ref}}", "delete_ref"),
    ("POST", f"{_R}/git/commits", "create_commit"),
    ("GET", f"{_R}/git/commits/{{commit_sha}}", "get_commit"),
    ("POST", f"{_R}/actions/workflows/{{workflow_id}}/dispatches", "dispatch_workflow"),
    ("GET", f"{_R}/pulls", "list_pulls"),
    ("POST", f"{_R}/pulls", "create_pull"),
    ("GET", f"{_R}/pulls/{{pull_number}}", "get_pull"),
    # Postmortem reviews (issue 14): reviewers requested on the review's pull request.
    ("POST", f"{_R}/pulls/{{pull_number}}/requested_reviewers", "request_reviewers"),
    # "What changed?" (issue 14): a service repository's deployments.
    ("GET", f"{_R}/deployments", "list_deployments"),
)
ROUTES: tuple[tuple[str, str], ...] = tuple((m, t) for m, t, _ in _TABLE)


def _pattern(template: str) -> re.Pattern[str]:
    out = re.escape(template)
    out = out.replace(re.escape("/{path}"), "(?:/(?P<path>.*))?")  # "" is the root directory
    for name in ("branch", "ref"):
        out = out.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>.+)")
    out = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", out)
    return re.compile(out)


_PATTERNS = [(m, t, _pattern(t)) for m, t, _ in _TABLE]
_HANDLER_NAMES = {(m, t): f"_{h}" for m, t, h in _TABLE}


def match(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """(template, decoded path parameters) of the route serving this request, if any."""
    if path != "/" and not re.search(r"/contents/?$", path):
        path = path.rstrip("/")
    for verb, template, pattern in _PATTERNS:
        found = pattern.fullmatch(path)
        if verb == method and found:
            params = {k: urllib.parse.unquote(v or "") for k, v in found.groupdict().items()}
            return template, params
    return None


# -- request bodies: GitHub's schema checks, in its words ---------------------------------------
def _wrong(key: str, value: Any, expected: str) -> GitHubError:
    return invalid_request(f"For 'properties/{key}', {json.dumps(value)} is not {expected}.")


def _str(body: Mapping[str, Any], key: str, *, required: bool = False,
         nullable: bool = False) -> str | None:
    if key not in body:
        if required:
            raise invalid_request(f'"{key}" wasn\'t supplied.')
        return None
    value = body[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _wrong(key, value, "a string" + (" or null" if nullable else ""))
    return value


def _enum(body: Mapping[str, Any], key: str, allowed: Sequence[str]) -> str | None:
    value = _str(body, key, nullable=True)
    if value is not None and value not in allowed:
        raise invalid_request(f"For 'properties/{key}', {json.dumps(value)} is not one of "
                              f"{', '.join(allowed)}.")
    return value


def _names(key: str, value: Any) -> list[str]:
    """Label names or logins: ["a"], [{"name": "a"}] (labels) or, for labels, "a"."""
    if isinstance(value, str) and key == "labels":
        return [value]
    if not isinstance(value, list):
        raise _wrong(key, value, "an array")
    out = []
    for item in value:
        if isinstance(item, dict) and key == "labels" and isinstance(item.get("name"), str):
            out.append(item["name"])
        elif isinstance(item, str):
            out.append(item)
        else:
            raise invalid_request(f"For 'items', {json.dumps(item)} is not a string.")
    return out


@dataclass
class _Call:
    """One routed request: its parameters, the acting user and what the answer will carry."""

    request: Request
    params: dict[str, str]
    actor: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query

    def body(self) -> dict[str, Any]:
        try:
            data = self.request.json()
        except ValueError:
            raise GitHubError(400, "Problems parsing JSON") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise invalid_request(f"{json.dumps(data)[:60]} is not an object.")
        return data

    def label_names(self) -> list[str]:
        """The add/set-labels body: a bare array (PyGithub) or {"labels": [...]} (the spec)."""
        try:
            data = self.request.json()
        except ValueError:
            raise GitHubError(400, "Problems parsing JSON") from None
        if isinstance(data, dict):
            return _names("labels", data.get("labels", []))
        return _names("labels", data if data is not None else [])


Reply = tuple[int, Any]


class GitHubEmulator:
    """acme/incidents, its issues, labels, comments, files, branches and pull requests."""

    service = "github"

    def __init__(self, *, repository: str, token: str,
                 tokens: Mapping[str, str] | None = None) -> None:
        self.repository = repository
        self.token = token
        # Every token GitHub would accept here, and the login each writes as.
        self.tokens: dict[str, str] = {token: BOT, **(tokens or {})}
        self.clock: Callable[[], datetime] = _utcnow
        self.store = Store(repository, iso(self.clock()))
        self._used: dict[str, tuple[int, int]] = {}  # token -> (used, reset epoch)
        self._request_seq = 0

    # -- the server's interface ---------------------------------------------------------------
    def operation(self, request: Request) -> str:
        found = match(request.method, request.path)
        return f"{request.method} {found[0] if found else request.path}"

    def reset(self) -> None:
        self.clock = _utcnow
        self.store = Store(self.repository, iso(self.clock()))
        self._used.clear()

    def dump(self) -> dict[str, Any]:
        return self.store.dump()

    def load(self, data: Mapping[str, Any]) -> None:
        if data:
            self.store.load(data)

    def handle(self, request: Request) -> Response:
        now = self.clock()
        self.store.now = iso(now)
        self._request_seq += 1
        token = request.bearer_token()
        bucket = token if token in self.tokens else "anonymous"
        limit, (used, reset) = self._window(bucket, int(now.timestamp()))
        free = request.path.rstrip("/") == "/rate_limit"  # as on GitHub: it costs nothing
        try:
            if used >= limit and not free:
                raise GitHubError(403, f"API rate limit exceeded for {bucket[:4]}… (sandbox).")
            status, payload, extra = self._answer(request, token)
        except GitHubError as error:
            status, payload, extra = error.status, error.body(), {}
        body = json.dumps(payload).encode() if payload is not None else b""
        etag = f'W/"{hashlib.sha256(body).hexdigest()}"'
        if request.method == "GET" and status == 200 and _etag_matches(
                request.headers.get("if-none-match", ""), etag):
            status, body, free = 304, b"", True  # conditional hits are free on GitHub too
        if not free and status != 403:
            used += 1
            self._used[bucket] = (used, reset)
        headers = {
            "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(limit - used),
            "X-RateLimit-Used": str(used), "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Resource": "core", "ETag": etag,
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": f"SANDBOX:{self._request_seq:08X}",
            "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
            **extra,
        }
        if body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if bucket != "anonymous":
            headers["X-OAuth-Scopes"] = "repo"
        return Response(status, body, headers)

    def limit_of(self, bucket: str) -> int:
        """The hourly budget GitHub gives this token: 1,000 for the Actions GITHUB_TOKEN."""
        if bucket == "anonymous":
            return 60
        return ACTIONS_RATE_LIMIT if self.tokens.get(bucket) == ACTIONS_BOT else RATE_LIMIT

    def used(self, token: str) -> int:
        """Requests this token has spent in its current hour (as X-RateLimit-Used says)."""
        return self._used.get(token, (0, 0))[0]

    def _window(self, bucket: str, now: int) -> tuple[int, tuple[int, int]]:
        """This token's hourly budget: (limit, (used, reset epoch)), a new hour starting afresh."""
        limit = self.limit_of(bucket)
        used, reset = self._used.get(bucket, (0, now + 3600))
        if now >= reset:
            used, reset = 0, now + 3600
        self._used[bucket] = (used, reset)
        return limit, (used, reset)

    def _answer(self, request: Request, token: str | None) -> tuple[int, Any, dict[str, str]]:
        if token is None:
            raise GitHubError(401, "Requires authentication")
        if token not in self.tokens:
            raise GitHubError(401, "Bad credentials")
        found = match(request.method, request.path)
        if found is None:
            raise not_found()
        template, params = found
        if "owner" in params and (
                f"{params['owner']}/{params['repo']}".lower() != self.store.full_name.lower()):
            raise not_found()
        call = _Call(request, params, self.tokens[token])
        view = _View(request.base_url, self.store)
        handler: Callable[[_Call, _View], Reply] = getattr(
            self, _HANDLER_NAMES[(request.method, template)])
        status, payload = handler(call, view)
        return status, payload, call.headers

    # -- pagination ---------------------------------------------------------------------------
    @staticmethod
    def _page(call: _Call, items: Sequence[Any]) -> Sequence[Any]:
        """This page of items; sets the Link header (first, prev, next, last) as GitHub does."""
        per_page = min(max(_int(call.query.get("per_page"), 30), 1), 100)
        page = max(_int(call.query.get("page"), 1), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        request = call.request

        def url(number: int) -> str:
            query = {**request.query, "page": str(number)}
            return f"{request.base_url}{request.path}?{urllib.parse.urlencode(query)}"

        links = []
        if page > 1:
            links += [f'<{url(min(page - 1, last))}>; rel="prev"']
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(1)}>; rel="first"']
        if links:
            call.headers["Link"] = ", ".join(links)
        return items[(page - 1) * per_page: page * per_page]

    # -- users, rate limit, repository --------------------------------------------------------
    def _rate_limit(self, call: _Call, view: _View) -> Reply:
        token = call.request.bearer_token() or self.token
        limit = self.limit_of(token)
        used, reset = self._used.get(token, (0, int(self.clock().timestamp()) + 3600))
        core = {"limit": limit, "remaining": limit - used, "reset": reset,
                "used": used, "resource": "core"}
        others = {name: {"limit": limit, "remaining": limit, "reset": reset, "used": 0,
                         "resource": name}
                  for name, limit in (("search", 30), ("graphql", 5000),
                                      ("integration_manifest", 5000), ("code_search", 10))}
        return 200, {"resources": {"core": core, **others}, "rate": core}

    def _get_user(self, call: _Call, view: _View) -> Reply:
        if self.store.user(call.actor).type == "Bot":
            # Installation tokens and the Actions GITHUB_TOKEN are not users.
            raise GitHubError(403, "Resource not accessible by integration")
        return 200, view.profile(call.actor, private=True)

    def _get_a_user(self, call: _Call, view: _View) -> Reply:
        return 200, view.profile(self.store.user(call.params["username"]).login, private=False)

    def _get_repo(self, call: _Call, view: _View) -> Reply:
        return 200, view.repository(full=True)

    # -- issues -------------------------------------------------------------------------------
    def _list_issues(self, call: _Call, view: _View) -> Reply:
        q = call.query
        state = _query_enum(q, "state", ("open", "closed", "all"), "open", "Issue")
        sort = _query_enum(q, "sort", ("created", "updated", "comments"), "created", "Issue")
        direction = _query_enum(q, "direction", ("asc", "desc"), "desc", "Issue")
        since = _since(q, "Issue")
        labels = [x.strip() for x in q.get("labels", "").split(",") if x.strip()]
        issues = self.store.list_issues(state=state, labels=labels, since=since,
                                        creator=q.get("creator") or None,
                                        assignee=q.get("assignee") or None)
        key: Callable[[Issue], Any] = {
            "created": lambda i: (i.created_at, i.number),
            "updated": lambda i: (i.updated_at, i.number),
            "comments": lambda i: (i.comments, i.number)}[sort]
        issues.sort(key=key, reverse=direction == "desc")
        return 200, [view.issue(i) for i in self._page(call, issues)]

    def _create_issue(self, call: _Call, view: _View) -> Reply:
        body = call.body()
        title = body.get("title")
        if isinstance(title, int) and not isinstance(title, bool):
            title = str(title)
        if title is not None and not isinstance(title, str):
            raise _wrong("title", title, "a string or integer")
        labels = _names("labels", body["labels"]) if body.get("labels") is not None else []
        assignees = _names("assignees", body.get("assignees") or [])
        assignee = _str(body, "assignee", nullable=True)
        issue = self.store.create_issue(
            call.actor, title or "", _str(body, "body", nullable=True), labels,
            [*assignees, *([assignee] if assignee else [])])
        data = view.issue(issue)
        call.headers["Location"] = data["url"]
        return 201, data

    def _get_issue(self, call: _Call, view: _View) -> Reply:
        return 200, view.issue(self.store.issue(call.params["issue_number"]))

    def _edit_issue(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        body = call.body()
        changes: dict[str, Any] = {}
        if "title" in body and body["title"] is not None:
            if not isinstance(body["title"], str | int) or isinstance(body["title"], bool):
                raise _wrong("title", body["title"], "a string or integer")
            changes["title"] = str(body["title"])
        if "body" in body:
            changes["body"] = _str(body, "body", nullable=True)
        changes["state"] = _enum(body, "state", ("open", "closed"))
        changes["state_reason"] = _enum(body, "state_reason",
                                        ("completed", "not_planned", "duplicate", "reopened"))
        for key in ("labels", "assignees"):
            if body.get(key) is not None:
                changes[key] = _names(key, body[key])
        if body.get("assignee") is not None:
            changes["assignees"] = [_str(body, "assignee")]
        return 200, view.issue(self.store.edit_issue(call.actor, issue, changes))

    def _add_assignees(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.add_assignees(call.actor, issue,
                                 _names("assignees", call.body().get("assignees", [])))
        return 201, view.issue(issue)

    def _remove_assignees(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.remove_assignees(call.actor, issue,
                                    _names("assignees", call.body().get("assignees", [])))
        return 200, view.issue(issue)

    # -- labels -------------------------------------------------------------------------------
    def _issue_labels(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        return 200, [view.label(self.store.labels[x]) for x in self._page(call, issue.labels)]

    def _add_labels(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.require_push(call.actor)
        self.store.add_labels(call.actor, issue, call.label_names())
        return 200, [view.label(self.store.labels[x]) for x in issue.labels]

    def _set_labels(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.require_push(call.actor)
        self.store.set_labels(call.actor, issue, call.label_names())
        return 200, [view.label(self.store.labels[x]) for x in issue.labels]

    def _clear_labels(self, call: _Call, view: _View) -> Reply:
        self.store.require_push(call.actor)
        self.store.clear_labels(call.actor, self.store.issue(call.params["issue_number"]))
        return 204, None

    def _remove_label(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.require_push(call.actor)
        self.store.remove_label(call.actor, issue, call.params["name"])
        return 200, [view.label(self.store.labels[x]) for x in issue.labels]

    def _list_labels(self, call: _Call, view: _View) -> Reply:
        labels = sorted(self.store.labels.values(), key=lambda x: x.name.casefold())
        return 200, [view.label(x) for x in self._page(call, labels)]

    def _create_label(self, call: _Call, view: _View) -> Reply:
        body = call.body()
        name = _str(body, "name", required=True) or ""
        color = _str(body, "color")
        label = self.store.create_label(name, color.removeprefix("#") if color else None,
                                        _str(body, "description", nullable=True))
        data = view.label(label)
        call.headers["Location"] = data["url"]
        return 201, data

    def _get_label(self, call: _Call, view: _View) -> Reply:
        return 200, view.label(self.store.label(call.params["name"]))

    def _edit_label(self, call: _Call, view: _View) -> Reply:
        body = call.body()
        color = _str(body, "color")
        label = self.store.edit_label(call.params["name"], _str(body, "new_name"),
                                      color.removeprefix("#") if color else None,
                                      _str(body, "description"))
        return 200, view.label(label)

    def _delete_label(self, call: _Call, view: _View) -> Reply:
        self.store.delete_label(call.params["name"])
        return 204, None

    # -- comments, events, timeline -----------------------------------------------------------
    def _issue_comments(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        since = _since(call.query, "IssueComment")
        comments = [c for c in self.store.comments_of(issue)
                    if since is None or parse_time(c.updated_at) >= since]  # type: ignore[operator]
        return 200, [view.comment(c) for c in self._page(call, comments)]

    def _repo_comments(self, call: _Call, view: _View) -> Reply:
        q = call.query
        sort = _query_enum(q, "sort", ("created", "updated"), "created", "IssueComment")
        direction = _query_enum(q, "direction", ("asc", "desc"), "asc", "IssueComment")
        since = _since(q, "IssueComment")
        comments = [c for c in self.store.comments_of(None)
                    if since is None or parse_time(c.updated_at) >= since]  # type: ignore[operator]
        comments.sort(key=lambda c: (c.created_at if sort == "created" else c.updated_at, c.id),
                      reverse=direction == "desc")
        return 200, [view.comment(c) for c in self._page(call, comments)]

    def _create_comment(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        comment = self.store.create_comment(call.actor, issue,
                                            _str(call.body(), "body", required=True))
        data = view.comment(comment)
        call.headers["Location"] = data["url"]
        return 201, data

    def _get_comment(self, call: _Call, view: _View) -> Reply:
        return 200, view.comment(self.store.comment(call.params["comment_id"]))

    def _edit_comment(self, call: _Call, view: _View) -> Reply:
        comment = self.store.comment(call.params["comment_id"])
        body = _str(call.body(), "body", required=True)
        return 200, view.comment(self.store.edit_comment(comment, body, call.actor))

    def _delete_comment(self, call: _Call, view: _View) -> Reply:
        self.store.delete_comment(self.store.comment(call.params["comment_id"]), call.actor)
        return 204, None

    def _events(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        return 200, [view.event(e) for e in self._page(call, self.store.events_of(issue))]

    def _get_event(self, call: _Call, view: _View) -> Reply:
        event_id = call.params["event_id"]
        found = next((e for e in self.store.events if str(e.id) == event_id), None)
        if found is None:
            raise not_found()
        return 200, {**view.event(found), "issue": view.issue(self.store.issues[found.issue])}

    def _timeline(self, call: _Call, view: _View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        items: list[Event | Comment] = [*self.store.events_of(issue),
                                        *self.store.comments_of(issue)]
        items.sort(key=lambda x: (x.created_at, x.id))
        return 200, [view.event(x, timeline=True) if isinstance(x, Event)
                     else view.timeline_comment(x) for x in self._page(call, items)]

    # -- contents, branches, refs -------------------------------------------------------------
    def _get_contents(self, call: _Call, view: _View) -> Reply:
        ref, commit = self.store.resolve(call.query.get("ref") or None)
        path = call.params.get("path", "").strip("/")
        if path in commit.tree:
            return 200, view.content(path, ref, commit.tree[path])
        prefix = f"{path}/" if path else ""
        children: dict[str, str | None] = {}
        for name, sha in commit.tree.items():
            if name.startswith(prefix):
                head, sep, _ = name[len(prefix):].partition("/")
                children[prefix + head] = None if sep else sha
        if not children:
            raise not_found()
        return 200, [view.entry(p, ref, sha, commit) for p, sha in sorted(children.items())]

    def _put_contents(self, call: _Call, view: _View) -> Reply:
        body = call.body()
        message = _str(body, "message", required=True) or ""
        content = _str(body, "content", required=True) or ""
        path = call.params.get("path", "")
        created, commit = self.store.put_file(call.actor, path, message, content,
                                              _str(body, "sha"), _str(body, "branch"))
        branch = _str(body, "branch") or "main"
        path = path.strip("/")
        return (201 if created else 200), {
            "content": view.entry(path, branch, commit.tree[path], commit),
            "commit": view.git_commit(commit)}

    def _delete_contents(self, call: _Call, view: _View) -> Reply:
        body = call.body()
        message = _str(body, "message", required=True) or ""
        commit = self.store.delete_file(call.actor, call.params.get("path", ""), message,
                                        _str(body, "sha"), _str(body, "branch"))
        return 200, {"content": None, "commit": view.git_commit(commit)}

    def _get_branch(self, call: _Call, view: _View) -> Reply:
        return 200, view.branch(call.params["branch"])

    def _get_ref(self, call: _Call, view: _View) -> Reply:
        ref = call.params["ref"]
        if ref not in self.store.refs:
            raise not_found()
        return 200, view.ref(ref)

    def _create_ref(self, call: _Call, view: _View) -> Reply:
        body = call.body()
        self.store.require_push(call.actor)
        name = self.store.create_ref(_str(body, "ref", required=True) or "",
                                     _str(body, "sha", required=True) or "")
        data = view.ref(name)
        call.headers["Location"] = data["url"]
        return 201, data

    def _update_ref(self, call: _Call, view: _View) -> Reply:
        body = call.body()
        self.store.require_push(call.actor)
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise _wrong("force", force, "a boolean")
        name = self.store.update_ref(call.params["ref"], _str(body, "sha", required=True) or "",
                                     force=force)
        return 200, view.ref(name)

    def _delete_ref(self, call: _Call, view: _View) -> Reply:
        self.store.require_push(call.actor)
        self.store.delete_ref(call.params["ref"])
        return 204, None

    def _create_commit(self, call: _Call, view: _View) -> Reply:
        body = call.body()
        self.store.require_push(call.actor)
        parents = _names("parents", body.get("parents") or [])
        commit = self.store.create_commit(call.actor, _str(body, "message", required=True) or "",
                                          _str(body, "tree", required=True) or "", parents)
        data = view.git_commit(commit)
        call.headers["Location"] = data["url"]
        return 201, data

    def _dispatch_workflow(self, call: _Call, view: _View) -> Reply:
        """workflow_dispatch: recorded for tests (the sandbox runs no workflow)."""
        body = call.body()
        self.store.require_push(call.actor)
        ref = _str(body, "ref", required=True) or ""
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
            raise _wrong("inputs", inputs, "an object of strings")
        if f"heads/{ref.removeprefix('refs/heads/')}" not in self.store.refs:
            raise GitHubError(422, f"No ref found for: {ref}")
        self.store.dispatches.append({"workflow": call.params["workflow_id"], "ref": ref,
                                      "inputs": dict(inputs), "actor": call.actor})
        return 204, None

    def _get_commit(self, call: _Call, view: _View) -> Reply:
        commit = self.store.commits.get(call.params["commit_sha"])
        if commit is None:
            raise not_found()
        return 200, view.git_commit(commit)

    # -- pull requests ------------------------------------------------------------------------
    def _list_pulls(self, call: _Call, view: _View) -> Reply:
        q = call.query
        state = _query_enum(q, "state", ("open", "closed", "all"), "open", "PullRequest")
        sort = _query_enum(q, "sort", ("created", "updated", "popularity", "long-running"),
                           "created", "PullRequest")
        # GitHub's default direction: desc when sorting by creation, asc otherwise.
        direction = _query_enum(q, "direction", ("asc", "desc"),
                                "desc" if sort == "created" else "asc", "PullRequest")
        pulls = self.store.list_pulls(state=state, head=q.get("head") or None,
                                      base=q.get("base") or None)
        issues = self.store.issues
        pulls.sort(key=lambda p: (issues[p.number].updated_at, p.number)
                   if sort == "updated" else (p.number,), reverse=direction == "desc")
        return 200, [view.pull(p, simple=True) for p in self._page(call, pulls)]

    def _create_pull(self, call: _Call, view: _View) -> Reply:
        body = call.body()
        draft = body.get("draft", False)
        if not isinstance(draft, bool):
            raise _wrong("draft", draft, "a boolean")
        pull = self.store.create_pull(
            call.actor, _str(body, "title") or "", _str(body, "head", required=True) or "",
            _str(body, "base", required=True) or "", _str(body, "body", nullable=True), draft)
        data = view.pull(pull)
        call.headers["Location"] = data["url"]
        return 201, data

    def _get_pull(self, call: _Call, view: _View) -> Reply:
        return 200, view.pull(self.store.pull(call.params["pull_number"]))

    # -- postmortem reviews and "what changed?" (issue 14) -----------------------------------
    def _list_deployments(self, call: _Call, view: _View) -> Reply:
        """Newest first, filtered by sha, ref, task and environment as GitHub does."""
        q = call.query
        found = [d for d in reversed(self.store.deployments)
                 if all(q.get(k) in {None, "", getattr(d, k)}
                        for k in ("sha", "ref", "task", "environment"))]
        return 200, [view.deployment(d) for d in self._page(call, found)]

    def _request_reviewers(self, call: _Call, view: _View) -> Reply:
        """GitHub's rules: reviewers must be collaborators (422 otherwise, nothing requested)
        and never the pull request's author; asking again is harmless."""
        pull = self.store.pull(call.params["pull_number"])
        body = call.body()
        wanted = _names("reviewers", body.get("reviewers", []))
        _names("team_reviewers", body.get("team_reviewers", []))
        author = self.store.issues[pull.number].user
        if any(w.lower() == author.lower() for w in wanted):
            raise GitHubError(422, "Review cannot be requested from pull request author.")
        if any(w.lower() not in self.store.users or not self.store.can_push(w) for w in wanted):
            raise GitHubError(422, "Reviews may only be requested from collaborators. One or "
                              "more of the users or teams you specified is not a "
                              f"collaborator of the {self.store.full_name} repository.")
        for login in wanted:
            name = self.store.users[login.lower()].login
            if name not in pull.reviewers:
                pull.reviewers.append(name)
        return 201, view.pull(pull, simple=True)



def _utcnow() -> datetime:
    return datetime.now(UTC)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _query_enum(query: Mapping[str, str], key: str, allowed: Sequence[str], default: str,
                resource: str) -> str:
    value = query.get(key) or default
    if value not in allowed:
        raise failed(resource, key, "invalid", value=value)
    return value


def _since(query: Mapping[str, str], resource: str) -> datetime | None:
    if not query.get("since"):
        return None
    moment = parse_time(query["since"])
    if moment is None:
        raise failed(resource, "since", "invalid", value=query["since"])
    return moment


def _etag_matches(header: str, etag: str) -> bool:
    def bare(tag: str) -> str:
        return tag.strip().removeprefix("W/").strip('"')
    tags = [bare(t) for t in header.split(",") if t.strip()]
    return "*" in tags or bare(etag) in tags


# -- JSON shapes --------------------------------------------------------------------------------
class _View:
    """Records -> GitHub's JSON, every API URL on the sandbox's own address."""

    def __init__(self, base: str, store: Store) -> None:
        self.base = base
        self.store = store
        self.api = f"{base}/repos/{store.full_name}"
        self.html = f"https://github.com/{store.full_name}"

    def node(self, kind: str, number: int) -> str:
        return f"{kind}_kwDOSandbox{number}"

    def user(self, login: str | None) -> dict[str, Any] | None:
        if login is None:
            return None
        u = self.store.users[login.lower()]
        url = f"{self.base}/users/{u.login}"
        return {
            "login": u.login, "id": u.id, "node_id": self.node("U", u.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4",
            "gravatar_id": "", "url": url, "html_url": f"https://github.com/{u.login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions", "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos", "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events", "type": u.type,
            "user_view_type": "public", "site_admin": False,
        }

    def profile(self, login: str, *, private: bool) -> dict[str, Any]:
        u = self.store.users[login.lower()]
        data: dict[str, Any] = {
            **(self.user(login) or {}), "name": u.name, "company": None, "blog": "",
            "location": None, "email": None, "hireable": None, "bio": None,
            "twitter_username": None, "public_repos": 0, "public_gists": 0, "followers": 0,
            "following": 0, "created_at": u.created_at, "updated_at": u.created_at,
        }
        if private:
            data.update({"private_gists": 0, "total_private_repos": 1,
                         "owned_private_repos": 0, "disk_usage": 0, "collaborators": 0,
                         "two_factor_authentication": True,
                         "plan": {"name": "free", "space": 976562499, "collaborators": 0,
                                  "private_repos": 10000}})
        return data

    def repository(self, *, full: bool = False) -> dict[str, Any]:
        s, api, html = self.store, self.api, self.html
        main = s.commits[s.refs["heads/main"]]
        open_issues = sum(1 for i in s.issues.values() if i.state == "open")
        urls = {f"{k}_url": f"{api}/{v}" for k, v in (
            ("archive", "{archive_format}{/ref}"), ("assignees", "assignees{/user}"),
            ("blobs", "git/blobs{/sha}"), ("branches", "branches{/branch}"),
            ("collaborators", "collaborators{/collaborator}"), ("comments", "comments{/number}"),
            ("commits", "commits{/sha}"), ("compare", "compare/{base}...{head}"),
            ("contents", "contents/{+path}"), ("contributors", "contributors"),
            ("deployments", "deployments"), ("downloads", "downloads"), ("events", "events"),
            ("forks", "forks"), ("git_commits", "git/commits{/sha}"),
            ("git_refs", "git/refs{/sha}"), ("git_tags", "git/tags{/sha}"),
            ("issue_comment", "issues/comments{/number}"),
            ("issue_events", "issues/events{/number}"), ("issues", "issues{/number}"),
            ("keys", "keys{/key_id}"), ("labels", "labels{/name}"), ("languages", "languages"),
            ("merges", "merges"), ("milestones", "milestones{/number}"),
            ("notifications", "notifications{?since,all,participating}"),
            ("pulls", "pulls{/number}"), ("releases", "releases{/id}"),
            ("stargazers", "stargazers"), ("statuses", "statuses/{sha}"),
            ("subscribers", "subscribers"), ("subscription", "subscription"), ("tags", "tags"),
            ("teams", "teams"), ("trees", "git/trees{/sha}"), ("hooks", "hooks"))}
        data: dict[str, Any] = {
            "id": 7001, "node_id": self.node("R", 7001), "name": s.name,
            "full_name": s.full_name, "private": True, "owner": self.user(s.owner),
            "html_url": html, "description": "Incidents, one issue each", "fork": False,
            "url": api, **urls, "git_url": f"git://github.com/{s.full_name}.git",
            "ssh_url": f"git@github.com:{s.full_name}.git", "clone_url": f"{html}.git",
            "svn_url": html, "mirror_url": None, "homepage": None, "language": "Python",
            "forks_count": 0, "forks": 0, "stargazers_count": 0, "watchers_count": 0,
            "watchers": 0, "size": len(s.blobs), "default_branch": "main",
            "open_issues_count": open_issues, "open_issues": open_issues,
            "is_template": False, "topics": [], "has_issues": True, "has_projects": False,
            "has_wiki": False, "has_pages": False, "has_downloads": True,
            "has_discussions": False, "archived": False, "disabled": False,
            "visibility": "private", "license": None, "allow_forking": False,
            "web_commit_signoff_required": False, "pushed_at": main.date,
            "created_at": s.created_at, "updated_at": main.date,
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True,
                            "pull": True},
            "allow_rebase_merge": True, "allow_squash_merge": True,
            "allow_merge_commit": True, "allow_auto_merge": False,
            "delete_branch_on_merge": False, "allow_update_branch": False,
            "use_squash_pr_title_as_default": False, "squash_merge_commit_title": "PR_TITLE",
            "squash_merge_commit_message": "PR_BODY", "merge_commit_title": "PR_TITLE",
            "merge_commit_message": "PR_BODY",
        }
        if full:
            data.update({"subscribers_count": 0, "network_count": 0,
                         "organization": self.user(s.owner)})
        return data

    def label(self, label: Label) -> dict[str, Any]:
        return {"id": label.id, "node_id": self.node("LA", label.id),
                "url": f"{self.api}/labels/{urllib.parse.quote(label.name, safe='')}",
                "name": label.name, "color": label.color, "default": label.default,
                "description": label.description}

    def _reactions(self, url: str) -> dict[str, Any]:
        return {"url": f"{url}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
                "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}

    def issue(self, issue: Issue) -> dict[str, Any]:
        url = f"{self.api}/issues/{issue.number}"
        is_pull = issue.number in self.store.pulls
        html = f"{self.html}/{'pull' if is_pull else 'issues'}/{issue.number}"
        data: dict[str, Any] = {
            "url": url, "repository_url": self.api, "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events",
            "html_url": html, "id": issue.id, "node_id": self.node("I", issue.id),
            "number": issue.number, "title": issue.title, "user": self.user(issue.user),
            "labels": [self.label(self.store.labels[x]) for x in issue.labels],
            "state": issue.state, "locked": False,
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(x) for x in issue.assignees], "milestone": None,
            "comments": issue.comments, "created_at": issue.created_at,
            "updated_at": issue.updated_at, "closed_at": issue.closed_at,
            "author_association": self.association(issue.user), "active_lock_reason": None,
            "body": issue.body,
            "closed_by": self.user(issue.closed_by), "reactions": self._reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": self.via_app(issue.user),
            "state_reason": issue.state_reason,
        }
        if is_pull:
            pulls = f"{self.api}/pulls/{issue.number}"
            data["pull_request"] = {"url": pulls, "html_url": html, "diff_url": f"{html}.diff",
                                    "patch_url": f"{html}.patch", "merged_at": None}
            data["draft"] = self.store.pulls[issue.number].draft
        return data

    def association(self, login: str) -> str:
        """GitHub's author_association: MEMBER for the organisation's people who may push,
        NONE for anyone else (who may comment on a public repository but not run commands)."""
        user = self.store.users.get(login.lower())
        if user is not None and user.type == "Bot":
            return "NONE"  # bots' own comments say NONE: trust them by identity instead
        return "MEMBER" if self.store.can_push(login) else "NONE"

    def comment(self, c: Comment) -> dict[str, Any]:
        url = f"{self.api}/issues/comments/{c.id}"
        return {
            "id": c.id, "node_id": self.node("IC", c.id), "url": url,
            "html_url": f"{self.html}/issues/{c.issue}#issuecomment-{c.id}",
            "body": c.body, "user": self.user(c.user), "created_at": c.created_at,
            "updated_at": c.updated_at, "issue_url": f"{self.api}/issues/{c.issue}",
            "author_association": self.association(c.user),
            "performed_via_github_app": self.via_app(c.user),
            "reactions": self._reactions(url),
        }

    def event(self, e: Event, *, timeline: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": e.id, "node_id": self.node("E", e.id),
            "url": f"{self.api}/issues/events/{e.id}", "actor": self.user(e.actor),
            "event": e.event, "commit_id": None, "commit_url": None,
            "created_at": e.created_at, "performed_via_github_app": self.via_app(e.actor),
        }
        if e.label is not None:
            data["label"] = dict(e.label)
        if e.rename is not None:
            data["rename"] = dict(e.rename)
        if e.assignee is not None:
            data["assignee"] = self.user(e.assignee)
            data["assigner"] = self.user(e.actor)
        if e.event in {"closed", "reopened"}:
            data["state_reason"] = e.state_reason
        return data

    def timeline_comment(self, c: Comment) -> dict[str, Any]:
        return {**self.comment(c), "event": "commented", "actor": self.user(c.user)}

    def _content_urls(self, path: str, ref: str, sha: str, kind: str) -> dict[str, Any]:
        url = f"{self.api}/contents/{urllib.parse.quote(path)}?ref={urllib.parse.quote(ref)}"
        git = f"{self.api}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
        html = f"{self.html}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
        return {"url": url, "git_url": git, "html_url": html,
                "_links": {"self": url, "git": git, "html": html}}

    def entry(self, path: str, ref: str, sha: str | None,
              commit: Commit | None = None) -> dict[str, Any]:
        """A directory listing's item, or a write's `content` (no file text)."""
        if sha is None:  # a directory: its sha is that of its subtree
            tree = commit.tree if commit is not None else {}
            subtree = {p: s for p, s in tree.items() if p.startswith(path + "/")}
            return {"type": "dir", "size": 0, "name": path.rpartition("/")[2], "path": path,
                    "sha": tree_sha(subtree), "download_url": None,
                    **self._content_urls(path, ref, tree_sha(subtree), "dir")}
        return {"type": "file", "size": len(self.store.blob(sha)),
                "name": path.rpartition("/")[2], "path": path, "sha": sha,
                "download_url": f"https://raw.githubusercontent.com/{self.store.full_name}/"
                                f"{ref}/{path}",
                **self._content_urls(path, ref, sha, "file")}

    def content(self, path: str, ref: str, sha: str) -> dict[str, Any]:
        """A file with its text: base64 in lines of 60 characters, as GitHub sends it."""
        encoded = self.store.blobs[sha]
        lines = [encoded[i:i + 60] for i in range(0, len(encoded), 60)]
        return {**self.entry(path, ref, sha),
                "encoding": "base64", "content": "".join(x + "\n" for x in lines)}

    def _signature(self, commit: Commit) -> dict[str, Any]:
        u = self.store.users[commit.author.lower()]
        return {"name": u.name or u.login, "email": f"{u.id}+{u.login}@users.noreply.github.com",
                "date": commit.date}

    def git_commit(self, commit: Commit) -> dict[str, Any]:
        """`file-commit.commit`: the git commit a contents write made."""
        return {
            "sha": commit.sha, "node_id": self.node("C", int(commit.sha[:8], 16)),
            "url": f"{self.api}/git/commits/{commit.sha}",
            "html_url": f"{self.html}/commit/{commit.sha}",
            "author": self._signature(commit), "committer": self._signature(commit),
            "message": commit.message,
            "tree": {"sha": commit.tree_sha, "url": f"{self.api}/git/trees/{commit.tree_sha}"},
            "parents": [{"sha": p, "url": f"{self.api}/git/commits/{p}",
                         "html_url": f"{self.html}/commit/{p}"} for p in commit.parents],
            "verification": {"verified": False, "reason": "unsigned", "signature": None,
                             "payload": None, "verified_at": None},
        }

    def commit(self, commit: Commit) -> dict[str, Any]:
        """The `commit` schema (a branch's head), with the git commit inside."""
        url = f"{self.api}/commits/{commit.sha}"
        git = self.git_commit(commit)
        return {
            "sha": commit.sha, "node_id": git["node_id"], "url": url,
            "html_url": git["html_url"], "comments_url": f"{url}/comments",
            "commit": {"url": git["url"], "author": git["author"],
                       "committer": git["committer"], "message": commit.message,
                       "comment_count": 0, "tree": git["tree"],
                       "verification": git["verification"]},
            "author": self.user(commit.author), "committer": self.user(commit.author),
            "parents": [{"sha": p, "url": f"{self.api}/commits/{p}",
                         "html_url": f"{self.html}/commit/{p}"} for p in commit.parents],
        }

    def branch(self, name: str) -> dict[str, Any]:
        url = f"{self.api}/branches/{urllib.parse.quote(name)}"
        return {
            "name": name, "commit": self.commit(self.store.branch(name)),
            "_links": {"self": url, "html": f"{self.html}/tree/{name}"},
            "protected": False,
            "protection": {"enabled": False, "required_status_checks": {
                "enforcement_level": "off", "contexts": [], "checks": []}},
            "protection_url": f"{url}/protection",
        }

    def app(self, slug: str) -> dict[str, Any]:
        """The GitHub App a Bot account acts for (performed_via_github_app)."""
        owner = self.user(self.store.owner)
        return {
            "id": 1000 + len(slug), "slug": slug, "node_id": self.node("A", len(slug)),
            "client_id": f"Iv1.{slug}", "owner": owner, "name": slug,
            "description": "", "external_url": f"https://{slug}.example",
            "html_url": f"https://github.com/apps/{slug}",
            "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            "permissions": {"issues": "write", "contents": "write", "metadata": "read"},
            "events": ["issues", "issue_comment"],
        }

    def via_app(self, login: str | None) -> dict[str, Any] | None:
        user = self.store.users.get(login.lower()) if login else None
        return self.app(user.app) if user is not None and user.app else None

    def ref(self, name: str) -> dict[str, Any]:
        sha = self.store.refs[name]
        return {"ref": f"refs/{name}", "node_id": self.node("REF", int(sha[:8], 16)),
                "url": f"{self.api}/git/refs/{urllib.parse.quote(name)}",
                "object": {"type": "commit", "sha": sha,
                           "url": f"{self.api}/git/commits/{sha}"}}

    def deployment(self, d: Deployment) -> dict[str, Any]:
        url = f"{self.api}/deployments/{d.id}"
        return {"url": url, "id": d.id, "node_id": self.node("DE", d.id), "sha": d.sha,
                "ref": d.ref, "task": d.task, "payload": {},
                "original_environment": d.environment, "environment": d.environment,
                "description": d.description, "creator": self.user(d.creator),
                "created_at": d.created_at, "updated_at": d.created_at,
                "statuses_url": f"{url}/statuses", "repository_url": self.api,
                "transient_environment": False,
                "production_environment": d.environment == "production"}

    def pull(self, pull: Pull, *, simple: bool = False) -> dict[str, Any]:
        s = self.store
        issue = s.issues[pull.number]
        url = f"{self.api}/pulls/{pull.number}"
        html = f"{self.html}/pull/{pull.number}"
        issue_url = f"{self.api}/issues/{pull.number}"
        head, base = s.branch(pull.head), s.branch(pull.base)
        statuses = f"{self.api}/statuses/{head.sha}"
        repo = self.repository()

        def side(branch: str, sha: str) -> dict[str, Any]:
            return {"label": f"{s.owner}:{branch}", "ref": branch, "sha": sha,
                    "user": self.user(s.owner), "repo": repo}

        data: dict[str, Any] = {
            "url": url, "id": pull.id, "node_id": self.node("PR", pull.id), "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue_url,
            "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.api}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments", "statuses_url": statuses,
            "number": pull.number, "state": issue.state, "locked": False,
            "title": issue.title, "user": self.user(issue.user), "body": issue.body,
            "labels": [self.label(s.labels[x]) for x in issue.labels], "milestone": None,
            "active_lock_reason": None, "created_at": issue.created_at,
            "updated_at": issue.updated_at, "closed_at": issue.closed_at,
            "merged_at": pull.merged_at,
            "merge_commit_sha": None,
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(x) for x in issue.assignees],
            "requested_reviewers": [self.user(x) for x in pull.reviewers],
            "requested_teams": [], "head": side(pull.head, head.sha),
            "base": side(pull.base, base.sha),
            "_links": {k: {"href": v} for k, v in (
                ("self", url), ("html", html), ("issue", issue_url),
                ("comments", f"{issue_url}/comments"), ("review_comments", f"{url}/comments"),
                ("review_comment", f"{self.api}/pulls/comments{{/number}}"),
                ("commits", f"{url}/commits"), ("statuses", statuses))},
            "author_association": "MEMBER", "auto_merge": None, "draft": pull.draft,
        }
        if not simple:
            data.update({"merged": pull.merged_at is not None, "mergeable": True,
                         "rebaseable": True,
                         "mergeable_state": "clean", "merged_by": None,
                         "comments": issue.comments, "review_comments": 0,
                         "maintainer_can_modify": False, **s.diff_stats(pull)})
        return data


__all__ = ["DOCS", "ROUTES", "GitHubEmulator", "match"]
