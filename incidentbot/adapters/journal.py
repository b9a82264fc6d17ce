"""Acknowledged work, kept on disk until it is done: a dispatcher restart loses none of it.

Slack wants an answer within 3 seconds, so the dispatcher answers first and works after.
Between the two, the work exists only in memory unless it is written down: each job (an open
form, an update form, a command) is one small JSON file, written atomically before the answer
and removed once the job has finished (done, or failed and the person told). A dispatcher
that starts finds the files a killed one left and runs them; every job is idempotent (the
issue by its request marker, notes by their key), so a job that had half run is finished,
not doubled.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class Job:
    kind: str
    key: str
    payload: Mapping[str, Any]


def default_directory() -> Path:
    """$INCIDENTBOT_SPOOL, else the user's state directory (XDG)."""
    if os.environ.get("INCIDENTBOT_SPOOL"):
        return Path(os.environ["INCIDENTBOT_SPOOL"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "incidentbot" / "spool"


class Journal:
    """One file a job in `directory` (made on first use, readable by its owner only)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / f"{_SAFE.sub('_', key)[:150]}.json"

    def add(self, job: Job) -> None:
        """Durably record `job` (written to a temporary file, synced, renamed into place)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps({"kind": job.kind, "key": job.key, "payload": job.payload})
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self._path(job.key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def done(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def pending(self) -> list[Job]:
        """The jobs a previous run left, oldest first; unreadable files are set aside."""
        if not self.directory.is_dir():
            return []
        jobs = []
        for path in sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime):
            try:
                data = json.loads(path.read_text("utf-8"))
                jobs.append(Job(str(data["kind"]), str(data["key"]), dict(data["payload"])))
            except (ValueError, KeyError, TypeError, OSError):
                path.rename(path.with_suffix(".broken"))
        return jobs
