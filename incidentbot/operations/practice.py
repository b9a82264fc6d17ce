"""Practice on a schedule: drills and the monthly report at the cron times `schedule:` in
incidentbot.yml gives, in the team's time zone.

A scheduled workflow calls `incidentbot schedule` every few minutes; whatever fell due in
the last window runs, once: a drill opened for a due time carries a request marker naming it
(`schedule:drill:<scenario>:<time>`), found again before anything is opened, and the report
is simply rewritten.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from incidentbot.core import cron
from incidentbot.core.config import Config
from incidentbot.core.errors import IncidentbotError
from incidentbot.operations.incidents import Connections

REPORT = "report"


@dataclass(frozen=True, slots=True)
class Job:
    kind: str  # "drill" or "report"
    name: str  # the scenario, or "report"
    slot: datetime  # the due time, in the team's zone

    @property
    def key(self) -> str:
        return f"schedule:{self.kind}:{self.name}:{self.slot.astimezone(UTC):%Y%m%dT%H%M}Z"


def due(config: Config, now: datetime, window: timedelta) -> list[Job]:
    """Jobs whose time fell in (now - window, now], the latest time of each (pure)."""
    zone = ZoneInfo(config.timezone)
    wanted = [("drill", name, cron.parse(expr)) for name, expr in config.schedule.drills]
    if config.schedule.report:
        wanted.append(("report", REPORT, cron.parse(config.schedule.report)))
    jobs = []
    for kind, name, when in wanted:
        slots = [m for m in cron.minutes((now - window).astimezone(zone), now.astimezone(zone))
                 if cron.matches(when, m)]
        if slots:
            jobs.append(Job(kind, name, slots[-1]))
    return jobs


def started(c: Connections, job: Job) -> int | None:
    """The drill already opened for this due time, if any (by its request marker)."""
    for issue in c.tracker.list_labelled("drill", state="all"):
        if f"incidentbot:request {job.key} " in issue.body:
            return issue.number
    return None


def run(c: Connections, jobs: Sequence[Job], *, now: datetime, root: Path | None = None,
        speed: float = 1.0, sleep: Callable[[float], None] | None = None,
        drills_via: str | None = None, commit_report: bool = False) -> Iterator[str]:
    """Run each due job once; a failure is said and the others still run.

    From a scheduled workflow: `drills_via` starts each due drill as a run of that workflow
    (a drill plays for its scenario's length; the periodic job must not wait for it), with
    the job's key, so a drill started twice resumes the same incident; `commit_report`
    commits the report to the default branch instead of leaving it on the runner."""
    from incidentbot.operations import drills, metrics

    base = root or Path.cwd()
    for job in jobs:
        try:
            if job.kind == REPORT:
                # Dated by its slot, not the clock: asked again in its window, it is the
                # same report (and commits nothing new).
                count, written, _page = metrics.write_report(
                    c.tracker, c.config, out_dir=base, internal_dir=base / "internal",
                    since=None, now=job.slot)
                yield f"report: {count} incidents -> {written}"
                if commit_report:
                    yield from _commit_report(c, base, written)
                continue
            number = started(c, job)
            if number is not None:
                yield (f"drill {job.name}: already started for {job.slot:%Y-%m-%d %H:%M} "
                       f"(#{number})")
                continue
            scenario = drills.load(job.name, c.config, base)
            if drills_via is not None:
                c.tracker.dispatch_workflow(drills_via, c.tracker.default_branch(), {
                    "scenario": scenario.slug, "speed": "1", "request_id": job.key})
                yield (f"drill {job.name}: started as a run of {drills_via} for "
                       f"{job.slot:%Y-%m-%d %H:%M}")
                continue
            yield from drills.run(c, scenario, speed=speed, request_id=job.key,
                                  sleep=sleep or time.sleep)
        except IncidentbotError as exc:
            yield f"{job.kind} {job.name}: failed: {exc}"


def _commit_report(c: Connections, base: Path, written: Path) -> Iterator[str]:
    """The report and its charts, committed where the team reads them (unchanged: no commit)."""
    branch = c.tracker.default_branch()
    folder = written.parent
    files = [written, *sorted((folder / "report").glob("*.svg"))]
    made = 0
    for path in files:
        relative = path.relative_to(base).as_posix()
        made += c.tracker.write_file(relative, path.read_text("utf-8"),
                                     f"Incident report ({relative})", branch)
    yield f"report: {made} file(s) committed to {branch}" if made else \
        "report: unchanged on the default branch"
