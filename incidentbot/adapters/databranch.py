"""A branch that holds data, not history: a month's days, one commit each, and the current
run's commit on top, replaced by every publish.

Each publish commits the directory's tree and force-pushes it with a lease on the commit it
was fetched at. Its parent is the last commit of the day before (so today's runs replace one
another, and the day before stays); the first publish of a month (after the last month was
compacted, datastore.py) is an orphan, which drops the month before's commits. So a depth-1
fetch is all of the data, the branch holds each file once (a finished day's file never
changes), and a push sends only today's files: git leaves out what the parent already has.
An orphan commit per run would be smaller still in history but sends the whole tree each
time, since git excludes only what an ancestor of the new commit has.

A writer that lost a race gets `Moved` and fetches again; nothing another writer pushed is
ever overwritten blind. A branch this module did not write (a commit per run, from before)
is left behind at the first publish. The token goes to git as an HTTP header in the
environment (as actions/checkout does), never in a URL, an argument or a file, so no git
message prints it.
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

from incidentbot.core.errors import IncidentbotError

_IDENTITY = {"GIT_AUTHOR_NAME": "incidentbot", "GIT_COMMITTER_NAME": "incidentbot",
             "GIT_AUTHOR_EMAIL": "incidentbot@users.noreply.github.com",
             "GIT_COMMITTER_EMAIL": "incidentbot@users.noreply.github.com"}


MARK = "Incidentbot-Data: 1"  # a trailer on every data commit: what this module wrote


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


_OURS = "incidentbot-branch"  # in .git/: a repository this module made, safe to reset
_MADE = "made by incidentbot: reset and cleaned at will\n"


def _own(root: Path) -> None:
    """Make `root` a repository of ours, or refuse: checkout resets and cleans it, which must
    never happen to a person's own repository or files."""
    if (root / ".git" / _OURS).exists():
        return
    if root.exists() and any(root.iterdir()):
        raise GitFailed(f"{root}: not empty and not a checkout incidentbot made; give a new "
                        "or empty directory")
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "--quiet")
    (root / ".git" / _OURS).write_text(_MADE)


def checkout(branch: Branch, directory: str | Path) -> str | None:
    """Make `directory` the branch's tip (fetched with its parent: depth 2); its sha, or
    None when the branch does not exist yet (the directory is then left as it is). The
    directory must be new, empty, or one this module made."""
    root = Path(directory)
    _own(root)
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


def _commit(root: Path, commit: str) -> tuple[datetime, list[str], bool]:
    """When a commit was made, its parents (as the object records them: a shallow fetch
    hides them from rev-parse, not from the object) and whether this module wrote it."""
    raw = _git(root, "cat-file", "commit", commit).stdout
    header, _, message = raw.partition("\n\n")
    parents, made = [], datetime.fromtimestamp(0, UTC)
    for line in header.splitlines():
        if line.startswith("parent "):
            parents.append(line.split()[1])
        elif line.startswith("committer "):
            made = datetime.fromtimestamp(int(line.split()[-2]), UTC)
    return made, parents, MARK in message


def parent_for(root: Path, lease: str | None, now: datetime) -> str | None:
    """The parent of the next commit: the last commit of the day before, or None (an orphan)
    in a new month or on a branch this module did not write."""
    if lease is None:
        return None
    made, parents, ours = _commit(root, lease)
    today = now.astimezone(UTC).date()
    if not ours or (made.year, made.month) != (today.year, today.month):
        return None
    if made.date() != today or not parents:
        return lease  # the day before's last commit, or the month's first (kept under it)
    return parents[0] if _commit(root, parents[0])[2] else None


def publish(branch: Branch, directory: str | Path, lease: str | None, message: str, *,
            force: bool = False, now: datetime | None = None) -> str | None:
    """Replace the branch's tip with a commit of the directory's files; the new sha, or None
    when the tree is the same as `lease`'s (nothing pushed). Raises Moved when the branch is
    no longer at `lease`. With `force` (derived files such as the site) the commit is an
    orphan and replaces whatever is there."""
    root = Path(directory)
    if not (root / ".git").exists():  # files to publish, in a directory git never saw
        _git(root, "init", "--quiet")
        (root / ".git" / _OURS).write_text(_MADE)
    elif not (root / ".git" / _OURS).exists():
        raise GitFailed(f"{root}: a git repository incidentbot did not make; give a new or "
                        "empty directory")
    _git(root, "add", "--all")
    tree = _git(root, "write-tree").stdout.strip()
    if lease is not None:
        before = _git(root, "rev-parse", f"{lease}^{{tree}}", check=False).stdout.strip()
        if before == tree:
            return None
    moment = now or datetime.now(UTC)
    parent = None if force else parent_for(root, lease, moment)
    when = f"{int(moment.timestamp())} +0000"
    commit = _git(root, "commit-tree", tree, *(["-p", parent] if parent else []),
                  "-m", message, "-m", MARK,
                  env={"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}).stdout.strip()
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
