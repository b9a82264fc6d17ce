"""The health-check history: months appended, compacted once over, read in either layout."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incidentbot.adapters import datastore
from incidentbot.adapters.monitordata import DataDir
from incidentbot.core.health import DOWN, UP, Probe, Sample, ServiceState

T0 = datetime(2026, 10, 31, 23, 50, tzinfo=UTC)


def _run(data: DataDir, now: datetime, probes: dict[str, Probe]) -> list[Path]:
    states = {slug: ServiceState(state=p.state) for slug, p in probes.items()}
    return data.write_run(f"r{now:%d%H%M}", "test", now, probes, states)


def test_a_finished_month_is_compacted_once_and_reads_back_the_same(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    probes = {"api": Probe(UP, 200, 120), "db": Probe(DOWN, None, None, "refused")}
    _run(data, T0, probes)
    _run(data, T0 + timedelta(minutes=5), {"api": Probe(UP, 200, 95)})
    before = {slug: data.samples(slug) for slug in ("api", "db")}
    runs_before = data.runs()
    assert (tmp_path / "api" / "2026-10-31.ndjson").exists()  # a file per day
    assert (tmp_path / "runs" / "2026-10-31.ndjson").exists()

    november = T0 + timedelta(minutes=10)  # 2026-11-01 00:00: October is over
    changed = _run(data, november, {"api": Probe(UP, 200, 101)})
    assert not (tmp_path / "api" / "2026-10-31.ndjson").exists()
    assert (tmp_path / "api" / "2026-11-01.ndjson").exists()
    assert tmp_path / "api" / "2026-10.json.gz" in changed
    assert tmp_path / "runs" / "2026-10-31.ndjson" in changed  # removed: in the commit too
    assert data.samples("api")[:2] == before["api"]
    assert data.samples("api")[2] == Sample(november, UP, 200, 101)
    assert data.samples("db") == before["db"]
    assert data.runs()[:2] == runs_before
    assert len(data.runs()) == 3
    packed = json.loads(gzip.decompress((tmp_path / "api" / "2026-10.json.gz").read_bytes()))
    assert packed["kind"] == "samples" and packed["state"] == ["up", "up"]

    blob = (tmp_path / "api" / "2026-10.json.gz").read_bytes()
    assert datastore.compact(tmp_path, november) == []  # nothing left to do
    assert (tmp_path / "api" / "2026-10.json.gz").read_bytes() == blob


def test_a_late_line_for_a_compacted_month_is_merged(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    _run(data, T0, {"api": Probe(UP, 200, 1)})
    _run(data, T0 + timedelta(minutes=10), {"api": Probe(UP, 200, 2)})  # compacts October
    datastore.append(tmp_path / "api" / "2026-10-31.ndjson",
                     {"t": "2026-10-31T23:55:00Z", "state": "down", "code": 500, "ms": 3})
    datastore.compact(tmp_path, T0 + timedelta(minutes=15))
    assert [s.ms for s in data.samples("api")] == [1, 3, 2]


def test_the_old_layout_is_read_and_moved_on_the_next_write(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "2026-09.ndjson").write_text(
        '{"t":"2026-09-30T10:00:00Z","state":"up","code":200,"ms":80,"run":"1",'
        '"where":"github-actions"}\n')
    (tmp_path / "runs.ndjson").write_text(
        '{"t":"2026-09-30T10:00:00Z","run":"1","where":"github-actions",'
        '"expected_interval_s":300}\n'
        '{"t":"2026-10-31T23:45:00Z","run":"2","where":"github-actions",'
        '"expected_interval_s":300}\n')
    data = DataDir(tmp_path)
    old_samples, old_runs = data.samples("api"), data.runs()
    assert old_samples == [Sample(datetime(2026, 9, 30, 10, tzinfo=UTC), UP, 200, 80)]
    assert len(old_runs) == 2

    _run(data, T0, {"api": Probe(UP, 200, 70)})
    assert not (tmp_path / "runs.ndjson").exists()
    assert (tmp_path / "runs" / "2026-10-31.ndjson").read_text().count("\n") == 2
    assert (tmp_path / "runs" / "2026-09.json.gz").exists()
    assert (tmp_path / "api" / "2026-09.json.gz").exists()
    assert data.runs()[:2] == old_runs and len(data.runs()) == 3
    assert data.samples("api")[0] == old_samples[0]


def test_reading_since_skips_months_wholly_before_it(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    _run(data, datetime(2026, 8, 1, tzinfo=UTC), {"api": Probe(UP, 200, 1)})
    _run(data, datetime(2026, 10, 15, tzinfo=UTC), {"api": Probe(UP, 200, 2)})
    # A corrupt August file proves it is never opened when reading from October on.
    (tmp_path / "api" / "2026-08.json.gz").write_bytes(b"not gzip")
    since = datetime(2026, 10, 1, tzinfo=UTC)
    assert [s.ms for s in data.samples("api", since)] == [2]


def test_the_old_layouts_month_file_and_day_files_of_one_month_compact_together(
    tmp_path: Path
) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "2026-10.ndjson").write_text(  # written before day files existed
        '{"t":"2026-10-31T10:00:00Z","state":"up","code":200,"ms":5}\n')
    data = DataDir(tmp_path)
    _run(data, T0, {"api": Probe(UP, 200, 6)})  # the same month, the new layout
    assert [s.ms for s in data.samples("api")] == [5, 6]
    _run(data, T0 + timedelta(minutes=10), {"api": Probe(UP, 200, 7)})
    assert sorted(p.name for p in (tmp_path / "api").iterdir()) == [
        "2026-10.json.gz", "2026-11-01.ndjson"]
    assert [s.ms for s in data.samples("api")] == [5, 6, 7]
    since = datetime(2026, 11, 1, tzinfo=UTC)
    assert [s.ms for s in data.samples("api", since)] == [7]
