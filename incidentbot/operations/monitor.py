"""Health checks: probe each service, record every run as data, and turn confirmed outages
into incidents. The files a run writes are adapters/monitordata.py's.

- Probes (HTTP(S), TCP, TLS expiry) run concurrently, each with its own timeout and one
  quick retry inside the run. `$NAME` in URLs and headers is read from the environment at
  probe time and never written anywhere: results carry the service, never the URL.
- Hysteresis (pure): a service is `down` after `fail_after` consecutive failed runs
  (default 2) and `up` again after `recover_after` good ones (default 2). One bad run is
  recorded, not announced.
- Data (pure + files): one NDJSON line per service per run in `data/<slug>/<YYYY-MM-DD>.ndjson`,
  one line per run in `data/runs/<YYYY-MM-DD>.ndjson`, finished months compacted into one
  file (datastore.py), the hysteresis state in `data/state.json`. Uptime
  is computed from samples; a gap longer than 1.5 expected intervals is "no data", never up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incidentbot.adapters.monitordata import DataDir
from incidentbot.adapters.probes import run_checks
from incidentbot.core import markers
from incidentbot.core.config import Config
from incidentbot.core.health import (
    DOWN,
    FAIL_AFTER,
    RECOVER_AFTER,
    UP,
    Probe,
    ServiceState,
    Transition,
    advance,
)
from incidentbot.core.snapshot import Attribution

# -- incidents from outages ---------------------------------------------------------------
AUTO = "auto"


def open_for_outages(c: Any, config: Config, transitions: Iterable[Transition],
                     states: dict[str, ServiceState], *, severity: int = 2,
                     public: bool = False) -> list[str]:
    """A confirmed outage opens an incident (or comments on the one already open for the
    service, or moves the monitor's own incident for it back from fixed, as Upptime reopens
    its issue, so a flapping service keeps one incident and one channel); a recovery
    comments and moves incidents the monitor opened to fixed. Costs no request beyond the
    one listing of open incidents and the writes themselves.

    The notes are plain words: they are written to GitHub and mirrored to Slack, whose
    mrkdwn would show GitHub's `**` as it is."""
    from incidentbot.core.commands import Change
    from incidentbot.core.model import REOPEN_STATUS, SERVICE_PREFIX, Status, read_labels
    from incidentbot.operations import incidents as operations

    said = []
    open_now = c.tracker.list_incidents(state="open")
    # Said as a note through update_incident, so it reaches the incident's channel at once
    # (the bot's plain comments are never relayed, and Actions' writes start no workflow).
    by = Attribution("health checks", "monitor")
    for t in transitions:
        name = config.service_names([t.slug])[0]
        covering = [i for i in open_now if f"{SERVICE_PREFIX}{t.slug}" in
                    {label.lower() for label in i.labels}]
        # A drill, or an incident whose fix is already in (fixed or later), must not absorb
        # a real outage: the outage opens its own incident, announced and relayed.
        reopenable = [i for i in covering
                      if _reopens(read_labels(i.labels, config.severities))]
        covering = [i for i in covering
                    if _absorbs(read_labels(i.labels, config.severities))]
        if t.became == DOWN:
            if covering:
                number = covering[0].number
                operations.update_incident(
                    c, number, Change(), by=by,
                    note=f":red_circle: Health checks confirm {name} is down "
                         f"({t.detail}).")
                said.append(f"{t.slug}: down; commented on #{number}")
            elif reopenable:
                # The fix did not hold: the same incident again, not another.
                number = max(i.number for i in reopenable)
                operations.update_incident(
                    c, number, Change(status=REOPEN_STATUS), by=by,
                    note=f":red_circle: Health checks say {name} is down again "
                         f"({t.detail}): back to {REOPEN_STATUS.value}.")
                said.append(f"{t.slug}: down again; #{number} moved back to "
                            f"{REOPEN_STATUS.value}")
            else:
                first = states[t.slug].first_failed or states[t.slug].since
                issue, _ = operations.open_incident(
                    c, title=f"{name} is down", severity=severity, services=[t.slug],
                    description=f"Health checks failed on consecutive runs since "
                                f"{first.replace('T', ' ')[:16]} UTC: "
                                f"{t.detail}.\n\n" + markers.STARTED.format(at=first),
                    public=public, by=by,
                    request_id=f"monitor-{t.slug}-{states[t.slug].since}")
                c.tracker.relabel(issue.number, [AUTO], [])
                number = issue.number
                said.append(f"{t.slug}: down; opened #{number}")
            states[t.slug] = replace(states[t.slug], incident=number)
        else:
            for issue in covering:
                fields = read_labels(issue.labels, config.severities)
                moved = fields.auto and fields.status.rank < Status.FIXED.rank
                operations.update_incident(
                    c, issue.number, Change(status=Status.FIXED) if moved else Change(),
                    by=by, note=f":large_green_circle: Health checks say {name} is up "
                                "again.")
                if moved:
                    said.append(f"{t.slug}: up; #{issue.number} moved to fixed")
                else:
                    said.append(f"{t.slug}: up; commented on #{issue.number}")
            states[t.slug] = replace(states[t.slug], incident=None)
    return said


def _absorbs(fields: Any) -> bool:
    """May this open incident take a new outage of its service as a comment?"""
    from incidentbot.core.model import Status

    return bool(fields.is_incident and not fields.drill
                and fields.status.rank < Status.FIXED.rank)


def _reopens(fields: Any) -> bool:
    """Is this the monitor's own incident, fixed but not closed, that a new outage of its
    service moves back rather than opening another?"""
    from incidentbot.core.model import Status

    return bool(fields.is_incident and fields.auto and not fields.drill
                and fields.status is Status.FIXED)


@dataclass
class RunResult:
    probes: dict[str, Probe] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def run(config: Config, data: DataDir, *, now: datetime | None = None, run_id: str = "",
        where: str = "local", env: Mapping[str, str] | None = None, retry: bool = True,
        pause: float = 1.0, fail_after: int = FAIL_AFTER,
        recover_after: int = RECOVER_AFTER,
        concurrency: int = 20) -> tuple[RunResult, dict[str, ServiceState]]:
    """One monitoring run: probe, advance the hysteresis, write the data."""
    probes = run_checks(config.services, env, retry=retry, pause=pause,
                        concurrency=concurrency)
    return record(data, probes, now=now, run_id=run_id, where=where, fail_after=fail_after,
                  recover_after=recover_after)


def record(data: DataDir, probes: dict[str, Probe], *, now: datetime | None = None,
           run_id: str = "", where: str = "local", fail_after: int = FAIL_AFTER,
           recover_after: int = RECOVER_AFTER) -> tuple[RunResult, dict[str, ServiceState]]:
    """Advance the hysteresis from the saved state and write one run's data (again, on top
    of another writer's data, when a push lost a race)."""
    now = now or datetime.now(UTC)
    states = data.states()
    result = RunResult(probes=probes)
    for slug, p in probes.items():
        new, changed = advance(states.get(slug, ServiceState()), p, now,
                               fail_after=fail_after, recover_after=recover_after)
        states[slug] = new
        if changed:
            result.transitions.append(Transition(slug, DOWN if new.state == DOWN else UP,
                                                 p.detail or new.state))
    result.files = data.write_run(run_id or f"{now:%Y%m%dT%H%M%S}", where, now, probes,
                                  states)
    return result, states
