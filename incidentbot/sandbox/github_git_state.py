"""The git side of the GitHub emulator's world: blobs, commits, refs and branches, files,
pull requests and deployments, with the rules GitHub applies to them."""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
from collections.abc import Sequence

from incidentbot.sandbox.github_records import (
    EMPTY_TREE,
    Commit,
    Deployment,
    GitHubError,
    Issue,
    Pull,
    StoreBase,
    blob_sha,
    failed,
    invalid_request,
    not_found,
    tree_sha,
)


class GitStore(StoreBase):
    # -- git: blobs, commits, refs ------------------------------------------------------------
    def _blob(self, data: bytes) -> str:
        sha = blob_sha(data)
        self.blobs[sha] = base64.b64encode(data).decode("ascii")
        return sha

    def blob(self, sha: str) -> bytes:
        return base64.b64decode(self.blobs[sha])

    def _commit(self, actor: str, message: str, tree: dict[str, str],
                parents: list[str]) -> Commit:
        seed = f"{tree_sha(tree)}\n{' '.join(parents)}\n{actor} {self.now}\n{message}"
        seed += f"\n{self.next_id}"  # two equal commits in one second still differ
        self._id()
        sha = hashlib.sha1(seed.encode()).hexdigest()  # noqa: S324
        commit = Commit(sha, message, dict(tree), parents, self.now, actor)
        self.commits[sha] = commit
        return commit

    def resolve(self, ref: str | None) -> tuple[str, Commit]:
        """A branch name, `heads/x`, `refs/heads/x` or a commit sha -> (ref name, commit)."""
        ref = ref or "main"
        for name in (ref, ref.removeprefix("refs/").removeprefix("heads/")):
            if f"heads/{name}" in self.refs:
                return name, self.commits[self.refs[f"heads/{name}"]]
        if ref in self.commits:
            return ref, self.commits[ref]
        raise not_found(f"No commit found for the ref {ref}")

    def branch(self, name: str) -> Commit:
        sha = self.refs.get(f"heads/{name}")
        if sha is None:
            raise not_found("Branch not found")
        return self.commits[sha]

    def put_file(self, actor: str, path: str, message: str, content: str, sha: str | None,
                 branch: str | None) -> tuple[bool, Commit]:
        """Create or update one file with one commit; (created?, the commit)."""
        name = branch or "main"
        if f"heads/{name}" not in self.refs:
            raise not_found(f"Branch {name} not found")
        head = self.branch(name)
        try:
            data = base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise GitHubError(422, "content is not valid Base64") from None
        path = path.strip("/")
        if not path or any(p == path or p.startswith(path + "/") or path.startswith(p + "/")
                           for p in head.tree if p != path):
            raise invalid_request(f"path {path!r} is a directory or lies inside a file")
        current = head.tree.get(path)
        if current is not None and sha is None:
            raise invalid_request('"sha" wasn\'t supplied.')
        if current is not None and sha != current:
            raise GitHubError(409, f"{path} does not match {sha}")
        tree = {**head.tree, path: self._blob(data)}
        commit = self._commit(actor, message, tree, [head.sha])
        self.refs[f"heads/{name}"] = commit.sha
        return current is None, commit

    def delete_file(self, actor: str, path: str, message: str, sha: str | None,
                    branch: str | None) -> Commit:
        name = branch or "main"
        if f"heads/{name}" not in self.refs:
            raise not_found(f"Branch {name} not found")
        head = self.branch(name)
        path = path.strip("/")
        if sha is None:
            raise invalid_request('"sha" wasn\'t supplied.')
        if path not in head.tree:
            raise not_found()
        if sha != head.tree[path]:
            raise GitHubError(409, f"{path} does not match {sha}")
        tree = {p: s for p, s in head.tree.items() if p != path}
        commit = self._commit(actor, message, tree, [head.sha])
        self.refs[f"heads/{name}"] = commit.sha
        return commit

    def create_ref(self, ref: str, sha: str) -> str:
        if not ref.startswith("refs/") or ref.count("/") < 2 or ref.endswith("/"):
            raise GitHubError(422, "Reference name is invalid")
        if sha not in self.commits:
            raise GitHubError(422, "Object does not exist")
        name = ref.removeprefix("refs/")
        if name in self.refs:
            raise GitHubError(422, "Reference already exists")
        self.refs[name] = sha
        return name

    def update_ref(self, name: str, sha: str, *, force: bool) -> str:
        name = name.removeprefix("refs/")
        if name not in self.refs:
            raise GitHubError(422, "Reference does not exist")
        if sha not in self.commits:
            raise GitHubError(422, "Object does not exist")
        if not force and self.refs[name] not in self.ancestors(sha):
            raise GitHubError(422, "Update is not a fast forward")
        self.refs[name] = sha
        return name

    def delete_ref(self, name: str) -> None:
        name = name.removeprefix("refs/")
        if name not in self.refs:
            raise GitHubError(422, "Reference does not exist")
        del self.refs[name]

    def create_commit(self, actor: str, message: str, tree: str,
                      parents: Sequence[str]) -> Commit:
        """POST /git/commits: a commit of an existing tree (any commit's, or the empty one)."""
        files = {} if tree == EMPTY_TREE else next(
            (dict(c.tree) for c in self.commits.values() if c.tree_sha == tree), None)
        if files is None:
            raise failed("Commit", "tree", "invalid", message="Tree SHA does not exist")
        for parent in parents:
            if parent not in self.commits:
                raise failed("Commit", "parents", "invalid",
                             message="Parent SHA does not exist or is not a commit object")
        return self._commit(actor, message, files, list(parents))

    def ancestors(self, sha: str) -> set[str]:
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.commits[current].parents)
        return seen

    # -- pull requests ------------------------------------------------------------------------
    def pull(self, number: str | int) -> Pull:
        found = self.pulls.get(int(number)) if str(number).isdigit() else None
        if found is None:
            raise not_found()
        return found

    def create_pull(self, actor: str, title: str, head: str, base: str, body: str | None,
                    draft: bool) -> Pull:
        owner, _, branch = head.rpartition(":")
        if not title.strip():
            raise failed("PullRequest", "title", "missing_field")
        if f"heads/{base}" not in self.refs:
            raise failed("PullRequest", "base", "invalid")
        if (owner and owner.lower() != self.owner.lower()) or f"heads/{branch}" not in self.refs:
            raise failed("PullRequest", "head", "invalid")
        if self.refs[f"heads/{branch}"] in self.ancestors(self.refs[f"heads/{base}"]):
            raise failed("PullRequest", None, "custom",
                         message=f"No commits between {base} and {branch}")
        for pull in self.pulls.values():
            same = pull.head == branch and pull.base == base
            if same and self.issues[pull.number].state == "open":
                raise failed("PullRequest", None, "custom",
                             message=f"A pull request already exists for {self.owner}:{branch}.")
        self._check_body("PullRequest", body)
        issue = Issue(self.next_number, self._id(), title, body, self._login(actor), self.now,
                      self.now)
        self.next_number += 1
        self.issues[issue.number] = issue
        self.deliver("issues", "opened", issue, actor)
        pull = Pull(issue.number, self._id(), branch, base, draft)
        self.pulls[pull.number] = pull
        return pull

    def merge_pull(self, actor: str, pull: Pull) -> None:
        """Merge as GitHub's "rebase and merge" would when `base` has not moved: the base
        branch takes the head's commits; the pull request is closed and merged."""
        issue = self.issues[pull.number]
        if issue.state != "open":
            raise GitHubError(405, "Pull Request is not mergeable")
        self.refs[f"heads/{pull.base}"] = self.refs[f"heads/{pull.head}"]
        pull.merged_at = self.now
        self._event(actor, issue, "merged")
        self._change_state(actor, issue, "closed", "completed")

    def create_deployment(self, actor: str, ref: str, environment: str,
                          description: str) -> Deployment:
        sha = self.refs.get(f"heads/{ref}") or ref
        if sha not in self.commits:
            raise failed("Deployment", "ref", "invalid")
        deployment = Deployment(self._id(), sha, ref, environment, description, actor,
                                self.now)
        self.deployments.append(deployment)
        return deployment

    def list_pulls(self, *, state: str, head: str | None, base: str | None) -> list[Pull]:
        out = []
        for pull in self.pulls.values():
            if state != "all" and self.issues[pull.number].state != state:
                continue
            if head is not None:
                owner, _, branch = head.rpartition(":")
                if (owner or self.owner).lower() != self.owner.lower() or branch != pull.head:
                    continue
            if base is not None and base != pull.base:
                continue
            out.append(pull)
        return out

    def diff_stats(self, pull: Pull) -> dict[str, int]:
        """commits, additions, deletions, changed_files of a pull request, as GitHub counts."""
        head, base = self.branch(pull.head), self.branch(pull.base)
        new = self.ancestors(head.sha) - self.ancestors(base.sha)
        paths = {p for p in {*head.tree, *base.tree} if head.tree.get(p) != base.tree.get(p)}
        additions = deletions = 0
        for path in paths:
            old = self.blob(base.tree[path]).decode("utf-8", "replace").splitlines() \
                if path in base.tree else []
            now = self.blob(head.tree[path]).decode("utf-8", "replace").splitlines() \
                if path in head.tree else []
            for line in difflib.unified_diff(old, now, lineterm="", n=0):
                if line.startswith("+") and not line.startswith("+++"):
                    additions += 1
                elif line.startswith("-") and not line.startswith("---"):
                    deletions += 1
        return {"commits": len(new), "additions": additions, "deletions": deletions,
                "changed_files": len(paths)}
