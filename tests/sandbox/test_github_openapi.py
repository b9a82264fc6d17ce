"""Every route the GitHub emulator serves answers as GitHub's OpenAPI description says.

One scenario drives each route over real HTTP, with its successes and its main errors
(304, 401, 404, 409, 422), and checks each answer against the response schema the official
description gives for that operation and status.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import openapi_check  # tests/sandbox/, on sys.path as the tests' own folder
import pytest
import requests

from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.github_routes import ROUTES

TOKEN = DEFAULTS["GITHUB_TOKEN"]
R = f"/repos/{DEFAULTS['GITHUB_REPOSITORY']}"


@dataclass
class Answer:
    method: str
    template: str
    status: int
    body: Any
    etag: str


@dataclass
class Client:
    """Sends raw requests and records which route answered and what it said."""

    sandbox: Sandbox
    session: requests.Session = field(default_factory=requests.Session)
    answers: list[Answer] = field(default_factory=list)

    def __call__(self, method: str, path: str, expect: int, *, token: str | None = TOKEN,
                 etag: str | None = None, **kwargs: Any) -> Any:
        headers = {"Accept": "application/vnd.github+json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if etag is not None:
            headers["If-None-Match"] = etag
        response = self.session.request(method, self.sandbox.github_url + path,
                                        headers=headers, timeout=10, **kwargs)
        body = response.json() if response.content else None
        operation = self.sandbox.calls_to("github")[-1].operation
        assert response.status_code == expect, (method, path, response.status_code, body)
        self.answers.append(Answer(method, operation.partition(" ")[2], response.status_code,
                                   body, response.headers.get("ETag", "")))
        return body


@pytest.fixture
def hit(sandbox: Sandbox) -> Iterator[Client]:
    client = Client(sandbox)
    yield client
    client.session.close()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def drive_every_route(hit: Client) -> None:
    # -- who, limits, the repository --------------------------------------------------------
    hit("GET", "/rate_limit", 200)
    hit("GET", "/user", 200)
    hit("GET", "/user", 304, etag=hit.answers[-1].etag)
    hit("GET", "/user", 401, token=None)
    hit("GET", "/user", 401, token="wrong")
    hit("GET", "/users/alice", 200)
    hit("GET", "/users/acme", 200)
    hit("GET", "/users/nobody", 404)
    hit("GET", R, 200)
    hit("GET", R, 304, etag=hit.answers[-1].etag)
    hit("GET", "/repos/acme/other", 404)

    # -- repository labels ------------------------------------------------------------------
    hit("POST", f"{R}/labels", 201, json={"name": "sev:1", "color": "b60205",
                                          "description": "Critical"})
    hit("POST", f"{R}/labels", 422, json={"name": "SEV:1", "color": "b60205"})
    hit("POST", f"{R}/labels", 422, json={"name": "sev:2", "color": "red"})
    hit("GET", f"{R}/labels", 200, params={"per_page": "5"})
    hit("GET", f"{R}/labels/sev%3A1", 200)
    hit("GET", f"{R}/labels/nothing", 404)
    hit("PATCH", f"{R}/labels/SEV%3A1", 200, json={"new_name": "sev:1", "color": "ff0000"})
    hit("PATCH", f"{R}/labels/sev%3A1", 422, json={"color": "nope"})
    hit("POST", f"{R}/labels", 201, json={"name": "temporary", "color": "000000"})
    hit("DELETE", f"{R}/labels/temporary", 204)
    hit("DELETE", f"{R}/labels/temporary", 404)

    # -- issues -----------------------------------------------------------------------------
    hit("POST", f"{R}/issues", 201, json={"title": "Checkout down", "body": "500s",
                                          "labels": ["sev:1"], "assignees": ["alice"]})
    hit("POST", f"{R}/issues", 422, json={"body": "no title"})
    hit("POST", f"{R}/issues", 201, json={"title": "Second"})
    hit("GET", f"{R}/issues", 200, params={"state": "all", "per_page": "1"})
    hit("GET", f"{R}/issues", 422, params={"state": "sideways"})
    hit("GET", f"{R}/issues/1", 200)
    hit("GET", f"{R}/issues/1", 304, etag=hit.answers[-1].etag)
    hit("GET", f"{R}/issues/99", 404)
    hit("PATCH", f"{R}/issues/1", 200, json={"title": "Checkout down in EU", "state": "closed",
                                             "state_reason": "completed"})
    hit("PATCH", f"{R}/issues/1", 200, json={"state": "open"})
    hit("PATCH", f"{R}/issues/1", 422, json={"state": "sideways"})
    hit("PATCH", f"{R}/issues/99", 404, json={"state": "closed"})

    # -- issue labels and assignees ---------------------------------------------------------
    hit("GET", f"{R}/issues/1/labels", 200)
    hit("POST", f"{R}/issues/1/labels", 200, json=["status:fixing"])
    hit("POST", f"{R}/issues/1/labels", 200, json={"labels": ["public"]})
    hit("POST", f"{R}/issues/99/labels", 404, json=["x"])
    hit("PUT", f"{R}/issues/1/labels", 200, json={"labels": ["sev:1", "status:fixing"]})
    hit("PUT", f"{R}/issues/1/labels", 422, json={"labels": [1]})
    hit("DELETE", f"{R}/issues/1/labels/status%3Afixing", 200)
    hit("DELETE", f"{R}/issues/1/labels/status%3Afixing", 404)
    hit("DELETE", f"{R}/issues/2/labels", 204)
    hit("POST", f"{R}/issues/1/assignees", 201, json={"assignees": ["bob"]})
    hit("DELETE", f"{R}/issues/1/assignees", 200, json={"assignees": ["bob"]})

    # -- comments ---------------------------------------------------------------------------
    comment = hit("POST", f"{R}/issues/1/comments", 201, json={"body": "Investigating"})
    hit("POST", f"{R}/issues/1/comments", 422, json={"body": ""})
    hit("POST", f"{R}/issues/99/comments", 404, json={"body": "x"})
    hit("GET", f"{R}/issues/1/comments", 200)
    hit("GET", f"{R}/issues/99/comments", 404)
    hit("GET", f"{R}/issues/comments", 200, params={"sort": "updated", "direction": "desc"})
    hit("GET", f"{R}/issues/comments", 422, params={"since": "yesterday"})
    hit("GET", f"{R}/issues/comments/{comment['id']}", 200)
    hit("GET", f"{R}/issues/comments/{comment['id']}", 304, etag=hit.answers[-1].etag)
    hit("GET", f"{R}/issues/comments/1", 404)
    hit("PATCH", f"{R}/issues/comments/{comment['id']}", 200, json={"body": "Fixing"})
    hit("PATCH", f"{R}/issues/comments/{comment['id']}", 422, json={"body": "x" * 65537})
    extra = hit("POST", f"{R}/issues/1/comments", 201, json={"body": "to delete"})
    hit("DELETE", f"{R}/issues/comments/{extra['id']}", 204)
    hit("DELETE", f"{R}/issues/comments/{extra['id']}", 404)

    # -- events and the timeline ------------------------------------------------------------
    events = hit("GET", f"{R}/issues/1/events", 200)
    hit("GET", f"{R}/issues/99/events", 404)
    hit("GET", f"{R}/issues/events/{events[0]['id']}", 200)
    hit("GET", f"{R}/issues/events/1", 404)
    hit("GET", f"{R}/issues/1/timeline", 200)
    hit("GET", f"{R}/issues/99/timeline", 404)

    # -- contents ---------------------------------------------------------------------------
    path = f"{R}/contents/incidents/2026-11/x.md"
    made = hit("PUT", path, 201, json={"message": "Add", "content": b64("one\n")})
    hit("PUT", path, 409, json={"message": "Edit", "content": b64("two\n"), "sha": "0" * 40})
    hit("PUT", path, 422, json={"message": "Edit", "content": b64("two\n")})
    hit("PUT", f"{R}/contents/other.md", 404, json={"message": "m", "content": b64("x"),
                                                    "branch": "nothing"})
    edited = hit("PUT", path, 200, json={"message": "Edit", "content": b64("two\n"),
                                         "sha": made["content"]["sha"]})
    hit("GET", path, 200)
    hit("GET", f"{R}/contents/incidents", 200, params={"ref": "main"})
    hit("GET", f"{R}/contents/missing.md", 404)
    hit("DELETE", path, 409, json={"message": "Remove", "sha": "0" * 40})
    hit("DELETE", path, 422, json={"message": "Remove"})
    hit("DELETE", path, 200, json={"message": "Remove", "sha": edited["content"]["sha"]})
    hit("DELETE", path, 404, json={"message": "Remove", "sha": edited["content"]["sha"]})

    # -- branches, refs, pull requests ------------------------------------------------------
    main = hit("GET", f"{R}/branches/main", 200)
    hit("GET", f"{R}/branches/nothing", 404)
    hit("GET", f"{R}/git/ref/heads/main", 200)
    hit("GET", f"{R}/git/ref/heads/nothing", 404)
    sha = main["commit"]["sha"]
    hit("POST", f"{R}/git/refs", 201, json={"ref": "refs/heads/postmortem/x", "sha": sha})
    hit("POST", f"{R}/git/refs", 422, json={"ref": "refs/heads/postmortem/x", "sha": sha})
    # the turns: an empty commit, a ref that exists once, moved fast-forward only, listed
    empty = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    claim = hit("POST", f"{R}/git/commits", 201, json={"message": "claim", "tree": empty})
    hit("POST", f"{R}/git/commits", 422, json={"message": "x", "tree": "f" * 40})
    hit("GET", f"{R}/git/commits/{claim['sha']}", 200)
    hit("GET", f"{R}/git/commits/{'0' * 40}", 404)
    hit("POST", f"{R}/git/refs", 201, json={"ref": "refs/incidentbot/turns/1/0",
                                           "sha": claim["sha"]})
    child = hit("POST", f"{R}/git/commits", 201, json={"message": "taken over", "tree": empty,
                                                      "parents": [claim["sha"]]})
    hit("PATCH", f"{R}/git/refs/incidentbot/turns/1/0", 422, json={"sha": sha})  # not a ff
    hit("PATCH", f"{R}/git/refs/incidentbot/turns/1/0", 200, json={"sha": child["sha"]})
    listed = hit("GET", f"{R}/git/matching-refs/incidentbot/turns/1/", 200)
    assert [r["ref"] for r in listed] == ["refs/incidentbot/turns/1/0"]
    assert hit("GET", f"{R}/git/matching-refs/incidentbot/turns/2/", 200) == []
    hit("DELETE", f"{R}/git/refs/incidentbot/turns/1/0", 204)
    hit("DELETE", f"{R}/git/refs/incidentbot/turns/1/0", 422)
    # a scheduled drill starts as a run of the Drill workflow
    hit("POST", f"{R}/actions/workflows/drill.yml/dispatches", 204,
        json={"ref": "main", "inputs": {"scenario": "quick"}})
    hit("POST", f"{R}/actions/workflows/drill.yml/dispatches", 422, json={"ref": "nothing"})
    pull = {"title": "Postmortem", "head": "acme:postmortem/x", "base": "main", "body": "b"}
    hit("POST", f"{R}/pulls", 422, json=pull)  # no commits between main and the branch
    hit("PUT", f"{R}/contents/incidents/x.md", 201, json={
        "message": "Add postmortem", "content": b64("# x\n"), "branch": "postmortem/x"})
    created = hit("POST", f"{R}/pulls", 201, json=pull)
    hit("POST", f"{R}/pulls", 422, json=pull)  # one is already open
    hit("GET", f"{R}/pulls", 200, params={"head": "acme:postmortem/x", "state": "all"})
    hit("GET", f"{R}/pulls/{created['number']}", 200)
    hit("GET", f"{R}/pulls/{created['number']}", 304, etag=hit.answers[-1].etag)
    hit("GET", f"{R}/pulls/1", 404)  # an issue, not a pull request
    reviewers = f"{R}/pulls/{created['number']}/requested_reviewers"
    asked = hit("POST", reviewers, 201, json={"reviewers": ["alice", "bob"]})
    assert [u["login"] for u in asked["requested_reviewers"]] == ["alice", "bob"]
    hit("POST", reviewers, 201, json={"reviewers": ["alice"]})  # again: harmless
    hit("POST", reviewers, 422, json={"reviewers": ["mallory"]})  # not a collaborator
    hit("POST", reviewers, 422, json={"reviewers": [created["user"]["login"]]})  # the author
    hit("POST", f"{R}/issues/{created['number']}/assignees", 201, json={"assignees": ["bob"]})
    hit.sandbox.github_merge("alice", created["number"])
    merged = hit("GET", f"{R}/pulls", 200, params={"state": "closed", "sort": "updated",
                                                    "direction": "desc"})
    assert [p["number"] for p in merged] == [created["number"]] and merged[0]["merged_at"]
    hit("GET", f"{R}/pulls", 422, params={"sort": "sideways"})
    hit.sandbox.github_deploy("alice", "main", "production", "release 1")
    hit.sandbox.github_deploy("bob", "postmortem/x", "staging")
    deployed = hit("GET", f"{R}/deployments", 200)
    assert [d["environment"] for d in deployed] == ["staging", "production"]
    hit("GET", f"{R}/deployments", 200, params={"environment": "production"})
    hit("GET", f"{R}/issues", 200, params={"state": "all"})  # now with a pull request in it


# Where GitHub answers beyond its own description. The checker stays as strict as the
# description; each answer named here must still fail it (so an entry goes once the
# description catches up) and its body is checked against the schema GitHub sends instead.
# None: no body. Sources: GitHub's REST docs, "Best practices" (conditional requests) and
# "Troubleshooting" (404 for what is missing, 422 for a failed validation).
BEYOND_THE_DESCRIPTION: dict[tuple[str, str, int], tuple[str | None, str]] = {
    ("GET", "/repos/{owner}/{repo}", 304): (
        None, "a conditional GET of an unchanged repository; only some GETs list 304"),
    ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 304): (
        None, "a conditional GET of an unchanged comment"),
    ("PATCH", "/repos/{owner}/{repo}/labels/{name}", 422): (
        "validation-error", "an invalid color; the operation lists only 200"),
    ("DELETE", "/repos/{owner}/{repo}/labels/{name}", 404): (
        "basic-error", "no such label; the operation lists only 204"),
    ("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 404): (
        "basic-error", "no such comment; the operation lists only 204"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/events", 404): (
        "basic-error", "no such issue; the operation lists only 200 and 410"),
    ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", 422): (
        "basic-error", "a ref that does not exist (\"No ref found for: x\"); the description "
        "lists only 200 and 204"),
    ("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}", 422): (
        "basic-error", "a ref that does not exist: GitHub says so in a message; the "
        "description lists 422 without a body"),
    ("PUT", "/repos/{owner}/{repo}/contents/{path}", 409): (
        "basic-error", "the 409 schema is a oneOf of basic-error and "
        "repository-rule-violation-error, open objects of optional fields: every object "
        "matches both, so no body can pass it"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", 422): (
        "basic-error", "a reviewer who is not a collaborator, or the author: the operation "
        "lists 422 without content, GitHub sends its usual error message"),
}


def test_every_route_answers_as_the_openapi_description_says(hit: Client) -> None:
    drive_every_route(hit)
    problems = []
    beyond = set()
    for answer in hit.answers:
        key = (answer.method, answer.template, answer.status)
        try:
            result = openapi_check.validate_response(*key, answer.body)
        except Exception as exc:  # the checker's own report of a mismatch
            problems.append(f"{answer.method} {answer.template} {answer.status}: {exc}")
            continue
        if key in BEYOND_THE_DESCRIPTION:
            beyond.add(key)
            if not result:
                problems.append(f"{key}: the description now allows it; drop its entry")
            schema = BEYOND_THE_DESCRIPTION[key][0]
            if schema is None:
                result = [] if answer.body is None else ["a body where none is sent"]
            else:
                result = openapi_check.validate_schema(answer.body, schema)
        if result:
            problems.append(f"{answer.method} {answer.template} {answer.status}: {result}")
    assert problems == []
    assert beyond == set(BEYOND_THE_DESCRIPTION)

    served = set(ROUTES)
    exercised = {(a.method, a.template) for a in hit.answers}
    assert exercised == served
    statuses = {a.status for a in hit.answers}
    assert {200, 201, 204, 304, 401, 404, 409, 422} <= statuses


def test_the_emulator_serves_no_route_the_description_lacks() -> None:
    documented = {(m.upper(), t) for m, t in _operations()}
    assert set(ROUTES) - documented == set()


def _operations() -> set[tuple[str, str]]:
    out = set()
    for item in openapi_check.operations():
        method, template = item.split(" ", 1) if isinstance(item, str) else item[:2]
        out.add((method.upper(), template))
    return out
