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

from incidentbot import cron
from incidentbot.config import Config
from incidentbot.errors import IncidentbotError
from incidentbot.operations import Connections

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
        speed: float = 1.0, sleep: Callable[[float], None] | None = None) -> Iterator[str]:
    """Run each due job once; a failure is said and the others still run."""
    from incidentbot import drills, metrics

    base = root or Path.cwd()
    for job in jobs:
        try:
            if job.kind == REPORT:
                count, written, _page = metrics.write_report(
                    c.tracker, c.config, out_dir=base, internal_dir=base / "internal",
                    since=None, now=now)
                yield f"report: {count} incidents -> {written}"
                continue
            number = started(c, job)
            if number is not None:
                yield (f"drill {job.name}: already started for {job.slot:%Y-%m-%d %H:%M} "
                       f"(#{number})")
                continue
            scenario = drills.load(job.name, c.config, base)
            yield from drills.run(c, scenario, speed=speed, request_id=job.key,
                                  sleep=sleep or time.sleep)
        except IncidentbotError as exc:
            yield f"{job.kind} {job.name}: failed: {exc}"
