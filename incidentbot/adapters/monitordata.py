"""The monitor's files in a directory (a checkout of the data branch): one NDJSON line per
service per run in `<slug>/<YYYY-MM-DD>.ndjson`, one line per run in `runs/`, finished months
compacted (datastore.py), the hysteresis state in `state.json`. What the status page reads,
without the probes; the records and uptime are core/health.py's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

from incidentbot.adapters import datastore
from incidentbot.core.health import INTERVAL, Probe, Sample, ServiceState


class DataDir:
    """The monitor's files in a directory (a checkout of the data branch)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def states(self) -> dict[str, ServiceState]:
        path = self.root / "state.json"
        if not path.exists():
            return {}
        data = json.loads(path.read_text("utf-8"))
        return {slug: ServiceState(**value) for slug, value in data.items()}

    def write_run(self, run_id: str, where: str, now: datetime,
                  probes: Mapping[str, Probe], states: Mapping[str, ServiceState],
                  interval: timedelta = INTERVAL) -> list[Path]:
        """Append this run's lines, compact finished months and save the state; the files
        written or removed (one commit). The layout is in datastore.py."""
        stamp = datastore.stamp(now)
        written = []
        for slug, p in sorted(probes.items()):
            written.append(datastore.append(
                datastore.day_file(self.root / slug, now),
                {"t": stamp, "state": p.state, "code": p.code, "ms": p.ms, "run": run_id,
                 "where": where}))
        runs = datastore.append(datastore.day_file(self.root / datastore.RUNS, now),
                                {"t": stamp, "run": run_id, "where": where,
                                 "expected_interval_s": int(interval.total_seconds())})
        compacted = datastore.compact(self.root, now)
        return [*written, runs, *compacted, self.write_state(states)]

    def write_state(self, states: Mapping[str, ServiceState]) -> Path:
        path = self.root / "state.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: asdict(v) for k, v in sorted(states.items())},
                                   indent=1, sort_keys=True) + "\n", "utf-8")
        return path

    def samples(self, slug: str, since: datetime | None = None) -> list[Sample]:
        """The service's samples at or after `since`, from appended and compacted months."""
        return [Sample(datastore.parse_stamp(d["t"]), d["state"], d.get("code"), d.get("ms"))
                for d in datastore.records(self.root / slug, since)]

    def runs(self) -> list[tuple[datetime, int]]:
        return [(datastore.parse_stamp(d["t"]), int(d.get("expected_interval_s") or 300))
                for d in datastore.run_records(self.root)]
