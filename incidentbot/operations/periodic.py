"""The periodic work in one pass: health checks, reminders and the sweep (one sync per
incident), and the status page only when something it shows changed.

The scheduled workflow and the dispatcher's timer both call `run`, so the same code writes the
same data wherever a team runs it. Work with nothing to do is skipped: no incident open or
changed means no sync, no service with checks means no probe, an unchanged page is not
rebuilt, an unchanged data tree is not pushed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentbot.adapters import datastore, monitordata, probes
from incidentbot.core import health
from incidentbot.core.config import Config
from incidentbot.core.errors import IncidentbotError
from incidentbot.operations import monitor
from incidentbot.operations.pagebuild import (
    build_page,
    check_site,
    fresh_site,
    notify_subscribers,
    page_reasons,
    page_record,
    prune_site,
    read_record,
    save_page,
    write_record,
)

if TYPE_CHECKING:
    from incidentbot.adapters.databranch import Branch
    from incidentbot.core.ports import Issue
    from incidentbot.operations.incidents import Connections

SWEEP_FILE = "sweep.json"  # what the last sweep covered, so each change is swept once
ATTEMPTS = 3  # publishes of the data branch when another writer moved it meanwhile


@dataclass(frozen=True, slots=True)
class Options:
    data: Path
    site: Path | None = None                 # build the status page here (None: never)
    sweep: timedelta = timedelta(minutes=30)  # incidents changed this recently are synced
    page_every: timedelta = timedelta(hours=1)  # rebuild at least this often regardless
    # An incident changed this recently has an event run (or the dispatcher) syncing it: the
    # sweep leaves it to that run rather than race it, and takes it next time if it was lost.
    settle: timedelta = timedelta(minutes=2)
    data_branch: Branch | None = None        # fetch and publish `data` (None: local only)
    site_branch: Branch | None = None        # publish `site` (None: leave it on disk)
    where: str = "local"
    run_id: str = ""
    env: Mapping[str, str] | None = field(default=None, repr=False)  # for $VARs in checks
    retry: bool = True                       # one quick re-probe of a failing check


def options_from(config: Config, *, data: str | Path, site: str | Path | None = None,
                 data_branch: str | None = None, site_branch: str | None = None,
                 remote: str | None = None, where: str = "local",
                 env: Mapping[str, str] | None = None) -> Options:
    """Options from incidentbot.yml's `periodic:` and the environment (the git remote from
    GITHUB_SERVER_URL and GITHUB_REPOSITORY unless `remote` is given)."""
    import os

    from incidentbot.adapters.databranch import Branch
    from incidentbot.core.settings import Settings

    env = os.environ if env is None else env
    settings = Settings.from_env(env, repository=config.repository)

    def branch(name: str | None) -> Branch | None:
        if name is None:
            return None
        if remote is not None:
            return Branch(remote, name)
        settings.require("GITHUB_REPOSITORY")
        return Branch.on_github(settings.github_server_url, settings.repository or "", name,
                                settings.github_token)

    return Options(data=Path(data), site=Path(site) if site is not None else None,
                   sweep=timedelta(minutes=config.periodic.sweep),
                   page_every=timedelta(minutes=config.periodic.page_every),
                   data_branch=branch(data_branch), site_branch=branch(site_branch),
                   where=where, run_id=env.get("GITHUB_RUN_ID", ""), env=env)


def may_need_reminder(issue: Issue, config: Config, now: datetime,
                      sweep: timedelta) -> bool:
    """Could a reminder be due on this open incident, judged from the listed issue alone?

    Every change to an incident moves its `updated_at` (labels, comments, the card's edit
    after each reminder), so an update reminder can only be due once its severity's
    `update_every` has passed since then; the nudge for a commander only in the sweep window
    after `reminders.commander_after`. A quiet incident costs the sweep no request."""
    from incidentbot.core.model import read_labels

    fields = read_labels(issue.labels, config.severities)
    if fields.drill:
        return False  # drills ask for reminders through the card only when played
    commander_due = issue.created_at + timedelta(minutes=config.reminders.commander_after)
    if now - sweep <= commander_due <= now:
        return True
    if fields.severity is None:
        return False
    try:
        every = config.severity(fields.severity).update_every_minutes
    except KeyError:
        return False
    if not every:
        return False
    return now - issue.updated_at >= timedelta(minutes=every)


@dataclass
class _Pass:
    probes: dict[str, health.Probe]
    page: dict[str, Any] | None = None
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Report:
    """What one pass did and skipped, line by line; `incomplete` incidents failed to sync
    (the CLI exits 3 then, as `sync` does); `page_error` says why the page failed (the
    data was pushed all the same; the CLI exits 1 then)."""

    lines: list[str]
    incomplete: int = 0
    page_error: str = ""


def _record(config: Config, data: monitordata.DataDir, work: _Pass, now: datetime,
            options: Options) -> monitor.RunResult | None:
    if not work.probes:
        return None
    result, _ = monitor.record(data, work.probes, now=now, run_id=options.run_id,
                               where=options.where, fail_after=config.monitor.fail_after,
                               recover_after=config.monitor.recover_after)
    return result


def run(config: Config, connect: Callable[[], Connections], options: Options, *,
        now: datetime | None = None) -> Report:
    """One periodic pass: what was done and what was skipped."""
    from incidentbot.adapters import databranch
    from incidentbot.operations import sync as reconciler

    now = now or datetime.now(UTC)
    if options.site is not None:
        check_site(options.site)  # refused before anything is probed, recorded or opened
    data = monitordata.DataDir(options.data)
    lease = (databranch.checkout(options.data_branch, options.data)
             if options.data_branch else None)
    work = _Pass(probes.run_checks(config.services, options.env, retry=options.retry,
                                    concurrency=config.monitor.concurrency))
    result = _record(config, data, work, now, options)
    lines = work.lines
    if work.probes:
        counted = {state: sum(p.state == state for p in work.probes.values())
                   for state in (health.UP, health.DEGRADED, health.DOWN)}
        lines.append("checks: " + ", ".join(f"{n} {state}" for state, n in counted.items()))
    else:
        lines.append("checks: skipped (no service has health checks)")
    c = connect()
    if result is not None and result.transitions:
        states = data.states()
        lines += monitor.open_for_outages(c, config, result.transitions, states,
                                          severity=config.monitor.severity,
                                          public=config.monitor.public)
        data.write_state(states)

    record = page_record(data)
    since = now - options.sweep
    built = datastore.parse_stamp(record["built"]) if record else since
    changed = c.tracker.list_incidents(since=min(since, built))
    # Each change is swept once: changes after what the last sweep covered (or, without a
    # record, within the sweep window), and not the card edits the last sweep made itself.
    swept = read_record(data, SWEEP_FILE) or {}
    covered = datastore.parse_stamp(swept["until"]) if swept.get("until") else since
    synced = {int(k): datastore.parse_stamp(v) for k, v in (swept.get("synced") or {}).items()}
    candidates = {i.number: i for i in c.tracker.list_incidents(state="open")
                  if may_need_reminder(i, config, now, options.sweep)}
    candidates.update({i.number: i for i in changed if i.updated_at > min(covered, now)})
    candidates = {n: i for n, i in candidates.items()
                  if n not in synced or i.updated_at > synced[n]}
    fresh = now - options.settle
    numbers = sorted(n for n, i in candidates.items() if i.updated_at < fresh)
    deferred = len(candidates) - len(numbers)
    reminders = failed = 0
    done: dict[str, str] = {}
    for number in numbers:  # the sweep and the reminders: one sync per incident
        try:
            # The issue as just listed stands for reading it again (one request fewer each).
            outcome = reconciler.sync(c.tracker, c.chat, c.pager, config, number, now=now,
                                      known=candidates[number], clock=c.clock)
            done[str(number)] = datastore.stamp(max(now, datetime.now(UTC)))
        except IncidentbotError as exc:
            lines.append(f"#{number}: incomplete ({exc})")
            failed += 1
            continue
        reminders += sum(1 for d in outcome.done if d.endswith(" reminders"))
        failed += not outcome.ok
        if outcome.done or not outcome.ok:
            lines.append(f"#{number}: {'ok' if outcome.ok else 'incomplete'} "
                         f"({len(outcome.done)} actions)")
    if done:  # a quiet pass leaves the record (and so the data branch) as it was
        write_record(data, SWEEP_FILE, {"until": datastore.stamp(fresh), "synced": done})
    lines.append(f"sweep: {len(numbers)} incident(s) synced, {reminders} reminder(s), "
                 f"{failed} incomplete, {deferred} left to their event runs"
                 if candidates else "sweep: nothing open or changed")

    page_error = ""
    if options.site is not None:
        try:
            lines += _page(config, c, data, work, record, changed, now, options,
                           options.site)
        except IncidentbotError as exc:
            # The checks and incidents of this pass are data the next one needs: a page
            # that failed is reported, after the data is pushed, never instead of it.
            page_error = str(exc)
            lines.append(f"page: failed ({page_error})")
        except Exception:  # a bug: the data still goes out, then the traceback
            if options.data_branch is not None:
                _publish_data(config, data, work, lease, now, options)
            raise

    if options.data_branch is not None:
        lines.append(_publish_data(config, data, work, lease, now, options))
    return Report(lines, failed, page_error)


def _page(config: Config, c: Connections, data: monitordata.DataDir, work: _Pass,
          record: Mapping[str, Any] | None, changed: list[Issue], now: datetime,
          options: Options, site: Path) -> list[str]:
    """Build the page in `site` when something it shows changed; what was done, line by
    line."""
    from incidentbot.adapters import databranch

    lines = []
    shown = {slug: s.state for slug, s in data.states().items()}
    reasons = page_reasons(config, record, now, shown, changed, options.page_every)
    if not reasons:
        return ["page: unchanged, not rebuilt"]
    fresh_site(site)
    page = build_page(config, c, data, site)
    prune_site(site)
    written, public = page.written, page.shown
    if config.status_page.subscribers:
        made, problems = notify_subscribers(config, page, data)
        lines.append(f"subscribers: {made} posts")
        lines += [f"subscribers: {p}" for p in problems]
    work.page = {"built": datastore.stamp(now), "states": shown, "public": public}
    save_page(data, work.page)
    lines.append(f"page: built, {len(written)} files ({'; '.join(reasons)})")
    if options.site_branch is not None:
        databranch.publish(options.site_branch, site,
                           None, f"Status page of {datastore.stamp(now)}", force=True)
        lines.append(f"page: published to {options.site_branch.name}")
    return lines


def _publish_data(config: Config, data: monitordata.DataDir, work: _Pass, lease: str | None,
                  now: datetime, options: Options) -> str:
    """Push the data as the branch's new tip; when another writer moved the branch, redo
    this run's records on top of its data (at most ATTEMPTS times)."""
    from incidentbot.adapters import databranch

    branch = options.data_branch
    if branch is None:
        return "data: local only"
    message = f"Data as of {datastore.stamp(now)} ({options.where} {options.run_id})".strip()
    for _ in range(ATTEMPTS):
        try:
            sha = databranch.publish(branch, options.data, lease, message, now=now)
        except databranch.Moved:
            # What this run's page build learnt (day sums, incidents) stays valid on top of
            # the other writer's data; losing it would cost the next build a full re-read.
            learnt = {p: p.read_bytes() for p in (data.root / ".pagecache").rglob("*")
                      if p.is_file()}
            lease = databranch.checkout(branch, options.data)
            for path, content in learnt.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            _record(config, data, work, now, options)
            if work.page is not None:
                save_page(data, work.page)
            continue
        return f"data: unchanged on {branch.name}" if sha is None else \
            f"data: {branch.name} is now {sha[:12]}"
    raise databranch.GitFailed(f"{branch.name} kept moving: gave up after {ATTEMPTS} tries")


class Timer:
    """Runs a periodic pass every `every` on a daemon thread until stopped (the dispatcher's
    `--periodic`). A failed pass is logged and the next one runs on time; passes never
    overlap, since one thread runs them in turn."""

    def __init__(self, every: timedelta, work: Callable[[], Report], *,
                 log: logging.Logger | None = None,
                 wait: Callable[[float], bool] | None = None) -> None:
        self.every = every
        self.work = work
        self.log = log or logging.getLogger("incidentbot.operations.periodic")
        self._stop = threading.Event()
        # wait(seconds) -> True when stopped meanwhile; tests inject one that never sleeps.
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """One pass, logged; whether it succeeded."""
        try:
            for line in self.work().lines:
                self.log.info("periodic: %s", line)
        except Exception:  # a pass that fails must not stop the timer (logged with its cause)
            self.log.exception("periodic: the pass failed; the next runs in %s", self.every)
            return False
        return True

    def loop(self) -> None:
        while True:
            self.run_once()
            if self._wait(self.every.total_seconds()):
                return

    def start(self) -> Timer:
        self._thread = threading.Thread(target=self.loop, name="incidentbot-periodic",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.every.total_seconds() + 60)


def parse_every(text: str) -> timedelta:
    """`30s`, `1m`, `15m`, `1h`: how often the dispatcher runs the periodic work."""
    import re

    from incidentbot.core.errors import InvalidInput

    found = re.fullmatch(r"\s*([1-9][0-9]*)\s*(s|m|min|h)\s*", text)
    if found is None:
        raise InvalidInput(f"--periodic: expected a duration like 1m, 5m or 1h, got {text!r}")
    number, unit = int(found.group(1)), found.group(2)
    return timedelta(seconds=number * {"s": 1, "m": 60, "min": 60, "h": 3600}[unit])


def dispatcher_timer(config: Config, every: timedelta,
                     connect: Callable[[], Connections], *, data: str | Path,
                     site: str | Path, env: Mapping[str, str] | None = None) -> Timer:
    """The dispatcher's timer: the workflow's pass, on the same branches (status-data,
    gh-pages) of $GITHUB_SERVER_URL/$GITHUB_REPOSITORY, recorded as run from the
    dispatcher."""
    options = options_from(config, data=data, site=site, data_branch="status-data",
                           site_branch="gh-pages", where="dispatcher", env=env)
    return Timer(every, lambda: run(config, connect, options))
