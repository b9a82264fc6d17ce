"""The periodic pass and the data branch, with real git (a local bare remote) and the sandbox."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import CONFIG, connections
from test_subscriptions import hooks  # noqa: F401 - the webhook receiver fixture

from incidentbot.adapters import databranch, datastore, pagecache
from incidentbot.adapters.databranch import Branch
from incidentbot.adapters.monitordata import DataDir
from incidentbot.core.config import Config
from incidentbot.core.errors import InvalidInput
from incidentbot.core.model import HealthCheck
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import periodic
from incidentbot.sandbox import Sandbox

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    _git("init", "--quiet", "--bare", str(path))
    return path


def _commits(remote: Path, branch: str) -> int:
    return int(_git("-C", str(remote), "rev-list", "--count", branch))


def _checked(sandbox: Sandbox) -> Config:
    """Two services whose TCP check reaches the sandbox's own port: up, with no network."""
    port = urlsplit(sandbox.url).port
    check = HealthCheck(kind="tcp", host="127.0.0.1", port=port, timeout_s=2.0)
    services = tuple(replace(s, checks=(check,)) for s in CONFIG.services[:2])
    return replace(CONFIG, services=services)


def test_the_branch_keeps_a_commit_per_day_of_the_month_and_each_run_replaces_the_tip(
    tmp_path: Path, remote: Path
) -> None:
    branch = Branch(str(remote), "status-data")
    work = tmp_path / "data"
    assert databranch.checkout(branch, work) is None  # no branch yet
    day = datetime(2026, 11, 10, 0, 5, tzinfo=UTC)
    (work / "a.txt").write_text("one\n")
    lease = databranch.publish(branch, work, None, "first", now=day)
    for n, (days, expected) in enumerate([(0, 2), (0, 2), (1, 3), (1, 3), (2, 4)]):
        (work / "a.txt").write_text(f"{n}\n")
        lease = databranch.publish(branch, work, lease, "run",
                                   now=day + timedelta(days=days, minutes=5 * n + 5))
        assert lease is not None and _commits(remote, "status-data") == expected
    assert databranch.publish(branch, work, lease, "again", now=day) is None  # same tree
    (work / "a.txt").write_text("December\n")
    lease = databranch.publish(branch, work, lease, "new month",
                               now=datetime(2026, 12, 1, tzinfo=UTC))
    assert _commits(remote, "status-data") == 1  # a new month: November's commits dropped

    other = tmp_path / "other"
    assert databranch.checkout(branch, other) == lease
    assert (other / "a.txt").read_text() == "December\n"
    (other / "b.txt").write_text("theirs\n")
    databranch.publish(branch, other, lease, "theirs", now=T0)
    (work / "a.txt").write_text("three\n")
    with pytest.raises(databranch.Moved):  # never overwrites blind
        databranch.publish(branch, work, lease, "stale", now=T0)


def test_a_run_pushes_only_the_files_it_changed(tmp_path: Path, remote: Path) -> None:
    branch = Branch(str(remote), "status-data")
    work = tmp_path / "data"
    work.mkdir()
    for n in range(20):  # finished days
        (work / f"2026-11-{n + 1:02d}.ndjson").write_text(f"day {n}\n" * 100)
    first = databranch.publish(branch, work, None, "first", now=T0)
    (work / "2026-11-30.ndjson").write_text("today\n")
    second = databranch.publish(branch, work, first, "run", now=T0 + timedelta(minutes=5))
    (work / "2026-11-30.ndjson").write_text("today\nand again\n")
    third = databranch.publish(branch, work, second, "run", now=T0 + timedelta(minutes=10))
    assert first and second and third
    sent = _git("-C", str(work), "rev-list", "--objects", third, f"^{second}").splitlines()
    assert len(sent) == 3  # the commit, the tree, today's file: what the push sends


def test_the_token_is_a_header_in_the_environment_never_in_the_url() -> None:
    branch = Branch.on_github("https://ghe.example.com/", "acme/incidents", "status-data",
                              "ghs_secret")
    assert branch.remote == "https://ghe.example.com/acme/incidents.git"
    assert "ghs_secret" not in branch.remote and "ghs_secret" not in repr(branch)
    assert branch.env["GIT_CONFIG_KEY_0"] == "http.https://ghe.example.com/.extraheader"
    assert branch.env["GIT_CONFIG_VALUE_0"].startswith("AUTHORIZATION: basic ")


def test_options_take_the_remote_from_github_server_url() -> None:
    options = periodic.options_from(
        CONFIG, data="d", data_branch="status-data",
        env={"GITHUB_SERVER_URL": "https://ghe.example.com", "GITHUB_REPOSITORY": "a/b",
             "GITHUB_RUN_ID": "77"})
    assert options.data_branch is not None
    assert options.data_branch.remote == "https://ghe.example.com/a/b.git"
    assert options.run_id == "77" and options.site_branch is None
    assert options.sweep == timedelta(minutes=30) and options.page_every == timedelta(hours=1)


def test_a_quiet_pass_checks_and_skips_everything_else(
    sandbox: Sandbox, tmp_path: Path, remote: Path
) -> None:
    config = _checked(sandbox)
    c = connections(sandbox, config)
    options = periodic.Options(data=tmp_path / "data", site=tmp_path / "site",
                               data_branch=Branch(str(remote), "status-data"),
                               site_branch=Branch(str(remote), "gh-pages"), retry=False)
    first = periodic.run(config, lambda: c, options, now=T0).lines
    assert first[0] == "checks: 2 up, 0 degraded, 0 down"
    assert "sweep: nothing open or changed" in first
    assert any(line.startswith("page: built") and "never built" in line for line in first)
    assert "page: published to gh-pages" in first

    before = len(sandbox.calls)
    second = periodic.run(config, lambda: c, options, now=T0 + timedelta(minutes=5)).lines
    assert "page: unchanged, not rebuilt" in second
    assert "sweep: nothing open or changed" in second
    assert second[-1].startswith("data: status-data is now")
    assert _commits(remote, "status-data") == 2 and _commits(remote, "gh-pages") == 1
    assert len(sandbox.calls) - before == 2  # the two incident lists, nothing else

    fresh = DataDir(tmp_path / "elsewhere")  # what a depth-1 fetch gives a reader
    databranch.checkout(Branch(str(remote), "status-data"), fresh.root)
    assert len(fresh.runs()) == 2
    assert len(fresh.samples(config.services[0].slug)) == 2

    later = periodic.run(config, lambda: c, options, now=T0 + timedelta(minutes=65)).lines
    assert any(line.startswith("page: built") and "min ago" in line for line in later)


def test_an_open_incident_is_synced_once_and_a_public_change_rebuilds_the_page(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = replace(CONFIG, services=tuple(replace(s, checks=()) for s in CONFIG.services))
    c = connections(sandbox, config)
    options = periodic.Options(data=tmp_path / "data", site=tmp_path / "site")
    periodic.run(config, lambda: c, options, now=datetime.now(UTC))
    issue, _ = operations.open_incident(c, title="Checkout errors", severity=2,
                                        services=["checkout"], public=True,
                                        request_id="periodic-test")
    lines = periodic.run(config, lambda: c, options, now=datetime.now(UTC)).lines
    assert "checks: skipped (no service has health checks)" in lines
    # Just changed: its own event run syncs it; the sweep does not race that run...
    assert "sweep: 0 incident(s) synced, 0 reminder(s), 0 incomplete, " \
           "1 left to their event runs" in lines
    assert any(f"incident #{issue.number} changed" in line for line in lines)
    # ...and takes it once it has settled (had the event run been lost).
    lines = periodic.run(config, lambda: c, options,
                         now=datetime.now(UTC) + timedelta(minutes=3)).lines
    assert any(line.startswith("sweep: 1 incident(s) synced") for line in lines)
    assert (tmp_path / "site" / "incidents" / f"{issue.number}.html").exists()


def test_a_writer_that_lost_the_race_redoes_its_run_on_top(
    sandbox: Sandbox, tmp_path: Path, remote: Path
) -> None:
    config = _checked(sandbox)
    c = connections(sandbox, config)
    branch = Branch(str(remote), "status-data")
    mine = periodic.Options(data=tmp_path / "mine", data_branch=branch, retry=False,
                            where="actions", site=tmp_path / "site")
    theirs = periodic.Options(data=tmp_path / "theirs", data_branch=branch, retry=False,
                              where="dispatcher")
    periodic.run(config, lambda: c, theirs, now=T0)

    def connect_after_another_writer_pushed() -> operations.Connections:
        # Called once this pass has fetched the branch: the other writer pushes meanwhile.
        periodic.run(config, lambda: c, theirs, now=T0 + timedelta(minutes=4))
        return c

    lines = periodic.run(config, connect_after_another_writer_pushed, mine,
                         now=T0 + timedelta(minutes=5)).lines
    assert lines[-1].startswith("data: status-data is now")
    assert _commits(remote, "status-data") == 2
    final = DataDir(tmp_path / "reader")
    databranch.checkout(branch, final.root)
    wheres = [r["where"] for r in datastore.run_records(final.root)]
    assert wheres == ["dispatcher", "dispatcher", "actions"]
    assert len(final.samples(config.services[0].slug)) == 3
    # What the page build learnt is published with the data, not lost in the redo.
    assert (final.root / pagecache.PATH).exists()


def test_the_dispatchers_timer_runs_passes_in_turn_and_survives_a_failure() -> None:
    passes: list[str] = []
    waits: list[float] = []

    def work() -> periodic.Report:
        passes.append("pass")
        if len(passes) == 2:
            raise RuntimeError("GitHub was down")
        return periodic.Report([f"pass {len(passes)}"])

    def wait(seconds: float) -> bool:  # stopped after the third pass: never sleeps
        waits.append(seconds)
        return len(waits) == 3

    timer = periodic.Timer(timedelta(minutes=1), work, wait=wait)
    timer.loop()
    assert passes == ["pass", "pass", "pass"]  # the failed second pass did not stop it
    assert waits == [60.0, 60.0, 60.0]


def test_the_timer_runs_the_same_pass_as_the_workflow(sandbox: Sandbox, tmp_path: Path,
                                                     remote: Path) -> None:
    config = _checked(sandbox)
    c = connections(sandbox, config)
    # The remote is $GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git, here a local bare repository.
    env = {"GITHUB_SERVER_URL": f"file://{remote.parent}", "GITHUB_REPOSITORY": "remote"}
    timer = periodic.dispatcher_timer(config, periodic.parse_every("1m"), lambda: c,
                                      data=tmp_path / "data", site=tmp_path / "site", env=env)
    assert timer.every == timedelta(minutes=1)
    assert timer.run_once() is True
    assert _commits(remote, "status-data") == 1 and _commits(remote, "gh-pages") == 1
    reader = DataDir(tmp_path / "reader")
    databranch.checkout(Branch(str(remote), "status-data"), reader.root)
    assert [r["where"] for r in datastore.run_records(reader.root)] == ["dispatcher"]
    with pytest.raises(Exception, match="--periodic: expected a duration"):
        periodic.parse_every("soon")


def test_a_branch_with_a_commit_per_run_is_left_behind_at_the_first_publish(
    tmp_path: Path, remote: Path
) -> None:
    old = tmp_path / "old"
    _git("init", "--quiet", str(old))
    for n in range(3):  # the old workflow: one commit per run
        (old / "runs.ndjson").write_text(f"{n}\n")
        _git("-C", str(old), "add", "--all")
        _git("-C", str(old), "-c", "user.name=x", "-c", "user.email=x@example.com",
             "commit", "--quiet", "-m", f"Checks of run {n}")
    _git("-C", str(old), "push", "--quiet", str(remote), "HEAD:refs/heads/status-data")
    branch = Branch(str(remote), "status-data")
    work = tmp_path / "data"
    lease = databranch.checkout(branch, work)
    assert lease is not None and (work / "runs.ndjson").read_text() == "2\n"
    (work / "runs.ndjson").write_text("3\n")
    databranch.publish(branch, work, lease, "new layout", now=datetime.now(UTC))
    assert _commits(remote, "status-data") == 1  # the old history is no longer reachable


def test_a_kept_site_directory_is_emptied_before_a_build_and_a_foreign_one_refused(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = replace(CONFIG, services=())
    c = connections(sandbox, config)
    site = tmp_path / "site"
    options = periodic.Options(data=tmp_path / "data", site=site)
    periodic.run(config, lambda: c, options, now=T0)
    (site / "incidents").mkdir(exist_ok=True)
    (site / "incidents" / "99.html").write_text("an incident no longer public")
    periodic.run(config, lambda: c, options, now=T0 + timedelta(hours=2))
    assert not (site / "incidents" / "99.html").exists()
    assert (site / "index.html").exists()

    foreign = tmp_path / "repo"
    foreign.mkdir()
    (foreign / "README.md").write_text("mine")
    with pytest.raises(InvalidInput, match="not a site incidentbot built"):
        periodic.run(config, lambda: c, periodic.Options(data=tmp_path / "d2", site=foreign),
                     now=T0)
    assert (foreign / "README.md").read_text() == "mine"


def test_the_command_runs_a_pass_and_pushes_both_branches(
    sandbox_env: dict[str, str], tmp_path: Path, remote: Path
) -> None:
    from click.testing import CliRunner

    from incidentbot.entrypoints.cli import main

    config = tmp_path / "incidentbot.yml"
    config.write_text("repository: acme/incidents\n")
    args = ["periodic", "--config", str(config), "--data", str(tmp_path / "data"),
            "--out", str(tmp_path / "site"), "--data-branch", "status-data",
            "--site-branch", "gh-pages", "--remote", str(remote)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "checks: skipped (no service has health checks)" in result.output
    assert "page: published to gh-pages" in result.output
    assert _commits(remote, "status-data") == 1 and _commits(remote, "gh-pages") == 1
    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert "page: unchanged, not rebuilt" in again.output
    assert "data: unchanged on status-data" in again.output  # nothing to push


def test_a_persons_own_repository_or_files_are_never_reset(tmp_path: Path,
                                                          remote: Path) -> None:
    branch = Branch(str(remote), "status-data")
    seed = tmp_path / "seed"
    (seed).mkdir()
    (seed / "a.txt").write_text("data\n")
    databranch.publish(branch, seed, None, "first", now=T0)
    mine = tmp_path / "mine"
    _git("init", "--quiet", str(mine))
    (mine / "notes.txt").write_text("uncommitted work\n")
    with pytest.raises(databranch.GitFailed, match="not a checkout incidentbot made"):
        databranch.checkout(branch, mine)
    with pytest.raises(databranch.GitFailed, match="did not make"):
        databranch.publish(branch, mine, None, "x", now=T0)
    files = tmp_path / "files"
    files.mkdir()
    (files / "keep.txt").write_text("mine\n")
    with pytest.raises(databranch.GitFailed, match="not a checkout incidentbot made"):
        databranch.checkout(branch, files)
    assert (mine / "notes.txt").read_text() == "uncommitted work\n"
    assert (files / "keep.txt").read_text() == "mine\n"


def test_quiet_open_incidents_cost_the_sweep_nothing_until_a_reminder_may_be_due(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from helpers import FakeClock

    config = replace(CONFIG, services=tuple(replace(s, checks=()) for s in CONFIG.services))
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, config, clock=lambda: clock.now)
    numbers = [operations.open_incident(c, title=f"Quiet {i}", severity=3,  # SEV3: every 4h
                                        roles={"commander": "U0ALICE001"},
                                        request_id=f"quiet-{i}")[0].number for i in range(10)]
    options = periodic.Options(data=tmp_path / "data")
    clock.at(60)  # an hour on: settled, commanded, not overdue
    sandbox.clear_calls()
    lines = periodic.run(config, lambda: c, options, now=clock.now).lines
    assert "sweep: nothing open or changed" in lines
    assert [x.operation for x in sandbox.calls_to("github")] == [
        "GET /repos/{owner}/{repo}/issues"] * 2  # the two lists, no incident read
    clock.at(4 * 60 + 1)  # SEV3 expects an update every 4 hours: all ten are due
    lines = periodic.run(config, lambda: c, options, now=clock.now).lines
    assert "sweep: 10 incident(s) synced, 10 reminder(s), 0 incomplete, " \
           "0 left to their event runs" in lines
    clock.at(4 * 60 + 6)  # each reminder moved its issue's updated_at: quiet again
    sandbox.clear_calls()
    lines = periodic.run(config, lambda: c, options, now=clock.now).lines
    assert "sweep: nothing open or changed" in lines
    assert len(sandbox.calls_to("github")) == 2
    assert len(numbers) == 10


def test_the_periodic_page_build_tells_subscribers_once(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    hooks: tuple[str, list[tuple[str, object]]],  # noqa: F811 - the fixture, imported
) -> None:
    """A rebuilt page posts each new public update to status_page.subscribers, once."""
    from helpers import FakeClock

    from incidentbot.core.commands import Change
    from incidentbot.core.config import Subscriber
    from incidentbot.core.model import Status

    base, got = hooks
    monkeypatch.setenv("JSON_HOOK", f"{base}/json")
    page = replace(CONFIG.status_page, subscribers=(Subscriber("json", "$JSON_HOOK"),))
    config = replace(CONFIG, status_page=page,
                     services=tuple(replace(s, checks=()) for s in CONFIG.services))
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, config, clock=lambda: clock.now)
    options = periodic.Options(data=tmp_path / "data", site=tmp_path / "site")
    periodic.run(config, lambda: c, options, now=clock.now)  # subscribing starts now
    issue, _ = operations.open_incident(c, title="Checkout errors", severity=2,
                                        services=["checkout"], public=True)
    clock.at(10)
    operations.update_incident(c, issue.number, Change(status=Status.FIXING),
                               note="We found the cause.", public=True,
                               by=Attribution("U0ALICE001", "Slack"))
    clock.at(15)
    lines = periodic.run(config, lambda: c, options, now=clock.now).lines
    assert any(line.startswith("page: built") for line in lines), lines
    posted = [body for path, body in got if path == "/json"]
    assert any(isinstance(b, dict) and b.get("body") == "We found the cause." for b in posted)
    count = len(got)
    clock.at(80)  # the page is rebuilt again (older than an hour): nothing new to tell
    periodic.run(config, lambda: c, options, now=clock.now)
    assert len(got) == count


def test_periodic_takes_a_site_status_page_build_made_and_refuses_others_before_work(
    sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from incidentbot.entrypoints.cli import main

    config = tmp_path / "incidentbot.yml"
    config.write_text("repository: acme/incidents\n")
    data, site = tmp_path / "data", tmp_path / "site"
    common = ["--config", str(config), "--data", str(data), "--out", str(site)]
    built = CliRunner().invoke(main, ["status-page", "build", *common],
                               catch_exceptions=False)
    assert built.exit_code == 0, built.output
    result = CliRunner().invoke(main, ["periodic", *common], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (site / "index.html").exists()

    foreign = tmp_path / "repo"
    foreign.mkdir()
    (foreign / "README.md").write_text("mine")
    other = tmp_path / "other-data"
    refused = CliRunner().invoke(main, ["periodic", "--config", str(config), "--data",
                                        str(other), "--out", str(foreign)])
    assert refused.exit_code == 2, refused.output
    assert "not a site incidentbot built" in refused.output
    assert not other.exists()  # refused before anything was checked or recorded


def test_a_page_that_fails_never_costs_the_data_push(
    sandbox: Sandbox, tmp_path: Path, remote: Path
) -> None:
    config = _checked(sandbox)
    c = connections(sandbox, config)
    nowhere = Branch(str(tmp_path / "no-such-remote.git"), "gh-pages")
    options = periodic.Options(data=tmp_path / "data", site=tmp_path / "site",
                               data_branch=Branch(str(remote), "status-data"),
                               site_branch=nowhere, retry=False)
    report = periodic.run(config, lambda: c, options, now=T0)
    assert report.page_error, report.lines  # the page could not be published
    assert any(line.startswith("data: status-data is now") for line in report.lines)
    # A bug in the build (a logo that is not there): the data still goes out, then it is
    # raised.
    broken = replace(config, status_page=replace(config.status_page, logo="missing.png"))
    with pytest.raises(ValueError, match="logo"):
        periodic.run(broken, lambda: c, replace(options, site_branch=None),
                     now=T0 + timedelta(hours=2))
    other = tmp_path / "other"
    databranch.checkout(Branch(str(remote), "status-data"), other)
    runs = "".join(p.read_text() for p in (other / "runs").glob("*.ndjson"))
    assert len(runs.splitlines()) == 2  # both passes' checks were pushed
