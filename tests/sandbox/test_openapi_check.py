"""The conformance checker itself: it must fail on what GitHub would never send."""

from __future__ import annotations

from typing import Any

import openapi_check
import pytest

ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"
LABEL = "/repos/{owner}/{repo}/labels/{name}"


def _user() -> dict[str, Any]:
    return {"login": "octo", "id": 1, "node_id": "U1", "avatar_url": "https://a/1",
            "gravatar_id": "", "url": "https://api/u", "html_url": "https://h/u",
            "followers_url": "f", "following_url": "f", "gists_url": "g",
            "starred_url": "s", "subscriptions_url": "s", "organizations_url": "o",
            "repos_url": "r", "events_url": "e", "received_events_url": "r",
            "type": "User", "site_admin": False}


def _issue() -> dict[str, Any]:
    return {"id": 1, "node_id": "I1", "url": "https://api/i/1", "repository_url": "https://r",
            "labels_url": "l", "comments_url": "c", "events_url": "e", "html_url": "h",
            "number": 1, "state": "open", "title": "t", "body": None, "user": _user(),
            "labels": [], "assignee": None, "assignees": [], "milestone": None,
            "locked": False, "active_lock_reason": None, "comments": 0,
            "closed_at": None, "created_at": "2026-11-22T00:00:00Z",
            "updated_at": "2026-11-22T00:00:00Z", "author_association": "OWNER",
            "state_reason": None}


def _public_user() -> dict[str, Any]:
    return {**_user(), "name": None, "company": None, "blog": None, "location": None,
            "email": None, "hireable": None, "bio": None, "public_repos": 0,
            "public_gists": 0, "followers": 0, "following": 0,
            "created_at": "2026-11-22T00:00:00Z", "updated_at": "2026-11-22T00:00:00Z"}


def test_the_description_holds_the_served_routes() -> None:
    assert ("GET", ISSUE) in openapi_check.operations()
    assert "responses" in openapi_check.find_operation("get", ISSUE)


def test_a_correct_issue_passes_and_null_is_allowed_where_nullable() -> None:
    body = _issue()
    assert body["body"] is None and body["milestone"] is None and body["state_reason"] is None
    assert openapi_check.validate_response("GET", ISSUE, 200, body) == []


def test_null_where_the_description_does_not_allow_it_fails() -> None:
    body = _issue()
    body["title"] = None
    assert openapi_check.validate_response("GET", ISSUE, 200, body) == [
        "title: None is not of type 'string'"]


def test_a_missing_required_field_is_named() -> None:
    body = _issue()
    del body["number"]
    assert openapi_check.validate_response("GET", ISSUE, 200, body) == [
        "(body): 'number' is a required property"]


def test_a_wrong_type_is_found_with_its_path() -> None:
    body = _issue()
    body["user"]["id"] = "1"
    assert openapi_check.validate_response("GET", ISSUE, 200, body) == [
        "user/id: '1' is not of type 'integer'"]


def test_a_value_outside_an_enum_fails() -> None:
    body = _issue()
    body["state_reason"] = "fixed"
    problems = openapi_check.validate_response("GET", ISSUE, 200, body)
    assert problems and all(p.startswith("state_reason: ") for p in problems)


def test_properties_called_description_are_kept_in_the_trimmed_description() -> None:
    label = {"id": 1, "node_id": "LA1", "url": "https://api/l", "name": "sev:1",
             "color": "b60205", "default": False, "description": None}
    assert openapi_check.validate_response("GET", LABEL, 200, label) == []
    assert openapi_check.validate_response("GET", LABEL, 200, {**label, "description": 5}) \
        == ["description: 5 is not of type 'string', 'null'"]
    del label["description"]
    assert openapi_check.validate_response("GET", LABEL, 200, label) == [
        "(body): 'description' is a required property"]


def test_one_of_means_exactly_one() -> None:
    public = _public_user()
    assert openapi_check.validate_response("GET", "/user", 200, public) == []
    # Half a private user: more than public-user allows, less than private-user requires.
    half = {**public, "two_factor_authentication": True}
    assert openapi_check.validate_response("GET", "/user", 200, half) == [
        "(body): matches none of the alternatives of its oneOf ("
        "#0: 'collaborators' is a required property; "
        "#1: Additional properties are not allowed ('two_factor_authentication' was unexpected))"]


def test_undocumented_statuses_fail() -> None:
    problems = openapi_check.validate_response("GET", ISSUE, 418, {"message": "teapot"})
    assert problems == [f"status 418 is not documented for GET {ISSUE} "
                        "(documented: 200, 301, 304, 404, 410)"]
    assert openapi_check.validate_response("DELETE", LABEL, 404, {"message": "Not Found"}) == [
        f"status 404 is not documented for DELETE {LABEL} (documented: 204)"]
    assert openapi_check.validate_response("POST", "/repos/{owner}/{repo}/issues", 304,
                                           None) != []


def test_documented_error_bodies_are_checked() -> None:
    assert openapi_check.validate_response("GET", ISSUE, 404, {"message": "Not Found"}) == []
    assert openapi_check.validate_response("GET", ISSUE, 404, {"message": 7}) == [
        "message: 7 is not of type 'string'"]


def test_204_and_304_have_no_body() -> None:
    assert openapi_check.validate_response("GET", ISSUE, 304, None) == []
    assert openapi_check.validate_response("DELETE", LABEL, 204, None) == []
    assert openapi_check.validate_response("GET", ISSUE, 304, _issue()) == [
        "status 304 has no body, but one was sent"]
    assert openapi_check.validate_response("DELETE", LABEL, 204, {}) != []


def test_an_unknown_operation_is_an_error() -> None:
    with pytest.raises(KeyError, match="PUT /nothing is not in the description"):
        openapi_check.find_operation("PUT", "/nothing")


def test_nullable_becomes_json_schema() -> None:
    convert = openapi_check.to_json_schema
    assert convert({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert convert({"type": "string", "enum": ["a"], "nullable": True}) == {
        "anyOf": [{"type": "string", "enum": ["a"]}, {"type": "null"}]}
    assert convert({"allOf": [{"$ref": "#/x"}], "nullable": True}) == {
        "anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]}
    assert convert({"type": "string", "nullable": False}) == {"type": "string"}
