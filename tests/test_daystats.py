"""Day sums give exactly what health.uptime computes over the same spans."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from incidentbot.core.health import Sample, uptime
from incidentbot.core.render.daystats import day_stats

NOW = datetime(2026, 11, 22, 13, 7, tzinfo=UTC)


def test_day_sums_and_windows_match_uptime_over_the_same_span() -> None:
    rng = random.Random(7)  # noqa: S311 (a fixed test pattern, not a secret)
    samples, t = [], NOW - timedelta(days=12, hours=5)
    while t < NOW:
        samples.append(Sample(t, rng.choice(["up"] * 8 + ["down", "degraded"]), 200,
                              rng.randint(50, 500)))
        t += timedelta(minutes=rng.choice([5, 5, 5, 6, 9, 40]))
    stats = day_stats(samples, NOW, 30)
    for index in range(30):
        start = stats.first + timedelta(days=index)
        direct = uptime(samples, start, min(start + timedelta(days=1), NOW))
        got = stats.totals[index]
        for field in ("up", "degraded", "down", "no_data"):
            assert abs((getattr(got, field) - getattr(direct, field)).total_seconds()) < 1e-3
    for span in (timedelta(days=1), timedelta(days=7), timedelta(days=30)):
        direct = uptime(samples, NOW - span, NOW)
        assert abs(stats.window(NOW - span).percent - direct.percent) < 1e-9  # type: ignore[operator]
    week = [s.ms for s in samples if s.t >= NOW - timedelta(days=7) and s.ms is not None]
    assert stats.average_ms(NOW - timedelta(days=7)) == int(sum(week) / len(week))
