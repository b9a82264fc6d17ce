"""A branch that holds data, not history: at most two commits, replaced as the data changes.

The branch is a day's base commit (an orphan: no parent, a snapshot of the data) and, on top
of it, one rolling commit that every publish replaces, force-pushed with a lease on the
commit it was fetched at. So a depth-1 fetch is all of the data, and a year of runs costs the
size of the data, not one commit and one copy of every month file per run. The base is why
each push stays small: git sends only what changed since the base (the day's appended lines,
as deltas against the base's files), where an orphan commit per run would send every changed
file whole. The first publish of a (UTC) day makes a new base.

A writer that lost a race gets `Moved` and fetches again; nothing another writer pushed is
ever overwritten blind. The token goes to git as an HTTP header in the environment (as
actions/checkout does), never in a URL, an argument or a file, so no git message prints it.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from incidentbot.errors import IncidentbotError

_IDENTITY = {"GIT_AUTHOR_NAME": "incidentbot", "GIT_COMMITTER_NAME": "incidentbot",
             "GIT_AUTHOR_EMAIL": "incidentbot@users.noreply.github.com",
             "GIT_COMMITTER_EMAIL": "incidentbot@users.noreply.github.com"}


class GitFailed(IncidentbotError):
    """A git command failed; the message has git's own words (never a token)."""

    exit_code = 4


class Moved(GitFailed):
    """The branch moved on the remote since it was fetched: fetch again and redo."""


@dataclass(frozen=True, slots=True)
class Branch:
    """A branch of a remote: a URL (built from GITHUB_SERVER_URL) or a local path."""

    remote: str
    name: str
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def on_github(cls, server_url: str, repository: str, name: str,
                  token: str | None) -> Branch:
        """`name` in `repository` on the GitHub server at `server_url` (github.com or a
        GitHub Enterprise Server: Actions sets GITHUB_SERVER_URL)."""
        server = server_url.rstrip("/")
        env: dict[str, str] = {}
        if token:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            env = {"GIT_CONFIG_COUNT": "1",
                   "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
                   "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"}
        return cls(f"{server}/{repository}.git", name, env)


_GIT = shutil.which("git") or "git"


def _git(directory: Path, *args: str, env: Mapping[str, str] | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **_IDENTITY, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    # An argument list, never a shell: branch names and paths are arguments, not code.
    done = subprocess.run([_GIT, "-C", str(directory), *args],  # noqa: S603
                          capture_output=True, text=True, env=full, check=False)
    if check and done.returncode != 0:
        raise GitFailed(f"git {args[0]} in {directory}: {done.stderr.strip()}")
    return done


def checkout(branch: Branch, directory: str | Path) -> str | None:
    """Make `directory` the branch's tip (fetched with its base, depth 2); the tip's sha, or
    None when the branch does not exist yet (the directory is then left as it is)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ".git").exists():
        _git(root, "init", "--quiet")
    ref = f"refs/heads/{branch.name}"
    listed = _git(root, "ls-remote", branch.remote, ref, env=branch.env).stdout.split()
    if not listed:
        return None
    _git(root, "fetch", "--quiet", "--depth", "2", "--no-tags", branch.remote,
         f"+{ref}:refs/remotes/data/{branch.name}", env=branch.env)
    sha = _git(root, "rev-parse", f"refs/remotes/data/{branch.name}").stdout.strip()
    _git(root, "checkout", "--quiet", "--force", "--detach", sha)
    _git(root, "clean", "--quiet", "-d", "--force", "-x")
    return sha


def _parents(root: Path, commit: str) -> list[str]:
    """A commit's parents as recorded in the commit itself (a shallow fetch hides them from
    rev-parse, not from the object)."""
    raw = _git(root, "cat-file", "commit", commit).stdout
    header = raw.split("\n\n", 1)[0]
    return [line.split()[1] for line in header.splitlines() if line.startswith("parent ")]


def _base(root: Path, lease: str, day: str) -> str | None:
    """The base under `lease` (itself when it is one) if it was made on `day`. A base has no
    parent: a branch written before this layout (a commit per run) never counts as one, so
    its history is left behind at the first publish."""
    parents = _parents(root, lease)
    if not parents:
        base = lease
    elif len(parents) == 1 and not _parents(root, parents[0]):
        base = parents[0]
    else:
        return None
    made = _git(root, "log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%d",
                base, env={"TZ": "UTC"}).stdout.strip()
    return base if made == day else None


def publish(branch: Branch, directory: str | Path, lease: str | None, message: str, *,
            force: bool = False, now: datetime | None = None) -> str | None:
    """Replace the branch's rolling commit with the directory's files (a new base on a new
    day); the new sha, or None when the tree is the same as `lease`'s (nothing pushed).
    Raises Moved when the branch is no longer at `lease`, unless `force` (for derived files
    such as the site, which are always one orphan commit)."""
    root = Path(directory)
    if not (root / ".git").exists():
        _git(root, "init", "--quiet")
    _git(root, "add", "--all")
    tree = _git(root, "write-tree").stdout.strip()
    if lease is not None:
        before = _git(root, "rev-parse", f"{lease}^{{tree}}", check=False).stdout.strip()
        if before == tree:
            return None
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    when = f"{int(moment.timestamp())} +0000"
    dated = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    base = _base(root, lease, f"{moment:%Y-%m-%d}") if lease and not force else None
    parent = ["-p", base] if base else []
    commit = _git(root, "commit-tree", tree, *parent, "-m", message, env=dated).stdout.strip()
    guard: Sequence[str] = (["--force"] if force else
                            [f"--force-with-lease=refs/heads/{branch.name}:{lease or ''}"])
    pushed = _git(root, "push", "--quiet", "--no-verify", *guard, branch.remote,
                  f"{commit}:refs/heads/{branch.name}", env=branch.env, check=False)
    if pushed.returncode != 0:
        if "stale info" in pushed.stderr or "rejected" in pushed.stderr:
            raise Moved(f"{branch.name} moved on the remote since it was fetched")
        raise GitFailed(f"git push of {branch.name}: {pushed.stderr.strip()}")
    _git(root, "update-ref", f"refs/remotes/data/{branch.name}", commit)
    _git(root, "checkout", "--quiet", "--force", "--detach", commit)
    return commit
