"""What the status page knows of incidents between builds, kept beside the monitor's data
(`<data>/.pagecache/incidents.json`), so a build asks GitHub only for what changed.

For each incident on the page: the issue's fields the page uses and its public updates, as
of the issue's `updated_at` (every label change, comment, edit or close moves it, on GitHub
as in the sandbox). Besides, `since`: the newest `updated_at` GitHub showed, and `full`:
when every incident was last listed. A build lists only the incidents updated at or after
`since` (GitHub's `since` filter: one request while fewer than 100 changed) and reads the
comments and events of those on the page whose `updated_at` moved. Once a day (`FULL_EVERY`)
it lists every incident instead, which also drops what a since-listing cannot see: an issue
deleted, transferred or stripped of its `incident` label; and it reads again the incidents
updated in the last week (`RECHECK`), since deleting a comment does not move `updated_at`
(pure, but for the file).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from incidentbot.core.ports import Issue
from incidentbot.core.render.publicupdates import Update

PATH = ".pagecache/incidents.json"
VERSION = 1
FULL_EVERY = timedelta(days=1)
# A deleted comment does not move its issue's `updated_at`: the daily full listing reads
# again the incidents on the page that changed this recently, where a deletion is likely.
RECHECK = timedelta(days=7)


@dataclass
class Known:
    """The incidents the page shows, by number, with their updates; the listing's marks."""

    issues: dict[int, Issue] = field(default_factory=dict)
    updates: dict[int, tuple[Update, ...]] = field(default_factory=dict)
    since: datetime | None = None
    full: datetime | None = None

    def needs_full(self, now: datetime) -> bool:
        return self.since is None or self.full is None or now - self.full >= FULL_EVERY

    def fresh(self, issue: Issue) -> bool:
        """Is what we keep of this incident as new as the listed issue?"""
        kept = self.issues.get(issue.number)
        return kept is not None and kept.updated_at == issue.updated_at \
            and issue.number in self.updates

    def mark(self, listed: list[Issue]) -> None:
        """Move `since` to the newest `updated_at` listed (GitHub's clock, not ours)."""
        stamps = [i.updated_at for i in listed]
        if self.since is not None:
            stamps.append(self.since)
        self.since = max(stamps) if stamps else None


def _time(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def _issue(raw: Mapping[str, Any]) -> Issue:
    return Issue(number=int(raw["number"]), title=str(raw["title"]), body="",
                 state=str(raw["state"]), labels=tuple(raw["labels"]),
                 created_at=datetime.fromisoformat(raw["created_at"]),
                 updated_at=datetime.fromisoformat(raw["updated_at"]), url=str(raw["url"]),
                 closed_at=_time(raw.get("closed_at")))


def load(root: Path) -> Known:
    """The kept knowledge; empty (so the next build lists everything) when missing, torn
    or from another version."""
    try:
        document = json.loads((root / PATH).read_text("utf-8"))
        if not isinstance(document, dict) or document.get("v") != VERSION:
            return Known()
        known = Known(since=_time(document.get("since")), full=_time(document.get("full")))
        for entry in document["incidents"]:
            issue = _issue(entry)
            known.issues[issue.number] = issue
            known.updates[issue.number] = tuple(
                Update(u[0], datetime.fromisoformat(u[1]), u[2], u[3])
                for u in entry["updates"])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return Known()
    return known


def save(root: Path, known: Known) -> bool:
    """Write the knowledge when it changed; whether it did (the data branch then has a new
    file to push)."""
    incidents = [{
        "number": i.number, "title": i.title, "state": i.state, "labels": list(i.labels),
        "created_at": i.created_at.isoformat(), "updated_at": i.updated_at.isoformat(),
        "closed_at": i.closed_at.isoformat() if i.closed_at else None, "url": i.url,
        "updates": [[u.id, u.at.isoformat(), u.word, u.body]
                    for u in known.updates.get(i.number, ())]}
        for i in sorted(known.issues.values(), key=lambda x: x.number)]
    text = json.dumps({"v": VERSION, "since": known.since.isoformat() if known.since else None,
                       "full": known.full.isoformat() if known.full else None,
                       "incidents": incidents}, indent=0, separators=(",", ":")) + "\n"
    path = root / PATH
    try:
        if path.read_text("utf-8") == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return True
