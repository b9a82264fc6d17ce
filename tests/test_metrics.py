"""Metrics from a seeded history, with the figures worked out by hand."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import ROOT, connections

from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.entrypoints.cli import main
from incidentbot.operations import incidents as operations
from incidentbot.operations import metrics
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE

M = timedelta(minutes=1)


def record(n: int, month: int, severity: str, resolve: int | None, ack: int = 5,
           services: tuple[str, ...] = ("checkout",), pm: tuple[bool, bool] = (False, False),
           ) -> metrics.Record:
    return metrics.Record(n, datetime(2026, month, 3, tzinfo=UTC), severity, services,
                          ack * M, None if resolve is None else (resolve - 10) * M,
                          None if resolve is None else resolve * M, *pm)


HISTORY = [
    record(1, 9, "SEV2", 30, pm=(True, True)),
    record(2, 10, "SEV2", 60, ack=2, pm=(True, False)),
    record(3, 10, "SEV3", 120, ack=10, services=("checkout", "payments"), pm=(True, True)),
    record(4, 10, "SEV4", None, ack=1, services=()),
]


def test_percentiles_by_hand() -> None:
    assert metrics.percentile([30, 60, 120], 90) == pytest.approx(108)  # 60 + 0.8 × 60
    assert metrics.percentile([30], 90) == 30
    assert metrics.percentile([], 90) is None


def test_rows_by_month_severity_and_service() -> None:
    october = {r.key: r for r in metrics.group(HISTORY, "month")}["2026-10"]
    assert october.count == 3
    assert october.resolve == (90, pytest.approx(114))  # median of 60 and 120; p90
    assert october.acknowledge == (2, pytest.approx(8.4))  # 1, 2, 10 → median 2
    assert october.postmortems == (1, 2)
    services = {r.key: r.count for r in metrics.group(HISTORY, "service")}
    assert services == {"(none)": 1, "checkout": 3, "payments": 1}


def test_the_report_and_charts() -> None:
    text = metrics.report(HISTORY, open_action_items=3, since="2026-09-01",
                          generated=datetime(2026, 11, 22, tzinfo=UTC))
    assert "- **4** incidents; median time to resolve **1h 0m** (p90 1h 48m)" in text
    assert "- Postmortems written: **2 of 3** that needed one" in text
    assert "| 2026-10 | 3 | 2m / 8m | 1h 20m / 1h 44m | 1h 30m / 1h 54m | 1/2 (50%) |" in text
    svg = metrics.incidents_per_month(HISTORY, ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"])
    assert svg.startswith("<svg") and svg.count("<rect x=") == 4 + 5  # 4 bar parts, legend
    assert metrics.mttr_trend(HISTORY).count("<circle") == 2
    assert metrics.incidents_per_month(HISTORY, ["SEV2"]) == \
        metrics.incidents_per_month(HISTORY, ["SEV2"])  # byte-stable


def test_report_on_the_sandbox_leaves_drills_out(sandbox: Sandbox, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    now = {"t": datetime(2026, 10, 5, 9, 0, tzinfo=UTC)}
    sandbox.github.clock = lambda: now["t"]
    sandbox.slack.clock = lambda: now["t"].timestamp()
    c = connections(sandbox, clock=lambda: now["t"])
    real, _ = operations.open_incident(c, title="Real", severity=3, reporter=ALICE,
                                       request_id="m1")
    drill, _ = operations.open_incident(c, title="Practice", severity=3, drill=True,
                                        reporter=ALICE, request_id="m2")
    now["t"] += 4 * M
    sandbox.github_comment("bob", real.number, "On it.")
    now["t"] += 20 * M
    operations.update_incident(c, real.number, Change(status=Status.FIXED),
                               by=Attribution("bob", "CLI"))
    now["t"] += 6 * M
    operations.close_incident(c, real.number, by=Attribution("bob", "CLI"), force=True)
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", "--config", str(ROOT / "incidentbot.yml")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "incidents" / "REPORT.md").read_text()
    assert "- **1** incident; median time to resolve **30m**" in text
    assert "| SEV3 | 1 | 4m / 4m |" in text
    assert (tmp_path / "incidents" / "report" / "mttr.svg").read_text().startswith("<svg")
    page = (tmp_path / "internal" / "report.html").read_text()
    assert 'name="robots" content="noindex"' in page and "Practice" not in page
    assert drill.number != real.number
    assert os.listdir(tmp_path / "internal") == ["report.html"]
