"""The kept day sums give exactly what summing every sample gives, build after build, and
a build reads samples only for the days a figure cuts into."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incidentbot.adapters import datastore
from incidentbot.adapters.daycache import CACHE, Reads, service_stats
from incidentbot.adapters.monitordata import DataDir
from incidentbot.core.health import Sample
from incidentbot.core.render import statusbars, upptimeapi
from incidentbot.core.render.daystats import DayStats, day_stats

NOW = datetime(2026, 11, 22, 13, 7, tzinfo=UTC)
DAYS = 366
CUTS = [NOW - span for _, span in statusbars.WINDOWS] + \
    [NOW - span for _, _, span in upptimeapi.SPANS if span is not None]


def _samples(seed: int, start: datetime, end: datetime) -> list[Sample]:
    rng = random.Random(seed)  # noqa: S311 (a fixed test pattern, not a secret)
    out, t = [], start
    while t < end:
        out.append(Sample(t, rng.choice(["up"] * 12 + ["down", "degraded"]), 200,
                          rng.choice([None, rng.randint(50, 500)])))
        t += timedelta(minutes=rng.choice([5] * 12 + [6, 9, 40, 300]))
    return out


def _line(s: Sample) -> str:
    return json.dumps({"t": datastore.stamp(s.t), "state": s.state, "code": s.code,
                       "ms": s.ms, "run": "r", "where": "test"}) + "\n"


def _write(root: Path, slug: str, samples: list[Sample], *, layout: str) -> None:
    """Day files (compacted once a month is over), or the old layout's month files."""
    folder = root / slug
    folder.mkdir(parents=True, exist_ok=True)
    for s in samples:
        name = f"{s.t:%Y-%m}.ndjson" if layout == "old" else f"{s.t:%Y-%m-%d}.ndjson"
        with (folder / name).open("a") as out:
            out.write(_line(s))
    if layout == "compacted":
        datastore.compact(root, NOW)


def _same(got: DayStats, want: DayStats, excluded: list[tuple[datetime, datetime]]) -> None:
    assert got.totals == want.totals
    assert got.ms == want.ms
    assert got.first_sample == want.first_sample
    assert got.latest == want.latest
    for start in [*CUTS, got.first_sample or NOW]:
        assert got.window(start) == want.window(start)
        assert got.window(start, excluded) == want.window(start, excluded)
        assert got.average_ms(start) == want.average_ms(start)
    for index in range(DAYS):
        assert got.day(index, excluded) == want.day(index, excluded)


@pytest.mark.parametrize("layout", ["compacted", "days", "old"])
def test_kept_sums_equal_every_sample_summed(tmp_path: Path, layout: str) -> None:
    samples = _samples(3, NOW - timedelta(days=130, hours=7), NOW)
    _write(tmp_path, "api", samples, layout=layout)
    excluded = [(NOW - timedelta(days=40, hours=3), NOW - timedelta(days=39, hours=20))]
    want = day_stats(DataDir(tmp_path).samples("api"), NOW, DAYS)
    cold = Reads()
    _same(service_stats(tmp_path, "api", NOW, DAYS, cuts=CUTS, excluded=excluded,
                        reads=cold), want, excluded)
    warm = Reads()
    _same(service_stats(tmp_path, "api", NOW, DAYS, cuts=CUTS, excluded=excluded,
                        reads=warm), want, excluded)
    assert cold.rewritten == ["api"] and warm.rewritten == []
    # Warm: only today, yesterday, the windows' first days and the maintenance are read.
    assert warm.sampled <= 2 + len(CUTS) + 2 + 1
    assert warm.summed >= 90


def test_new_samples_and_a_later_day_are_picked_up(tmp_path: Path) -> None:
    samples = _samples(5, NOW - timedelta(days=95), NOW)
    _write(tmp_path, "api", samples, layout="compacted")
    service_stats(tmp_path, "api", NOW, DAYS, cuts=CUTS)
    later = NOW + timedelta(days=1, hours=2)
    more = _samples(6, NOW + timedelta(minutes=1), later)
    _write(tmp_path, "api", more, layout="days")
    cuts = [later - (NOW - c) for c in CUTS]
    reads = Reads()
    got = service_stats(tmp_path, "api", later, DAYS, cuts=cuts, reads=reads)
    want = day_stats(DataDir(tmp_path).samples("api"), later, DAYS)
    assert got.totals == want.totals and got.ms == want.ms and got.latest == want.latest
    for start in cuts:
        assert got.window(start) == want.window(start)
    assert reads.files <= 2 + len(cuts)  # yesterday's and today's files, and the cuts' months


def test_a_torn_cache_is_rebuilt(tmp_path: Path) -> None:
    _write(tmp_path, "api", _samples(8, NOW - timedelta(days=20), NOW), layout="days")
    want = service_stats(tmp_path, "api", NOW, DAYS, cuts=CUTS)
    (tmp_path / CACHE / "api.json").write_text("{not json")
    got = service_stats(tmp_path, "api", NOW, DAYS, cuts=CUTS)
    assert got.totals == want.totals


def test_a_run_that_only_appends_to_today_leaves_the_kept_sums_alone(tmp_path: Path) -> None:
    """So the data branch pushes the sums once a day, not after every run."""
    _write(tmp_path, "api", _samples(9, NOW - timedelta(days=40), NOW), layout="compacted")
    service_stats(tmp_path, "api", NOW, DAYS, cuts=CUTS)
    kept = (tmp_path / CACHE / "api.json").read_bytes()
    later = NOW + timedelta(minutes=5)
    _write(tmp_path, "api", [Sample(later, "up", 200, 99)], layout="days")
    reads = Reads()
    got = service_stats(tmp_path, "api", later, DAYS,
                        cuts=[later - (NOW - c) for c in CUTS], reads=reads)
    assert reads.rewritten == [] and (tmp_path / CACHE / "api.json").read_bytes() == kept
    # Today's file, and the day files of the days the figures cut into (quick to read; the
    # samples of days inside a compacted month are kept instead).
    assert reads.files <= 1 + reads.sampled
    assert got.latest == Sample(later, "up", 200, 99)
