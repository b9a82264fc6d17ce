"""Reports, the schedule, health checks, the status page and the periodic job."""

from __future__ import annotations

import sys
from typing import Any

import click

from incidentbot.entrypoints.cli.common import (
    CONFIG_OPTION,
    load_config,
    main,
    plural,
)


@main.command()
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Only incidents opened on or after this date (YYYY-MM-DD).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Repository root to write incidents/REPORT.md under.")
@click.option("--internal", "internal_dir", type=click.Path(file_okay=False),
              default="internal", show_default=True,
              help="Where the internal HTML page goes (never the public site).")
@CONFIG_OPTION
def report(since: Any, out_dir: str, internal_dir: str, config_path: str | None) -> None:
    """Incident metrics per month, severity and service, with charts.

    Writes incidents/REPORT.md with SVG charts under incidents/report/, and an internal page
    (internal/report.html). Drills are left out.

    Example: incidentbot report --since 2026-01-01
    """
    from datetime import UTC, datetime
    from pathlib import Path

    from incidentbot.operations import incidents as operations
    from incidentbot.operations import metrics

    config = load_config(config_path)
    c = operations.connect(config, need_chat=False)
    start = since.replace(tzinfo=UTC) if since else None
    count, written, page = metrics.write_report(c.tracker, config, out_dir=Path(out_dir),
                                                internal_dir=Path(internal_dir), since=start,
                                                now=datetime.now(UTC))
    click.echo(f"{plural(count, 'incident')} -> {written}, {page}")


@main.command()
@click.option("--now", "now_text", type=click.DateTime(formats=["%Y-%m-%dT%H:%M"]),
              help="Pretend it is this UTC time (YYYY-MM-DDTHH:MM).")
@click.option("--window", type=click.IntRange(1, 24 * 60), default=15, show_default=True,
              help="Minutes back to look for due times (scheduled workflows start late).")
@click.option("--dry-run", is_flag=True, help="Say what is due; start nothing.")
@click.option("--drills-via", metavar="WORKFLOW",
              help="Start each due drill as a run of this workflow (e.g. drill.yml) instead "
              "of playing it here: what a scheduled workflow does.")
@click.option("--commit-report", is_flag=True,
              help="Commit the report to the default branch (from a workflow's runner).")
@CONFIG_OPTION
def schedule(now_text: Any, window: int, dry_run: bool, drills_via: str | None,
             commit_report: bool, config_path: str | None) -> None:
    """Start the drills and the report that `schedule:` in incidentbot.yml says are due.

    Each due time runs once, however often this is called in its window: a drill is found
    again by its marker, the report is rewritten. Run it from a scheduled workflow.

    Example: incidentbot schedule --dry-run
    """
    from datetime import UTC, datetime, timedelta

    from incidentbot.operations import incidents as operations
    from incidentbot.operations import practice

    config = load_config(config_path)
    now = now_text.replace(tzinfo=UTC) if now_text else datetime.now(UTC)
    due = practice.due(config, now, timedelta(minutes=window))
    if dry_run or not due:
        for job in due:
            click.echo(f"due: {job.kind} {job.name} at {job.slot:%Y-%m-%d %H:%M} "
                       f"({config.timezone})")
        if not due:
            click.echo("nothing is due")
        return
    c = operations.connect(config)
    for line in practice.run(c, due, now=now, drills_via=drills_via,
                             commit_report=commit_report):
        click.echo(line)


# -- health checks and the status page -------------------------------------------------------
@main.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default="data",
              show_default=True, help="The monitor's data directory (a checkout of the "
              "data branch in Actions).")
@click.option("--where", default="local", show_default=True,
              help="Where the checks run from (recorded with each sample).")
@click.option("--no-incidents", is_flag=True,
              help="Record only: open and resolve no incidents.")
@CONFIG_OPTION
def check(data_dir: str, where: str, no_incidents: bool, config_path: str | None) -> None:
    """Run every service's health checks once and record the results.

    A service is down after 2 failed runs in a row and up after 2 good ones; a confirmed
    outage opens an incident (or comments on the one already open), a recovery moves the
    incidents the monitor opened to fixed.

    Example: incidentbot check --data data
    """
    import os

    from incidentbot.adapters import monitordata
    from incidentbot.core import health
    from incidentbot.operations import incidents as operations
    from incidentbot.operations import monitor

    config = load_config(config_path)
    data = monitordata.DataDir(data_dir)
    run_id = os.environ.get("GITHUB_RUN_ID", "")
    settings = config.monitor
    result, states = monitor.run(config, data, run_id=run_id, where=where,
                                 fail_after=settings.fail_after,
                                 recover_after=settings.recover_after,
                                 concurrency=settings.concurrency)
    for slug, probe in sorted(result.probes.items()):
        state, streak = health.verdict(probe, states[slug], fail_after=settings.fail_after,
                                       recover_after=settings.recover_after)
        shown = f"{probe.code} " if probe.code else ""
        ms = f"{probe.ms} ms" if probe.ms is not None else ""
        said = "  ".join(part for part in (f"{shown}{ms}".strip(), streak, probe.detail)
                         if part)
        click.echo(f"{slug:<20} {state:<9} {said}".rstrip())
    if result.transitions and not no_incidents:
        c = operations.connect(config)
        for line in monitor.open_for_outages(c, config, result.transitions, states,
                                             severity=settings.severity,
                                             public=settings.public):
            click.echo(line)
        data.write_state(states)
    if not result.probes:
        click.echo("no service has health checks (services[].checks in incidentbot.yml)")


@main.command("import-upptime")
@click.argument("source", type=click.Path(dir_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write incidentbot.yml here instead of printing it.")
def import_upptime(source: str, output: str | None) -> None:
    """Convert an Upptime .upptimerc.yml into incidentbot.yml, keeping Upptime's slugs.

    What has no equivalent is listed on stderr. The result is validated before it is
    printed or written.

    Example: incidentbot import-upptime .upptimerc.yml -o incidentbot.yml
    """
    from pathlib import Path

    from incidentbot.core import config as configuration
    from incidentbot.core import upptime

    converted, dropped = upptime.convert(Path(source).read_text("utf-8"), source=source)
    text = upptime.dump(converted)
    configuration.parse(text, source=output or "(converted)")  # raises with file:line:key
    for key in dropped:
        click.echo(f"not carried over: {key}", err=True)
    if output:
        Path(output).write_text(text, "utf-8")
        click.echo(f"wrote {output}: {plural(len(converted['services']), 'service')}",
                   err=True)
    else:
        click.echo(text, nl=False)


@main.group("status-page")
def status_page() -> None:
    """Build the public status page."""


@status_page.command("build")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Where the site is written  [default: status_page.output, else site]")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default="data",
              show_default=True)
@click.option("--notify", is_flag=True,
              help="Also post new public updates to status_page.subscribers, once each.")
@CONFIG_OPTION
def status_page_build(out_dir: str | None, data_dir: str, notify: bool,
                      config_path: str | None) -> None:
    """Write the static status page: HTML, the Statuspage v2 JSON API, badges and a feed.

    Only incidents labelled public (never private or drill) appear.

    Example: incidentbot status-page build --out site --notify
    """
    from incidentbot.adapters import monitordata
    from incidentbot.operations import incidents as operations
    from incidentbot.operations import pagebuild

    config = load_config(config_path)
    out_dir = out_dir or config.status_page.output
    c = operations.connect(config, need_chat=False)
    page = pagebuild.build_page(
        config, c, monitordata.DataDir(data_dir), out_dir,
        warn=lambda text: click.echo(f"warning: {text}", err=True))
    click.echo(f"{plural(len(page.written), 'file')} under {out_dir}/ "
               f"(open {out_dir}/index.html)")
    if notify and config.status_page.subscribers:
        made, problems = pagebuild.notify_subscribers(config, page, monitordata.DataDir(data_dir))
        click.echo(f"subscribers: {made} posts")
        for problem in problems:
            click.echo(f"warning: {problem}", err=True)


@main.command("periodic")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default="data",
              show_default=True, help="The monitor's data directory.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Build the status page here when something it shows changed.")
@click.option("--data-branch", metavar="BRANCH",
              help="Fetch the data from this branch and push it back as its new tip (the "
              "branch keeps a commit per day of the month, e.g. status-data).")
@click.option("--site-branch", metavar="BRANCH",
              help="Push a rebuilt page to this branch (e.g. gh-pages).")
@click.option("--remote", metavar="URL",
              help="The git remote (default: $GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git).")
@click.option("--where", default="local", show_default=True,
              help="Where the checks run from (recorded with each sample).")
@CONFIG_OPTION
def periodic_(data_dir: str, out_dir: str | None, data_branch: str | None,
              site_branch: str | None, remote: str | None, where: str,
              config_path: str | None) -> None:
    """Everything periodic in one pass: health checks, reminders, the sweep, and the status
    page only when something on it changed (periodic: in incidentbot.yml sets the sweep
    window and how often the page is rebuilt anyway).

    Example: incidentbot periodic --data-branch status-data --out site --site-branch gh-pages
    """
    from incidentbot.operations import incidents as operations
    from incidentbot.operations import periodic

    config = load_config(config_path)
    options = periodic.options_from(config, data=data_dir, site=out_dir,
                                    data_branch=data_branch, site_branch=site_branch,
                                    remote=remote, where=where)
    report = periodic.run(config, lambda: operations.connect(config), options)
    for line in report.lines:
        click.echo(line)
    if report.page_error:
        click.echo(f"error: the status page: {report.page_error}", err=True)
        sys.exit(1)
    if report.incomplete:
        sys.exit(3)


# -- drills ---------------------------------------------------------------------------------
