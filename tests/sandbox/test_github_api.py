"""The GitHub emulator through the real PyGithub client (and `requests` where PyGithub can't)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from github import Auth, BadCredentialsException, Github, GithubException, GithubRetry

from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.github_api import GitHubEmulator

TOKEN = DEFAULTS["GITHUB_TOKEN"]
REPO = DEFAULTS["GITHUB_REPOSITORY"]
T0 = datetime(2026, 11, 22, 13, 41, tzinfo=UTC)


def api(sandbox: Sandbox, method: str, path: str, *, token: str | None = TOKEN,
        headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    """One raw request, for what PyGithub cannot send (the object label body, bad JSON…)."""
    sent = {"Accept": "application/vnd.github+json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"token {token}"
    return requests.request(method, f"{sandbox.github_url}{path}", headers=sent, timeout=10,
                            **kwargs)


class Clock:
    """A settable clock for the emulator: frozen at T0 until moved."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> str:
        self.now += timedelta(**delta)
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def clock(sandbox: Sandbox) -> Clock:
    sandbox.github.clock = frozen = Clock()
    return frozen


@pytest.fixture
def repo(gh):  # type: ignore[no-untyped-def]
    return gh.get_repo(REPO)


def client(sandbox: Sandbox, **kwargs: Any) -> Github:
    return Github(base_url=sandbox.github_url, auth=Auth.Token(TOKEN),
                  seconds_between_requests=None, seconds_between_writes=None, **kwargs)


# -- issues -------------------------------------------------------------------------------------
def test_issue_create_get_edit_close_reopen(sandbox: Sandbox, repo: Any, clock: Clock) -> None:
    issue = repo.create_issue("Checkout is down", body="500s since 13:40",
                              labels=["sev:1"], assignees=["alice"])
    assert (issue.number, issue.state, issue.user.login) == (1, "open", "incidentbot-sandbox")
    assert [x.name for x in issue.labels] == ["sev:1"]
    assert [x.login for x in issue.assignees] == ["alice"]
    assert issue.created_at == T0 and issue.closed_at is None
    assert issue.html_url == "https://github.com/acme/incidents/issues/1"
    assert issue.url == f"{sandbox.github_url}/repos/acme/incidents/issues/1"

    clock.advance(minutes=5)
    issue.edit(title="Checkout is down in EU", state="closed", state_reason="not_planned")
    got = repo.get_issue(1)
    assert (got.title, got.state, got.state_reason) == ("Checkout is down in EU", "closed",
                                                        "not_planned")
    assert got.closed_at == T0 + timedelta(minutes=5) == got.updated_at
    assert got.closed_by.login == "incidentbot-sandbox"

    clock.advance(minutes=1)
    got.edit(state="open")
    again = repo.get_issue(1)
    assert (again.state, again.state_reason, again.closed_at, again.closed_by) == (
        "open", "reopened", None, None)
    assert repo.create_issue("Second").number == 2


def test_a_missing_title_is_a_validation_error(sandbox: Sandbox) -> None:
    response = api(sandbox, "POST", f"/repos/{REPO}/issues", json={"body": "no title"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"resource": "Issue", "field": "title", "code": "missing_field"}]


def test_bad_json_and_wrong_types_are_refused(sandbox: Sandbox) -> None:
    bad = api(sandbox, "POST", f"/repos/{REPO}/issues", data=b"{not json",
              headers={"Content-Type": "application/json"})
    assert (bad.status_code, bad.json()["message"]) == (400, "Problems parsing JSON")
    wrong = api(sandbox, "POST", f"/repos/{REPO}/issues", json={"title": "x", "labels": 3})
    assert wrong.status_code == 422
    assert wrong.json()["message"].startswith("Invalid request.")
    assert api(sandbox, "PATCH", f"/repos/{REPO}/issues/1", json={}).status_code == 404
    api(sandbox, "POST", f"/repos/{REPO}/issues", json={"title": "x"})
    assert api(sandbox, "PATCH", f"/repos/{REPO}/issues/1",
               json={"state": "shut"}).status_code == 422


def test_unknown_repository_and_issue_are_404(sandbox: Sandbox, gh: Any) -> None:
    with pytest.raises(GithubException) as caught:
        gh.get_repo("acme/other").get_issue(1)
    assert caught.value.status == 404
    response = api(sandbox, "GET", "/repos/acme/other/issues")
    assert (response.status_code, response.json()["message"]) == (404, "Not Found")
    assert api(sandbox, "GET", f"/repos/{REPO}/issues/7").status_code == 404


def test_list_filters_state_labels_since_creator_assignee(sandbox: Sandbox, repo: Any,
                                                          clock: Clock) -> None:
    repo.create_issue("one", labels=["sev:1", "service:api"], assignees=["bob"])
    start = clock.advance(minutes=1)
    repo.create_issue("two", labels=["sev:2"])
    three = repo.create_issue("three", labels=["Sev:1"])
    three.edit(state="closed")

    def numbers(**kwargs: Any) -> list[int]:
        return [i.number for i in repo.get_issues(**kwargs)]

    assert numbers() == [2, 1]  # open, newest first
    assert numbers(state="closed") == [3]
    assert numbers(state="all", direction="asc") == [1, 2, 3]
    assert numbers(state="all", labels=["SEV:1"]) == [3, 1]  # case-insensitive
    assert numbers(state="all", labels=["sev:1", "service:api"]) == [1]  # AND
    assert numbers(state="all", labels=["nothing"]) == []
    assert numbers(state="all", since=datetime.fromisoformat(start)) == [3, 2]
    assert numbers(assignee="bob") == [1]
    assert numbers(assignee="none") == [2]
    assert numbers(creator="incidentbot-sandbox", state="all").__len__() == 3
    clock.advance(minutes=1)
    repo.get_issue(1).create_comment("bump")
    assert numbers(state="all", sort="updated")[0] == 1
    assert numbers(state="all", sort="comments")[0] == 1


def test_pagination_follows_link_headers_and_counts(sandbox: Sandbox) -> None:
    store = sandbox.github.store  # 250 issues straight into the store: the HTTP path is tested
    for n in range(250):
        store.create_issue("incidentbot-sandbox", f"issue {n + 1}", None, [], [])
    gh = client(sandbox, retry=None, per_page=100)
    issues = gh.get_repo(REPO).get_issues(state="all", direction="asc")
    assert [i.number for i in issues] == list(range(1, 251))
    assert issues.totalCount == 250
    pages = [c for c in sandbox.calls_to("github", "GET /repos/{owner}/{repo}/issues")
             if c.query.get("per_page") == "100"]
    assert len(pages) == 3

    middle = api(sandbox, "GET", f"/repos/{REPO}/issues",
                 params={"state": "all", "per_page": "100", "page": "2"})
    assert [x["number"] for x in middle.json()][:2] == [150, 149]
    links = middle.links
    assert set(links) == {"first", "prev", "next", "last"}
    assert links["last"]["url"].startswith(sandbox.github_url + f"/repos/{REPO}/issues?")
    assert "state=all" in links["next"]["url"] and "page=3" in links["next"]["url"]
    assert "per_page=100" in links["last"]["url"]
    big = api(sandbox, "GET", f"/repos/{REPO}/issues", params={"per_page": "500"})
    assert len(big.json()) == 100  # capped as GitHub caps it


# -- labels -------------------------------------------------------------------------------------
def test_repository_starts_with_githubs_default_labels(repo: Any) -> None:
    names = [x.name for x in repo.get_labels()]
    assert names == ["bug", "documentation", "duplicate", "enhancement", "good first issue",
                     "help wanted", "invalid", "question", "wontfix"]


def test_issue_labels_add_remove_set_and_case(sandbox: Sandbox, repo: Any) -> None:
    repo.create_label("sev:1", "b60205", "Critical")
    issue = repo.create_issue("x")
    issue.add_to_labels("SEV:1", "status:open")  # PyGithub sends a bare JSON array
    assert [x.name for x in issue.get_labels()] == ["sev:1", "status:open"]
    created = repo.get_label("STATUS:OPEN")
    assert (created.name, created.color) == ("status:open", "ededed")

    # The spec's own body shape, {"labels": [...]}; adding one already there changes nothing.
    response = api(sandbox, "POST", f"/repos/{REPO}/issues/1/labels",
                   json={"labels": ["sev:1", "public"]})
    assert response.status_code == 200
    assert [x["name"] for x in response.json()] == ["sev:1", "status:open", "public"]

    issue.remove_from_labels("sev:1")  # DELETE …/labels/sev%3A1
    assert [c.path for c in sandbox.calls_to("github")][-1].endswith("/labels/sev%3A1")
    missing = api(sandbox, "DELETE", f"/repos/{REPO}/issues/1/labels/sev%3A1")
    assert (missing.status_code, missing.json()["message"]) == (404, "Label does not exist")

    issue.set_labels("status:fixing", "public")
    assert [x.name for x in repo.get_issue(1).labels] == ["public", "status:fixing"]
    response = api(sandbox, "PUT", f"/repos/{REPO}/issues/1/labels", json={"labels": ["bug"]})
    assert [x["name"] for x in response.json()] == ["bug"]
    issue.delete_labels()
    assert repo.get_issue(1).labels == []


def test_repository_labels_create_validate_rename_delete(sandbox: Sandbox, repo: Any) -> None:
    label = repo.create_label("sev:2", "D93F0B", "Major")
    assert (label.color, label.description, label.default) == ("d93f0b", "Major", False)
    with pytest.raises(GithubException) as bad_color:
        repo.create_label("sev:3", "orange")
    assert bad_color.value.status == 422
    assert bad_color.value.data["errors"][0]["field"] == "color"
    with pytest.raises(GithubException) as duplicate:
        repo.create_label("SEV:2", "ffffff")
    assert duplicate.value.status == 422
    assert duplicate.value.data["errors"][0]["code"] == "already_exists"

    issue = repo.create_issue("x", labels=["sev:2"])
    repo.get_label("Sev:2").edit("severity:2", "000000", "Renamed")
    assert [x.name for x in repo.get_issue(issue.number).labels] == ["severity:2"]
    repo.get_label("severity:2").delete()
    assert repo.get_issue(issue.number).labels == []
    assert api(sandbox, "GET", f"/repos/{REPO}/labels/severity%3A2").status_code == 404


# -- comments, events, timeline -----------------------------------------------------------------
def test_comments_create_list_edit_delete(sandbox: Sandbox, repo: Any, clock: Clock) -> None:
    issue = repo.create_issue("x")
    first = issue.create_comment("Investigating")
    later = clock.advance(minutes=2)
    second = issue.create_comment("Fix deployed")
    assert first.id != second.id and first.id > issue.number
    assert repo.get_issue(1).comments == 2
    assert repo.get_issue(1).updated_at == datetime.fromisoformat(later)
    assert [c.body for c in issue.get_comments()] == ["Investigating", "Fix deployed"]
    assert [c.body for c in issue.get_comments(since=datetime.fromisoformat(later))] == [
        "Fix deployed"]
    first.edit("Investigating (edited)")
    assert issue.get_comment(first.id).body == "Investigating (edited)"
    assert [c.id for c in repo.get_issues_comments(sort="created", direction="desc")] == [
        second.id, first.id]
    second.delete()
    assert [c.id for c in issue.get_comments()] == [first.id]
    assert repo.get_issue(1).comments == 1

    empty = api(sandbox, "POST", f"/repos/{REPO}/issues/1/comments", json={"body": ""})
    assert empty.status_code == 422
    long = api(sandbox, "POST", f"/repos/{REPO}/issues/1/comments", json={"body": "x" * 65537})
    assert long.status_code == 422 and "too long" in long.json()["errors"][0]["message"]
    ok = api(sandbox, "POST", f"/repos/{REPO}/issues/1/comments", json={"body": "x" * 65536})
    assert ok.status_code == 201


def test_events_and_timeline_record_who_did_what(repo: Any, clock: Clock) -> None:
    issue = repo.create_issue("x", labels=["sev:1"])
    clock.advance(seconds=10)
    issue.add_to_labels("status:fixing")
    issue.remove_from_labels("sev:1")
    issue.create_comment("Update")
    issue.edit(title="y", state="closed")
    issue.edit(state="open")
    issue.add_to_assignees("carol")
    issue.remove_from_assignees("carol")

    events = [(e.event, e.actor.login, e.raw_data.get("label", {}).get("name"))
              for e in issue.get_events()]
    assert events == [
        ("labeled", "incidentbot-sandbox", "sev:1"),
        ("labeled", "incidentbot-sandbox", "status:fixing"),
        ("unlabeled", "incidentbot-sandbox", "sev:1"),
        ("renamed", "incidentbot-sandbox", None),
        ("closed", "incidentbot-sandbox", None),
        ("reopened", "incidentbot-sandbox", None),
        ("assigned", "incidentbot-sandbox", None),
        ("unassigned", "incidentbot-sandbox", None),
    ]
    renamed = next(e for e in issue.get_events() if e.event == "renamed")
    assert renamed.rename == {"from": "x", "to": "y"}
    assert next(iter(issue.get_events())).created_at == T0
    timeline = [t.event for t in issue.get_timeline()]
    assert timeline == ["labeled", "labeled", "unlabeled", "commented", "renamed", "closed",
                        "reopened", "assigned", "unassigned"]


def test_assignees_ignore_people_without_access(sandbox: Sandbox, repo: Any) -> None:
    issue = repo.create_issue("x")
    issue.add_to_assignees("alice", "stranger")
    assert [x.login for x in repo.get_issue(1).assignees] == ["alice"]
    refused = api(sandbox, "POST", f"/repos/{REPO}/issues", json={"title": "y",
                                                                   "assignees": ["stranger"]})
    assert refused.status_code == 422


# -- contents, branches, pull requests ----------------------------------------------------------
def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324


def test_contents_create_update_delete_with_sha_rules(sandbox: Sandbox, repo: Any) -> None:
    text = "# Postmortem\n\n" + "timeline line\n" * 20
    created = repo.create_file("incidents/2026-11/x.md", "Add postmortem", text)
    sha = created["content"].sha
    assert sha == _blob_sha(text.encode())
    head = repo.get_branch("main").commit
    assert (head.sha, head.commit.message) == (created["commit"].sha, "Add postmortem")

    got = repo.get_contents("incidents/2026-11/x.md")
    assert got.decoded_content == text.encode() and got.sha == sha
    lines = got.raw_data["content"].split("\n")
    assert all(len(x) == 60 for x in lines[:-2]) and lines[-1] == ""
    assert [x.path for x in repo.get_contents("incidents")] == ["incidents/2026-11"]
    assert {x.name for x in repo.get_contents("")} == {"README.md", "incidents"}

    with pytest.raises(GithubException) as stale:
        repo.update_file("incidents/2026-11/x.md", "Edit", "new", "0" * 40)
    assert stale.value.status == 409 and "does not match" in stale.value.data["message"]
    no_sha = api(sandbox, "PUT", f"/repos/{REPO}/contents/incidents/2026-11/x.md",
                 json={"message": "m", "content": base64.b64encode(b"new").decode()})
    assert no_sha.status_code == 422

    updated = repo.update_file("incidents/2026-11/x.md", "Edit", "new text\n", sha)
    assert updated["content"].sha == _blob_sha(b"new text\n")
    assert updated["commit"].parents[0].sha == created["commit"].sha
    repo.delete_file("incidents/2026-11/x.md", "Remove", updated["content"].sha)
    with pytest.raises(GithubException) as gone:
        repo.get_contents("incidents/2026-11/x.md")
    assert gone.value.status == 404


def test_branch_ref_and_pull_request(sandbox: Sandbox, repo: Any) -> None:
    main = repo.get_branch("main")
    assert repo.get_git_ref("heads/main").object.sha == main.commit.sha
    repo.create_git_ref("refs/heads/postmortem/x", main.commit.sha)
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/postmortem/x", main.commit.sha)
    assert (exists.value.status, exists.value.data["message"]) == (422,
                                                                   "Reference already exists")
    with pytest.raises(GithubException) as empty:
        repo.create_pull(base="main", head="postmortem/x", title="Postmortem")
    assert "No commits between" in empty.value.data["errors"][0]["message"]

    repo.create_file("incidents/x.md", "Add", "text\n", branch="postmortem/x")
    with pytest.raises(GithubException):
        repo.get_contents("incidents/x.md")  # not on main
    assert repo.get_contents("incidents/x.md", ref="postmortem/x").decoded_content == b"text\n"
    issue = repo.create_issue("an incident first")
    pull = repo.create_pull(base="main", head="acme:postmortem/x", title="Postmortem", body="b")
    assert pull.number == issue.number + 1  # one number sequence with issues
    assert (pull.head.ref, pull.base.ref, pull.commits, pull.additions) == (
        "postmortem/x", "main", 1, 1)
    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(base="main", head="postmortem/x", title="Again")
    assert duplicate.value.status == 422
    assert duplicate.value.data["errors"] == [{
        "resource": "PullRequest", "code": "custom",
        "message": "A pull request already exists for acme:postmortem/x."}]
    assert [p.number for p in repo.get_pulls(head="acme:postmortem/x")] == [pull.number]
    assert repo.get_pulls(head="acme:other").totalCount == 0
    listed = {i.number: i for i in repo.get_issues()}
    assert listed[pull.number].pull_request is not None
    assert listed[issue.number].pull_request is None


# -- auth, rate limits, conditional requests ----------------------------------------------------
def test_missing_and_wrong_tokens_are_401(sandbox: Sandbox) -> None:
    anonymous = Github(base_url=sandbox.github_url, retry=None, seconds_between_requests=None)
    with pytest.raises(GithubException) as missing:
        anonymous.get_repo(REPO)
    assert (missing.value.status, missing.value.data["message"]) == (
        401, "Requires authentication")
    wrong = Github(base_url=sandbox.github_url, auth=Auth.Token("nope"), retry=None,
                   seconds_between_requests=None)
    with pytest.raises(BadCredentialsException):
        wrong.get_user().login  # noqa: B018
    bearer = api(sandbox, "GET", "/user", token=None, headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200


def test_rate_limit_headers_and_free_304s(sandbox: Sandbox, repo: Any, gh: Any) -> None:
    first = api(sandbox, "GET", f"/repos/{REPO}")
    second = api(sandbox, "GET", f"/repos/{REPO}")
    assert first.headers["X-RateLimit-Limit"] == "5000"
    assert first.headers["X-RateLimit-Resource"] == "core"
    assert int(second.headers["X-RateLimit-Remaining"]) == int(
        first.headers["X-RateLimit-Remaining"]) - 1
    assert int(second.headers["X-RateLimit-Used"]) == int(first.headers["X-RateLimit-Used"]) + 1
    assert int(first.headers["X-RateLimit-Reset"]) > datetime.now(UTC).timestamp()
    cached = api(sandbox, "GET", f"/repos/{REPO}", headers={"If-None-Match": second.headers[
        "ETag"]})
    assert (cached.status_code, cached.content) == (304, b"")
    assert cached.headers["X-RateLimit-Remaining"] == second.headers["X-RateLimit-Remaining"]

    issue = repo.get_issue(repo.create_issue("x").number)
    assert issue.update() is False  # unchanged: 304
    api(sandbox, "POST", f"/repos/{REPO}/issues/1/comments", json={"body": "hi"})
    assert issue.update() is True and issue.comments == 1
    assert gh.get_rate_limit().resources.core.remaining == gh.rate_limiting[0]


def test_calls_are_logged_as_route_templates(sandbox: Sandbox, repo: Any) -> None:
    issue = repo.create_issue("x")
    issue.add_to_labels("sev:1")
    issue.remove_from_labels("sev:1")
    assert [c.operation for c in sandbox.calls_to("github")] == [
        "GET /repos/{owner}/{repo}",
        "POST /repos/{owner}/{repo}/issues",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
        "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
    ]


# -- faults -------------------------------------------------------------------------------------
def test_a_lost_answer_and_githubs_default_retry_duplicate_an_issue(sandbox: Sandbox) -> None:
    """Why issue creation must be idempotent: PyGithub retries POST after a 5xx."""
    sandbox.faults.add(kind="error", service="github",
                       operation="POST /repos/{owner}/{repo}/issues", when="after")
    gh = client(sandbox)  # PyGithub's default GithubRetry
    created = gh.get_repo(REPO).create_issue("Checkout is down")
    assert created.number == 2
    assert [i.title for i in gh.get_repo(REPO).get_issues()] == ["Checkout is down"] * 2
    statuses = [c.status for c in sandbox.calls_to("github", "POST /repos/{owner}/{repo}/issues")]
    assert statuses == [500, 201]


def test_a_rate_limit_is_retried_after_retry_after(sandbox: Sandbox) -> None:
    sandbox.faults.add(kind="rate_limit", service="github", operation="GET /user",
                       retry_after=1)
    gh = client(sandbox, retry=GithubRetry(total=3))
    assert gh.get_user().login == "incidentbot-sandbox"
    assert [c.status for c in sandbox.calls_to("github", "GET /user")] == [403, 200]


def test_a_dropped_connection_surfaces_without_retries(sandbox: Sandbox, gh: Any) -> None:
    sandbox.faults.add(kind="drop", service="github")
    with pytest.raises(requests.exceptions.ConnectionError):
        gh.get_repo(REPO)
    assert gh.get_repo(REPO).full_name == REPO


# -- state --------------------------------------------------------------------------------------
def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Sandbox(state_file=state) as first:
        repo = client(first, retry=None).get_repo(REPO)
        issue = repo.create_issue("Persisted", labels=["sev:1"])
        issue.create_comment("kept")
        repo.create_file("incidents/a.md", "Add", "kept\n")
        before = first.github.dump()
    with Sandbox(state_file=state) as second:
        assert second.github.dump() == before
        repo = client(second, retry=None).get_repo(REPO)
        again = repo.get_issue(1)
        assert ([x.name for x in again.labels], again.comments) == (["sev:1"], 1)
        assert repo.get_contents("incidents/a.md").decoded_content == b"kept\n"
        assert repo.create_issue("Next").number == 2


def test_reset_restores_the_seeded_repository(sandbox: Sandbox, repo: Any) -> None:
    repo.create_issue("x")
    repo.create_label("extra", "000000")
    sandbox.reset()
    assert sandbox.github.store.issues == {}
    assert len(sandbox.github.store.labels) == 9
    assert repo.create_issue("y").number == 1


@pytest.fixture
def emulator() -> Iterator[GitHubEmulator]:
    yield GitHubEmulator(repository="acme/incidents", token=TOKEN)


def test_dump_is_json_and_load_round_trips(emulator: GitHubEmulator) -> None:
    import json

    emulator.store.create_issue("incidentbot-sandbox", "x", "b", ["sev:1"], ["alice"])
    data = json.loads(json.dumps(emulator.dump()))
    other = GitHubEmulator(repository="acme/incidents", token=TOKEN)
    other.load(data)
    assert other.dump() == emulator.dump()


def test_a_spent_budget_is_refused_until_the_hour_turns(sandbox: Sandbox, clock: Clock,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from incidentbot.sandbox import github_api

    monkeypatch.setattr(github_api, "RATE_LIMIT", 2)
    assert [api(sandbox, "GET", "/user").status_code for _ in range(3)] == [200, 200, 403]
    refused = api(sandbox, "GET", "/user")
    assert refused.json()["message"].startswith("API rate limit exceeded")
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert api(sandbox, "GET", "/rate_limit").json()["rate"]["remaining"] == 0
    clock.advance(hours=1)
    assert api(sandbox, "GET", "/user").headers["X-RateLimit-Remaining"] == "1"
