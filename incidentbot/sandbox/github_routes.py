"""Every GitHub route the emulator serves, as GitHub's OpenAPI description names them, and
the matching of a request to one."""

from __future__ import annotations

import re
import urllib.parse

REPO = "/repos/{owner}/{repo}"
# Every route the emulator serves: (method, path template, handler), in matching order
# (literal segments before variables). Templates and parameter names are those of GitHub's
# OpenAPI description, so the call log and fault rules name operations as GitHub's docs do.
TABLE: tuple[tuple[str, str, str], ...] = (
    ("GET", "/rate_limit", "rate_limit"),
    ("GET", "/user", "get_user"),
    ("GET", "/users/{username}", "get_a_user"),
    ("GET", REPO, "get_repo"),
    ("GET", f"{REPO}/issues", "list_issues"),
    ("POST", f"{REPO}/issues", "create_issue"),
    ("GET", f"{REPO}/issues/comments", "repo_comments"),
    ("GET", f"{REPO}/issues/comments/{{comment_id}}", "get_comment"),
    ("PATCH", f"{REPO}/issues/comments/{{comment_id}}", "edit_comment"),
    ("DELETE", f"{REPO}/issues/comments/{{comment_id}}", "delete_comment"),
    ("GET", f"{REPO}/issues/events/{{event_id}}", "get_event"),
    ("GET", f"{REPO}/issues/{{issue_number}}", "get_issue"),
    ("PATCH", f"{REPO}/issues/{{issue_number}}", "edit_issue"),
    ("GET", f"{REPO}/issues/{{issue_number}}/comments", "issue_comments"),
    ("POST", f"{REPO}/issues/{{issue_number}}/comments", "create_comment"),
    ("GET", f"{REPO}/issues/{{issue_number}}/events", "events"),
    ("GET", f"{REPO}/issues/{{issue_number}}/timeline", "timeline"),
    ("GET", f"{REPO}/issues/{{issue_number}}/labels", "issue_labels"),
    ("POST", f"{REPO}/issues/{{issue_number}}/labels", "add_labels"),
    ("PUT", f"{REPO}/issues/{{issue_number}}/labels", "set_labels"),
    ("DELETE", f"{REPO}/issues/{{issue_number}}/labels", "clear_labels"),
    ("DELETE", f"{REPO}/issues/{{issue_number}}/labels/{{name}}", "remove_label"),
    ("POST", f"{REPO}/issues/{{issue_number}}/assignees", "add_assignees"),
    ("DELETE", f"{REPO}/issues/{{issue_number}}/assignees", "remove_assignees"),
    ("GET", f"{REPO}/labels", "list_labels"),
    ("POST", f"{REPO}/labels", "create_label"),
    ("GET", f"{REPO}/labels/{{name}}", "get_label"),
    ("PATCH", f"{REPO}/labels/{{name}}", "edit_label"),
    ("DELETE", f"{REPO}/labels/{{name}}", "delete_label"),
    ("GET", f"{REPO}/contents/{{path}}", "get_contents"),
    ("PUT", f"{REPO}/contents/{{path}}", "put_contents"),
    ("DELETE", f"{REPO}/contents/{{path}}", "delete_contents"),
    ("GET", f"{REPO}/branches/{{branch}}", "get_branch"),
    ("GET", f"{REPO}/git/ref/{{ref}}", "get_ref"),
    ("GET", f"{REPO}/git/matching-refs/{{ref}}", "matching_refs"),
    ("POST", f"{REPO}/git/refs", "create_ref"),
    ("PATCH", f"{REPO}/git/refs/{{ref}}", "update_ref"),
    ("DELETE", f"{REPO}/git/refs/{{ref}}", "delete_ref"),
    ("POST", f"{REPO}/git/commits", "create_commit"),
    ("GET", f"{REPO}/git/commits/{{commit_sha}}", "get_commit"),
    ("POST", f"{REPO}/actions/workflows/{{workflow_id}}/dispatches", "dispatch_workflow"),
    ("GET", f"{REPO}/pulls", "list_pulls"),
    ("POST", f"{REPO}/pulls", "create_pull"),
    ("GET", f"{REPO}/pulls/{{pull_number}}", "get_pull"),
    # Postmortem reviews (issue 14): reviewers requested on the review's pull request.
    ("POST", f"{REPO}/pulls/{{pull_number}}/requested_reviewers", "request_reviewers"),
    # "What changed?" (issue 14): a service repository's deployments.
    ("GET", f"{REPO}/deployments", "list_deployments"),
)
ROUTES: tuple[tuple[str, str], ...] = tuple((m, t) for m, t, _ in TABLE)


def pattern_of(template: str) -> re.Pattern[str]:
    out = re.escape(template)
    out = out.replace(re.escape("/{path}"), "(?:/(?P<path>.*))?")  # "" is the root directory
    for name in ("branch", "ref"):
        out = out.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>.+)")
    out = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", out)
    return re.compile(out)


PATTERNS = [(m, t, pattern_of(t)) for m, t, _ in TABLE]
HANDLER_NAMES = {(m, t): f"_{h}" for m, t, h in TABLE}


def match(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """(template, decoded path parameters) of the route serving this request, if any."""
    if path != "/" and not re.search(r"/contents/?$", path):
        path = path.rstrip("/")
    for verb, template, pattern in PATTERNS:
        found = pattern.fullmatch(path)
        if verb == method and found:
            params = {k: urllib.parse.unquote(v or "") for k, v in found.groupdict().items()}
            return template, params
    return None
