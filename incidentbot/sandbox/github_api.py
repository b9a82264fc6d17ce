"""The GitHub REST API subset incidentbot uses: routing, auth, rate limits, ETags, pagination.

The records and the rules GitHub applies to them live in `github_state`; this module turns
requests into calls on that store and the results into the JSON shapes of GitHub's OpenAPI
description (`components/schemas/issue`, `label`, `issue-comment`, …). Every absolute URL
it writes starts at the request's `base_url`, because PyGithub asserts that they do.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from incidentbot.sandbox.github_calls import (
    ApiCall,
    Reply,
    body_enum,
    body_names,
    body_str,
    etag_matches,
    query_enum,
    query_int,
    query_since,
    utcnow,
    wrong_type,
)
from incidentbot.sandbox.github_git import GitRoutes
from incidentbot.sandbox.github_records import (
    ACTIONS_BOT,
    BOT,
    DOCS,
    Comment,
    Event,
    GitHubError,
    Issue,
    iso,
    not_found,
    parse_time,
)
from incidentbot.sandbox.github_routes import HANDLER_NAMES, match
from incidentbot.sandbox.github_state import Store
from incidentbot.sandbox.github_views import View
from incidentbot.sandbox.http import Request, Response

RATE_LIMIT = 5000
ACTIONS_RATE_LIMIT = 1000  # the Actions GITHUB_TOKEN's hourly budget per repository


class GitHubEmulator(GitRoutes):
    """acme/incidents, its issues, labels, comments, files, branches and pull requests."""

    service = "github"

    def __init__(self, *, repository: str, token: str,
                 tokens: Mapping[str, str] | None = None) -> None:
        self.repository = repository
        self.token = token
        # Every token GitHub would accept here, and the login each writes as.
        self.tokens: dict[str, str] = {token: BOT, **(tokens or {})}
        self.clock: Callable[[], datetime] = utcnow
        self.store = Store(repository, iso(self.clock()))
        self._used: dict[str, tuple[int, int]] = {}  # token -> (used, reset epoch)
        self._request_seq = 0

    # -- the server's interface ---------------------------------------------------------------
    def operation(self, request: Request) -> str:
        found = match(request.method, request.path)
        return f"{request.method} {found[0] if found else request.path}"

    def reset(self) -> None:
        self.clock = utcnow
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
        if request.method == "GET" and status == 200 and etag_matches(
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
        call = ApiCall(request, params, self.tokens[token])
        view = View(request.base_url, self.store)
        handler: Callable[[ApiCall, View], Reply] = getattr(
            self, HANDLER_NAMES[(request.method, template)])
        status, payload = handler(call, view)
        return status, payload, call.headers

    # -- pagination ---------------------------------------------------------------------------
    @staticmethod
    def page(call: ApiCall, items: Sequence[Any]) -> Sequence[Any]:
        """This page of items; sets the Link header (first, prev, next, last) as GitHub does."""
        per_page = min(max(query_int(call.query.get("per_page"), 30), 1), 100)
        page = max(query_int(call.query.get("page"), 1), 1)
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
    def _rate_limit(self, call: ApiCall, view: View) -> Reply:
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

    def _get_user(self, call: ApiCall, view: View) -> Reply:
        if self.store.user(call.actor).type == "Bot":
            # Installation tokens and the Actions GITHUB_TOKEN are not users.
            raise GitHubError(403, "Resource not accessible by integration")
        return 200, view.profile(call.actor, private=True)

    def _get_a_user(self, call: ApiCall, view: View) -> Reply:
        return 200, view.profile(self.store.user(call.params["username"]).login, private=False)

    def _get_repo(self, call: ApiCall, view: View) -> Reply:
        return 200, view.repository(full=True)

    # -- issues -------------------------------------------------------------------------------
    def _list_issues(self, call: ApiCall, view: View) -> Reply:
        q = call.query
        state = query_enum(q, "state", ("open", "closed", "all"), "open", "Issue")
        sort = query_enum(q, "sort", ("created", "updated", "comments"), "created", "Issue")
        direction = query_enum(q, "direction", ("asc", "desc"), "desc", "Issue")
        since = query_since(q, "Issue")
        labels = [x.strip() for x in q.get("labels", "").split(",") if x.strip()]
        issues = self.store.list_issues(state=state, labels=labels, since=since,
                                        creator=q.get("creator") or None,
                                        assignee=q.get("assignee") or None)
        key: Callable[[Issue], Any] = {
            "created": lambda i: (i.created_at, i.number),
            "updated": lambda i: (i.updated_at, i.number),
            "comments": lambda i: (i.comments, i.number)}[sort]
        issues.sort(key=key, reverse=direction == "desc")
        return 200, [view.issue(i) for i in self.page(call, issues)]

    def _create_issue(self, call: ApiCall, view: View) -> Reply:
        body = call.body()
        title = body.get("title")
        if isinstance(title, int) and not isinstance(title, bool):
            title = str(title)
        if title is not None and not isinstance(title, str):
            raise wrong_type("title", title, "a string or integer")
        labels = body_names("labels", body["labels"]) if body.get("labels") is not None else []
        assignees = body_names("assignees", body.get("assignees") or [])
        assignee = body_str(body, "assignee", nullable=True)
        issue = self.store.create_issue(
            call.actor, title or "", body_str(body, "body", nullable=True), labels,
            [*assignees, *([assignee] if assignee else [])])
        data = view.issue(issue)
        call.headers["Location"] = data["url"]
        return 201, data

    def _get_issue(self, call: ApiCall, view: View) -> Reply:
        return 200, view.issue(self.store.issue(call.params["issue_number"]))

    def _edit_issue(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        body = call.body()
        changes: dict[str, Any] = {}
        if "title" in body and body["title"] is not None:
            if not isinstance(body["title"], str | int) or isinstance(body["title"], bool):
                raise wrong_type("title", body["title"], "a string or integer")
            changes["title"] = str(body["title"])
        if "body" in body:
            changes["body"] = body_str(body, "body", nullable=True)
        changes["state"] = body_enum(body, "state", ("open", "closed"))
        changes["state_reason"] = body_enum(body, "state_reason",
                                        ("completed", "not_planned", "duplicate", "reopened"))
        for key in ("labels", "assignees"):
            if body.get(key) is not None:
                changes[key] = body_names(key, body[key])
        if body.get("assignee") is not None:
            changes["assignees"] = [body_str(body, "assignee")]
        return 200, view.issue(self.store.edit_issue(call.actor, issue, changes))

    def _add_assignees(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.add_assignees(call.actor, issue,
                                 body_names("assignees", call.body().get("assignees", [])))
        return 201, view.issue(issue)

    def _remove_assignees(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.remove_assignees(call.actor, issue,
                                    body_names("assignees", call.body().get("assignees", [])))
        return 200, view.issue(issue)

    # -- labels -------------------------------------------------------------------------------
    def _issue_labels(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        return 200, [view.label(self.store.labels[x]) for x in self.page(call, issue.labels)]

    def _add_labels(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.require_push(call.actor)
        self.store.add_labels(call.actor, issue, call.label_names())
        return 200, [view.label(self.store.labels[x]) for x in issue.labels]

    def _set_labels(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.require_push(call.actor)
        self.store.set_labels(call.actor, issue, call.label_names())
        return 200, [view.label(self.store.labels[x]) for x in issue.labels]

    def _clear_labels(self, call: ApiCall, view: View) -> Reply:
        self.store.require_push(call.actor)
        self.store.clear_labels(call.actor, self.store.issue(call.params["issue_number"]))
        return 204, None

    def _remove_label(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        self.store.require_push(call.actor)
        self.store.remove_label(call.actor, issue, call.params["name"])
        return 200, [view.label(self.store.labels[x]) for x in issue.labels]

    def _list_labels(self, call: ApiCall, view: View) -> Reply:
        labels = sorted(self.store.labels.values(), key=lambda x: x.name.casefold())
        return 200, [view.label(x) for x in self.page(call, labels)]

    def _create_label(self, call: ApiCall, view: View) -> Reply:
        body = call.body()
        name = body_str(body, "name", required=True) or ""
        color = body_str(body, "color")
        label = self.store.create_label(name, color.removeprefix("#") if color else None,
                                        body_str(body, "description", nullable=True))
        data = view.label(label)
        call.headers["Location"] = data["url"]
        return 201, data

    def _get_label(self, call: ApiCall, view: View) -> Reply:
        return 200, view.label(self.store.label(call.params["name"]))

    def _edit_label(self, call: ApiCall, view: View) -> Reply:
        body = call.body()
        color = body_str(body, "color")
        label = self.store.edit_label(call.params["name"], body_str(body, "new_name"),
                                      color.removeprefix("#") if color else None,
                                      body_str(body, "description"))
        return 200, view.label(label)

    def _delete_label(self, call: ApiCall, view: View) -> Reply:
        self.store.delete_label(call.params["name"])
        return 204, None

    # -- comments, events, timeline -----------------------------------------------------------
    def _issue_comments(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        since = query_since(call.query, "IssueComment")
        comments = [c for c in self.store.comments_of(issue)
                    if since is None or parse_time(c.updated_at) >= since]  # type: ignore[operator]
        return 200, [view.comment(c) for c in self.page(call, comments)]

    def _repo_comments(self, call: ApiCall, view: View) -> Reply:
        q = call.query
        sort = query_enum(q, "sort", ("created", "updated"), "created", "IssueComment")
        direction = query_enum(q, "direction", ("asc", "desc"), "asc", "IssueComment")
        since = query_since(q, "IssueComment")
        comments = [c for c in self.store.comments_of(None)
                    if since is None or parse_time(c.updated_at) >= since]  # type: ignore[operator]
        comments.sort(key=lambda c: (c.created_at if sort == "created" else c.updated_at, c.id),
                      reverse=direction == "desc")
        return 200, [view.comment(c) for c in self.page(call, comments)]

    def _create_comment(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        comment = self.store.create_comment(call.actor, issue,
                                            body_str(call.body(), "body", required=True))
        data = view.comment(comment)
        call.headers["Location"] = data["url"]
        return 201, data

    def _get_comment(self, call: ApiCall, view: View) -> Reply:
        return 200, view.comment(self.store.comment(call.params["comment_id"]))

    def _edit_comment(self, call: ApiCall, view: View) -> Reply:
        comment = self.store.comment(call.params["comment_id"])
        body = body_str(call.body(), "body", required=True)
        return 200, view.comment(self.store.edit_comment(comment, body, call.actor))

    def _delete_comment(self, call: ApiCall, view: View) -> Reply:
        self.store.delete_comment(self.store.comment(call.params["comment_id"]), call.actor)
        return 204, None

    def _events(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        return 200, [view.event(e) for e in self.page(call, self.store.events_of(issue))]

    def _get_event(self, call: ApiCall, view: View) -> Reply:
        event_id = call.params["event_id"]
        found = next((e for e in self.store.events if str(e.id) == event_id), None)
        if found is None:
            raise not_found()
        return 200, {**view.event(found), "issue": view.issue(self.store.issues[found.issue])}

    def _timeline(self, call: ApiCall, view: View) -> Reply:
        issue = self.store.issue(call.params["issue_number"])
        items: list[Event | Comment] = [*self.store.events_of(issue),
                                        *self.store.comments_of(issue)]
        items.sort(key=lambda x: (x.created_at, x.id))
        return 200, [view.event(x, timeline=True) if isinstance(x, Event)
                     else view.timeline_comment(x) for x in self.page(call, items)]

    # -- contents, branches, refs -------------------------------------------------------------


__all__ = ["DOCS", "GitHubEmulator", "match"]
