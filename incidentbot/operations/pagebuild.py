"""The status page built by the periodic pass: only when something on it changed (or hourly),
into a site directory it keeps (files it no longer makes are pruned), and the subscribers
told of new public updates once each."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentbot.adapters import datastore, monitordata
from incidentbot.core.config import Config
from incidentbot.operations import reading

if TYPE_CHECKING:
    from incidentbot.core.ports import Issue
    from incidentbot.operations.incidents import Connections

PAGE_FILE = "page.json"


@dataclass(frozen=True, slots=True)
class Page:
    """A built status page: the files written, the incidents it shows, and what it read."""

    written: list[Path]
    shown: list[int]
    issues: list[Issue]
    updates: dict[int, tuple[Any, ...]]
    windows: list[Any]


def build_page(config: Config, c: Connections, data: monitordata.DataDir, out: str | Path, *,
               warn: Callable[[str], None] | None = None,
               now: datetime | None = None) -> Page:
    """The status page from the issues and the data, as `status-page build` writes it.

    What the page knows of incidents is kept in the data (pagecache.py): GitHub is asked
    only for the incidents updated since the last build (a full listing once a day), and
    only those on the page whose `updated_at` moved have their comments and events read."""
    from incidentbot.adapters import pagecache
    from incidentbot.core.model import read_labels
    from incidentbot.core.render import publicupdates
    from incidentbot.operations import statuspage

    now = now or datetime.now(UTC)
    known = pagecache.load(data.root)
    full = known.needs_full(now)
    # A second before the mark: whether GitHub's `since` keeps an issue updated in the very
    # second of the mark or not, none updated after the last listing is missed.
    listed = c.tracker.list_incidents(state="all") if full or known.since is None else \
        c.tracker.list_incidents(state="all", since=known.since - timedelta(seconds=1))
    writers = reading.writers_of(c.tracker, config)
    if full:
        numbers = {i.number for i in listed}
        for gone in [n for n in known.issues if n not in numbers]:
            known.issues.pop(gone)
            known.updates.pop(gone, None)
        known.full = now
    for issue in listed:
        fields = read_labels(issue.labels, config.severities,
                             issue_closed=issue.state == "closed")
        if not fields.on_status_page:
            known.issues.pop(issue.number, None)
            known.updates.pop(issue.number, None)
            continue
        if not known.fresh(issue) or (full and now - issue.updated_at <= pagecache.RECHECK):
            known.updates[issue.number] = tuple(publicupdates.updates(
                issue.number, issue.created_at, fields.status,
                c.tracker.comments(issue.number), c.tracker.events(issue.number), writers,
                config))
        known.issues[issue.number] = issue
    known.mark(listed)
    windows = []
    for issue in c.tracker.list_labelled(statuspage.MAINTENANCE_LABEL):
        try:
            windows.append(statuspage.maintenance(issue, config))
        except ValueError as exc:
            if warn is not None:
                warn(str(exc))
    issues = sorted(known.issues.values(), key=lambda i: i.number)
    written = statuspage.build(config, data, issues, out, now=now, updates=known.updates,
                               maintenances=windows)
    pagecache.save(data.root, known)
    return Page(written, [i.number for i in issues], issues, dict(known.updates), windows)


def page_record(data: monitordata.DataDir) -> dict[str, Any] | None:
    path = data.root / PAGE_FILE
    if not path.exists():
        return None
    record = json.loads(path.read_text("utf-8"))
    return record if isinstance(record, dict) else None


SITE_MARKER = ".incidentbot-site"


def is_site(site: Path) -> bool:
    """The one rule for "a site incidentbot built", which `periodic --out` and
    `status-page build --out` share: a directory holding the build's manifest
    (statuspage.MANIFEST, which every build writes last) or the marker `fresh_site` leaves
    (a build that died before its manifest)."""
    from incidentbot.operations import statuspage

    return (site / statuspage.MANIFEST).is_file() or (site / SITE_MARKER).exists()


def check_site(site: Path) -> None:
    """Refuse, before any work, a directory that is neither new, empty nor a site
    incidentbot built: the build would prune files it did not make."""
    from incidentbot.core.errors import InvalidInput

    if site.is_dir() and any(site.iterdir()) and not is_site(site):
        raise InvalidInput(f"--out {site}: not empty and not a site incidentbot built; "
                           "give a new or empty directory")
    if site.exists() and not site.is_dir():
        raise InvalidInput(f"--out {site}: not a directory")


def fresh_site(site: Path) -> None:
    """Make the site directory ready for a build. A site the last build wrote completely
    (its manifest says which files it made) is kept: the build rewrites what changed and
    removes what it no longer makes (an incident made private), so a host that keeps the
    directory renders unchanged pages once. Anything else this function made is emptied
    (its .git aside); a directory it did not make is refused (check_site)."""
    import shutil

    from incidentbot.operations import statuspage

    check_site(site)
    site.mkdir(parents=True, exist_ok=True)
    try:
        if isinstance(json.loads((site / statuspage.MANIFEST).read_text("utf-8")), dict):
            return
    except (OSError, ValueError):
        pass
    for child in site.iterdir():
        if child.name in {".git", SITE_MARKER}:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    (site / SITE_MARKER).touch()


def prune_site(site: Path) -> int:
    """Remove every file of the site the build just made did not make (its manifest says
    which it made), its .git and our marker aside; how many were removed."""
    from incidentbot.operations import statuspage

    made = set(json.loads((site / statuspage.MANIFEST).read_text("utf-8")))
    made |= {statuspage.MANIFEST, SITE_MARKER}
    removed = 0
    for path in sorted(site.rglob("*"), reverse=True):
        relative = path.relative_to(site)
        if relative.parts[0] == ".git" or str(relative) in made:
            continue
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed


def notify_subscribers(config: Config, page: Page, data: monitordata.DataDir,
                       ) -> tuple[int, list[str]]:
    """Post each new public update and maintenance change of a built page to the
    subscribers `status_page.subscribers` lists, once each (a ledger in the data)."""
    import os

    from incidentbot.operations import statuspage, subscriptions

    found = subscriptions.notices(config, statuspage.public_incidents(
        page.issues, config, page.updates), page.windows, datetime.now(UTC))
    return subscriptions.deliver(config, found, data.root / "subscriptions.json",
                                 subscriptions.http_post, os.environ)


def read_record(data: monitordata.DataDir, name: str) -> dict[str, Any] | None:
    path = data.root / name
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text("utf-8"))
    except ValueError:
        return None  # a torn file: the sweep falls back to its window
    return record if isinstance(record, dict) else None


def write_record(data: monitordata.DataDir, name: str, record: Mapping[str, Any]) -> None:
    data.root.mkdir(parents=True, exist_ok=True)
    (data.root / name).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n",
                                  "utf-8")


def save_page(data: monitordata.DataDir, record: Mapping[str, Any]) -> None:
    data.root.mkdir(parents=True, exist_ok=True)
    (data.root / PAGE_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n",
                                       "utf-8")


def page_reasons(config: Config, record: Mapping[str, Any] | None, now: datetime,
                 states: Mapping[str, str], changed: list[Issue],
                 page_every: timedelta) -> list[str]:
    """Why the page must be rebuilt; empty when what it shows is unchanged (pure)."""
    from incidentbot.core.model import read_labels

    if record is None:
        return ["never built"]
    reasons = []
    built = datastore.parse_stamp(record["built"])
    if now - built >= page_every:
        reasons.append(f"built {int((now - built).total_seconds() // 60)} min ago")
    if dict(states) != record.get("states", {}):
        reasons.append("a service changed state")
    shown = set(record.get("public", []))
    touched = sorted(i.number for i in changed if i.updated_at >= built and (
        i.number in shown or read_labels(i.labels, config.severities).on_status_page))
    if touched:
        reasons.append("incident " + ", ".join(f"#{n}" for n in touched) + " changed")
    return reasons
