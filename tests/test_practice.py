"""Practice on a schedule (issue 15, item 10): drills and the monthly report start at the
times `schedule:` gives, once each; the scenarios ship with the package, so drills (and
`demo --drill`) work outside a checkout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import CONFIG, FakeClock, connections

from incidentbot.core import config, cron
from incidentbot.entrypoints.cli import main
from incidentbot.operations import drills, practice
from incidentbot.sandbox import Sandbox

SCHEDULE = """
schedule:
  drills:
    - {scenario: quick, cron: "0 10 * * 2"}
  report: {cron: "0 8 1 * *"}
"""
TEXT = Path(CONFIG.source).read_text() + SCHEDULE
CFG = config.parse(TEXT, source=CONFIG.source)
TUESDAY = datetime(2026, 11, 24, 9, 5, tzinfo=UTC)  # 10:05 in Berlin
FIRST = datetime(2026, 12, 1, 7, 5, tzinfo=UTC)  # 08:05 in Berlin


def test_cron_times_in_the_teams_zone() -> None:
    assert [j.name for j in practice.due(CFG, TUESDAY, timedelta(minutes=15))] == ["quick"]
    assert practice.due(CFG, TUESDAY, timedelta(minutes=4)) == []  # 10:00 is 5 min back
    assert practice.due(CFG, TUESDAY + timedelta(days=1), timedelta(minutes=15)) == []
    (job,) = practice.due(CFG, FIRST, timedelta(minutes=15))
    assert job.kind == "report" and job.slot.hour == 8
    assert cron.matches(cron.parse("*/15 9-17 * * 1-5"), datetime(2026, 11, 24, 9, 45))
    assert not cron.matches(cron.parse("*/15 9-17 * * 1-5"), datetime(2026, 11, 29, 9, 45))
    with pytest.raises(config.ConfigErrors, match=r"schedule\.drills\[0\]\.cron: hour"):
        config.parse(TEXT.replace("0 10 * * 2", "0 25 * * 2"), source="incidentbot.yml")


def test_a_scheduled_drill_runs_once(sandbox: Sandbox, tmp_path: Path) -> None:
    clock = FakeClock(sandbox, TUESDAY)
    c = connections(sandbox, CFG, clock=lambda: clock.now)

    def sleep(seconds: float) -> None:
        clock.now += timedelta(seconds=seconds)

    due = practice.due(CFG, TUESDAY, timedelta(minutes=15))
    lines = list(practice.run(c, due, now=TUESDAY, root=tmp_path, speed=60, sleep=sleep))
    assert lines[0].startswith("drill #1 opened") and lines[-1] == "drill #1 closed"
    issue = sandbox.github.store.issues[1]
    assert issue.state == "closed" and "schedule:drill:quick:20261124T0900Z" in issue.body
    # The workflow runs again within the window: nothing new is opened.
    again = list(practice.run(c, due, now=TUESDAY + timedelta(minutes=5), root=tmp_path,
                              speed=60, sleep=sleep))
    assert again == ["drill quick: already started for 2026-11-24 10:00 (#1)"]
    assert list(sandbox.github.store.issues) == [1]


def test_the_monthly_report_is_written_when_due(sandbox: Sandbox, tmp_path: Path) -> None:
    c = connections(sandbox, CFG)
    due = practice.due(CFG, FIRST, timedelta(minutes=15))
    (line,) = practice.run(c, due, now=FIRST, root=tmp_path)
    assert line.startswith("report: 0 incidents")
    assert (tmp_path / "incidents" / "REPORT.md").is_file()
    assert (tmp_path / "internal" / "report.html").is_file()


def test_from_a_workflow_a_drill_starts_as_its_own_run_and_the_report_is_committed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """What periodic.yml's Practice step does: the drill becomes a run of drill.yml with the
    slot's key (its scenario plays there, for as long as it lasts), the report a commit."""
    c = connections(sandbox, CFG)
    due = practice.due(CFG, TUESDAY, timedelta(minutes=15))
    lines = list(practice.run(c, due, now=TUESDAY, root=tmp_path, drills_via="drill.yml"))
    assert lines == ["drill quick: started as a run of drill.yml for 2026-11-24 10:00"]
    (dispatch,) = sandbox.github.store.dispatches
    assert dispatch["workflow"] == "drill.yml" and dispatch["ref"] == "main"
    assert dispatch["inputs"] == {"scenario": "quick", "speed": "1",
                                  "request_id": "schedule:drill:quick:20261124T0900Z"}
    assert sandbox.github.store.issues == {}  # nothing opened here: the drill run opens it

    report = practice.due(CFG, FIRST, timedelta(minutes=15))
    first = list(practice.run(c, report, now=FIRST, root=tmp_path, commit_report=True))
    assert first[-1] == "report: 3 file(s) committed to main"
    assert c.tracker.read_file("incidents/REPORT.md", "main") is not None
    # Asked again in its window: the same report (dated by its slot), no new commit.
    again = list(practice.run(c, report, now=FIRST + timedelta(minutes=5), root=tmp_path,
                              commit_report=True))
    assert again[-1] == "report: unchanged on the default branch"


def test_the_cli_says_what_is_due(tmp_path: Path) -> None:
    path = tmp_path / "incidentbot.yml"
    path.write_text(TEXT)
    result = CliRunner().invoke(main, ["schedule", "--dry-run", "--now", "2026-11-24T09:05",
                                       "--config", str(path)], catch_exceptions=False)
    assert result.output == "due: drill quick at 2026-11-24 10:00 (Europe/Berlin)\n"
    result = CliRunner().invoke(main, ["schedule", "--now", "2026-11-25T09:05",
                                       "--config", str(path)], catch_exceptions=False)
    assert result.output == "nothing is due\n"


def test_scenarios_ship_with_the_package(tmp_path: Path) -> None:
    # No drills/ here: the shipped scenarios are found; a team's file replaces one by name.
    assert {"checkout-deploy", "database-failover", "quick"} <= set(drills.scenarios(tmp_path))
    assert drills.load("quick", CONFIG, tmp_path).injects
    (tmp_path / "drills").mkdir()
    (tmp_path / "drills" / "quick.yml").write_text(
        "name: Ours\ntitle: Our quick drill\ninjects: [{at: 1m, text: hello}]\n")
    assert drills.load("quick", CONFIG, tmp_path).name == "Ours"
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert '"scenarios/*.yml"' in pyproject
