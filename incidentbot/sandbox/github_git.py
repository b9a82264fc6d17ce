"""The GitHub routes of files, branches, git refs and commits, workflow dispatch, pull
requests, deployments and reviews."""

from __future__ import annotations

from incidentbot.sandbox.github_calls import (
    ApiCall,
    Handlers,
    Reply,
    body_names,
    body_str,
    query_enum,
    wrong_type,
)
from incidentbot.sandbox.github_records import GitHubError, not_found
from incidentbot.sandbox.github_views import View


class GitRoutes(Handlers):
    def _get_contents(self, call: ApiCall, view: View) -> Reply:
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

    def _put_contents(self, call: ApiCall, view: View) -> Reply:
        body = call.body()
        message = body_str(body, "message", required=True) or ""
        content = body_str(body, "content", required=True) or ""
        path = call.params.get("path", "")
        created, commit = self.store.put_file(call.actor, path, message, content,
                                              body_str(body, "sha"), body_str(body, "branch"))
        branch = body_str(body, "branch") or "main"
        path = path.strip("/")
        return (201 if created else 200), {
            "content": view.entry(path, branch, commit.tree[path], commit),
            "commit": view.git_commit(commit)}

    def _delete_contents(self, call: ApiCall, view: View) -> Reply:
        body = call.body()
        message = body_str(body, "message", required=True) or ""
        commit = self.store.delete_file(call.actor, call.params.get("path", ""), message,
                                        body_str(body, "sha"), body_str(body, "branch"))
        return 200, {"content": None, "commit": view.git_commit(commit)}

    def _get_branch(self, call: ApiCall, view: View) -> Reply:
        return 200, view.branch(call.params["branch"])

    def _get_ref(self, call: ApiCall, view: View) -> Reply:
        ref = call.params["ref"]
        if ref not in self.store.refs:
            raise not_found()
        return 200, view.ref(ref)

    def _matching_refs(self, call: ApiCall, view: View) -> Reply:
        """Every ref whose name starts with the given one, in name order, unpaginated."""
        prefix = call.params["ref"]
        return 200, [view.ref(name) for name in sorted(self.store.refs)
                     if name.startswith(prefix)]

    def _create_ref(self, call: ApiCall, view: View) -> Reply:
        body = call.body()
        self.store.require_push(call.actor)
        name = self.store.create_ref(body_str(body, "ref", required=True) or "",
                                     body_str(body, "sha", required=True) or "")
        data = view.ref(name)
        call.headers["Location"] = data["url"]
        return 201, data

    def _update_ref(self, call: ApiCall, view: View) -> Reply:
        body = call.body()
        self.store.require_push(call.actor)
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise wrong_type("force", force, "a boolean")
        name = self.store.update_ref(call.params["ref"], body_str(body, "sha", required=True) or "",
                                     force=force)
        return 200, view.ref(name)

    def _delete_ref(self, call: ApiCall, view: View) -> Reply:
        self.store.require_push(call.actor)
        self.store.delete_ref(call.params["ref"])
        return 204, None

    def _create_commit(self, call: ApiCall, view: View) -> Reply:
        body = call.body()
        self.store.require_push(call.actor)
        parents = body_names("parents", body.get("parents") or [])
        message = body_str(body, "message", required=True) or ""
        commit = self.store.create_commit(call.actor, message,
                                          body_str(body, "tree", required=True) or "", parents)
        data = view.git_commit(commit)
        call.headers["Location"] = data["url"]
        return 201, data

    def _dispatch_workflow(self, call: ApiCall, view: View) -> Reply:
        """workflow_dispatch: recorded for tests (the sandbox runs no workflow)."""
        body = call.body()
        self.store.require_push(call.actor)
        ref = body_str(body, "ref", required=True) or ""
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
            raise wrong_type("inputs", inputs, "an object of strings")
        if f"heads/{ref.removeprefix('refs/heads/')}" not in self.store.refs:
            raise GitHubError(422, f"No ref found for: {ref}")
        self.store.dispatches.append({"workflow": call.params["workflow_id"], "ref": ref,
                                      "inputs": dict(inputs), "actor": call.actor})
        return 204, None

    def _get_commit(self, call: ApiCall, view: View) -> Reply:
        commit = self.store.commits.get(call.params["commit_sha"])
        if commit is None:
            raise not_found()
        return 200, view.git_commit(commit)

    # -- pull requests ------------------------------------------------------------------------
    def _list_pulls(self, call: ApiCall, view: View) -> Reply:
        q = call.query
        state = query_enum(q, "state", ("open", "closed", "all"), "open", "PullRequest")
        sort = query_enum(q, "sort", ("created", "updated", "popularity", "long-running"),
                           "created", "PullRequest")
        # GitHub's default direction: desc when sorting by creation, asc otherwise.
        direction = query_enum(q, "direction", ("asc", "desc"),
                                "desc" if sort == "created" else "asc", "PullRequest")
        pulls = self.store.list_pulls(state=state, head=q.get("head") or None,
                                      base=q.get("base") or None)
        issues = self.store.issues
        pulls.sort(key=lambda p: (issues[p.number].updated_at, p.number)
                   if sort == "updated" else (p.number,), reverse=direction == "desc")
        return 200, [view.pull(p, simple=True) for p in self.page(call, pulls)]

    def _create_pull(self, call: ApiCall, view: View) -> Reply:
        body = call.body()
        draft = body.get("draft", False)
        if not isinstance(draft, bool):
            raise wrong_type("draft", draft, "a boolean")
        pull = self.store.create_pull(
            call.actor, body_str(body, "title") or "",
            body_str(body, "head", required=True) or "",
            body_str(body, "base", required=True) or "",
            body_str(body, "body", nullable=True), draft)
        data = view.pull(pull)
        call.headers["Location"] = data["url"]
        return 201, data

    def _get_pull(self, call: ApiCall, view: View) -> Reply:
        return 200, view.pull(self.store.pull(call.params["pull_number"]))

    # -- postmortem reviews and "what changed?" (issue 14) -----------------------------------
    def _list_deployments(self, call: ApiCall, view: View) -> Reply:
        """Newest first, filtered by sha, ref, task and environment as GitHub does."""
        q = call.query
        found = [d for d in reversed(self.store.deployments)
                 if all(q.get(k) in {None, "", getattr(d, k)}
                        for k in ("sha", "ref", "task", "environment"))]
        return 200, [view.deployment(d) for d in self.page(call, found)]

    def _request_reviewers(self, call: ApiCall, view: View) -> Reply:
        """GitHub's rules: reviewers must be collaborators (422 otherwise, nothing requested)
        and never the pull request's author; asking again is harmless."""
        pull = self.store.pull(call.params["pull_number"])
        body = call.body()
        wanted = body_names("reviewers", body.get("reviewers", []))
        body_names("team_reviewers", body.get("team_reviewers", []))
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
