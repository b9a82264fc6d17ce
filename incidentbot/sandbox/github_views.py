"""Records -> the JSON shapes of GitHub's OpenAPI description; every absolute URL starts at
the request's base URL, because PyGithub asserts that it does."""

from __future__ import annotations

import urllib.parse
from typing import Any

from incidentbot.sandbox.github_records import (
    Comment,
    Commit,
    Deployment,
    Event,
    Issue,
    Label,
    Pull,
    tree_sha,
)
from incidentbot.sandbox.github_state import Store


# -- JSON shapes --------------------------------------------------------------------------------
class View:
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

