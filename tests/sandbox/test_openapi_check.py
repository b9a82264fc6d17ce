"""The conformance checker itself: it must fail on what GitHub would never send."""

from __future__ import annotations

import openapi_check

ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"


def _issue() -> dict[str, object]:
    owner = {"login": "octo", "id": 1, "node_id": "U1", "avatar_url": "https://a/1",
             "gravatar_id": "", "url": "https://api/u", "html_url": "https://h/u",
             "followers_url": "f", "following_url": "f", "gists_url": "g",
             "starred_url": "s", "subscriptions_url": "s", "organizations_url": "o",
             "repos_url": "r", "events_url": "e", "received_events_url": "r",
             "type": "User", "site_admin": False}
    return {"id": 1, "node_id": "I1", "url": "https://api/i/1", "repository_url": "https://r",
            "labels_url": "l", "comments_url": "c", "events_url": "e", "html_url": "h",
            "number": 1, "state": "open", "title": "t", "body": None, "user": owner,
            "labels": [], "assignee": None, "assignees": [], "milestone": None,
            "locked": False, "active_lock_reason": None, "comments": 0,
            "closed_at": None, "created_at": "2026-11-22T00:00:00Z",
            "updated_at": "2026-11-22T00:00:00Z", "author_association": "OWNER",
            "state_reason": None}


def test_the_description_holds_the_served_routes() -> None:
    assert ("GET", ISSUE) in openapi_check.operations()
    assert "responses" in openapi_check.find_operation("GET", ISSUE)


def test_a_correct_issue_passes_and_null_is_allowed_where_nullable() -> None:
    assert openapi_check.validate_response("GET", ISSUE, 200, _issue()) == []


def test_a_missing_required_field_is_named() -> None:
    body = _issue()
    del body["number"]
    problems = openapi_check.validate_response("GET", ISSUE, 200, body)
    assert any("'number' is a required property" in p for p in problems)


def test_a_wrong_type_is_found_with_its_path() -> None:
    body = _issue()
    body["labels"] = [{"name": 5}]
    problems = openapi_check.validate_response("GET", ISSUE, 200, body)
    assert problems and all(p.startswith("labels/0") for p in problems)


def test_undocumented_statuses_fail_except_the_general_ones() -> None:
    problems = openapi_check.validate_response("GET", ISSUE, 418, {"message": "teapot"})
    assert problems == [f"status 418 is not documented for GET {ISSUE} "
                        "(documented: 200, 301, 304, 404, 410)"]
    assert openapi_check.validate_response("GET", ISSUE, 304, None) == []
    assert openapi_check.validate_response("POST", "/repos/{owner}/{repo}/issues", 304,
                                           None) != []
    assert openapi_check.validate_response("GET", ISSUE, 401, {"message": 7}) != []
