"""The `incidentbot` command line: thin commands that parse input and call the package.

Heavy modules (PyGithub, slack-sdk, the sandbox) are imported inside the commands that need
them, so `incidentbot --help` and every Actions cold start stay fast.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from incidentbot import __version__
from incidentbot.errors import IncidentbotError

# Exit codes, in one place: did the command do everything it was asked?
EXIT_OK = 0          # yes, all of it
EXIT_FAILED = 1      # no: a check failed or something else went wrong (the message says what)
EXIT_USAGE = 2       # nothing was done: a wrong argument, configuration file or setting
#                      (an issue that does not exist, a token refused)
EXIT_INCOMPLETE = 3  # GitHub, Slack or PagerDuty failed, or the issue changed but a side
#                      effect did not: run it again, or `incidentbot sync N --repair`


def exit_code(exc: BaseException) -> int:
    """The exit code for an error the CLI reports (the most specific class wins)."""
    from incidentbot import errors

    codes: dict[type[BaseException], int] = {
        errors.ConfigError: EXIT_USAGE, errors.MissingSetting: EXIT_USAGE,
        errors.InvalidInput: EXIT_USAGE, errors.ServiceError: EXIT_INCOMPLETE,
        # Trying again will not help: the number, repository or token needs fixing.
        errors.NotFound: EXIT_USAGE, errors.AuthFailed: EXIT_USAGE,
    }
    for cls in type(exc).__mro__:
        if cls in codes:
            return codes[cls]
    return EXIT_FAILED


class _Group(click.Group):
    """Turns an IncidentbotError into one line and its exit code: no traceback for known
    failures. A file the command could not read or write is one of them."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IncidentbotError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exit_code(exc))
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"error: {exc.strerror or exc}{where}", err=True)
            sys.exit(EXIT_FAILED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="incidentbot")
def main() -> None:
    """GitHub-native incident management: the issue is the incident.

    Start with `incidentbot demo` (no credentials needed), then
    `incidentbot config check` on your own incidentbot.yml.
    """


# -- config ------------------------------------------------------------------------------------
@main.group()
def config() -> None:
    """Check incidentbot.yml or print its JSON Schema."""


@config.command("check")
@click.option("--file", "-f", "path", type=click.Path(dir_okay=False),
              help="Config file (default: $INCIDENTBOT_CONFIG or ./incidentbot.yml).")
def config_check(path: str | None) -> None:
    """Validate the configuration and print a summary.

    Exits 2 with `file:line: key: what was expected` for each problem.

    Example: incidentbot config check -f examples/p1-p3.yml
    """
    from incidentbot import config as configuration

    loaded = configuration.load(path)
    for line in configuration.summary(loaded):
        click.echo(line)
    click.echo("ok")


@config.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of incidentbot.yml (for editors and CI checks).

    Example: incidentbot config schema > incidentbot.schema.json
    """
    from incidentbot import schema

    click.echo(json.dumps(schema.schema(), indent=2))


# -- incidents ---------------------------------------------------------------------------------
def _load(config_path: str | None) -> Any:
    from incidentbot import config as configuration

    return configuration.load(config_path)


_CONFIG_OPTION = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                              help="Config file (default: ./incidentbot.yml, else defaults).")


def _report(outcome: Any) -> None:
    for line in outcome.failed:
        click.echo(f"warning: {line}", err=True)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _finish(outcome: Any) -> None:
    """Say what did not happen; exit EXIT_INCOMPLETE when something did not."""
    _report(outcome)
    if outcome.failed:
        click.echo(f"error: #{outcome.number} is changed on GitHub, but "
                   f"{_plural(len(outcome.failed), 'side effect')} failed (above); "
                   f"fix the cause, then run `incidentbot sync {outcome.number} --repair`",
                   err=True)
        sys.exit(EXIT_INCOMPLETE)


@main.command("open")
@click.option("--title", "-t", required=True, help="What is broken, in a few words.")
@click.option("--severity", "-s", type=int, help="Severity level (default from config).")
@click.option("--service", "services", multiple=True, help="Affected service slug (repeat).")
@click.option("--description", "-d", default="", help="What is known so far.")
@click.option("--public", is_flag=True, help="Show it on the public status page.")
@click.option("--private", is_flag=True, help="Security incident: private channel, never public.")
@click.option("--drill", is_flag=True, help="A practice incident: no paging, no announcements.")
@click.option("--page", is_flag=True, help="Page on-call (PagerDuty) now.")
@_CONFIG_OPTION
def open_(title: str, severity: int | None, services: tuple[str, ...], description: str,
          public: bool, private: bool, drill: bool, page: bool, config_path: str | None) -> None:
    """Open an incident: the issue, then its Slack channel and announcements at once.

    Example: incidentbot open --title "Checkout returns 502" --severity 2 --service checkout
    """
    from incidentbot import operations, sync

    c = operations.connect(_load(config_path))
    with _cli_words():
        issue, outcome = operations.open_incident(
            c, title=title, severity=severity, services=services, description=description,
            public=public, private=private, drill=drill, page=page,
            by=sync.Attribution(_cli_user(), "CLI"))
    click.echo(f"#{issue.number} {issue.url}")
    if outcome.card and outcome.card.channel_name:
        click.echo(f"Slack: #{outcome.card.channel_name}")
    _finish(outcome)


# The same rules answer Slack, issue comments and the CLI (commands.py); their messages use
# the slash commands' words, which the CLI says as its options.
_OPTIONS = (("`/reopen ", "`incidentbot update {n} --reopen --status "),
            ("/role commander @login", "--role commander=@login"),
            ("/role commander none", "--role commander=none"),
            ("/status ", "--status "), ("/sev ", "--severity "), ("/role ", "--role "),
            ("/service add ", "--service "), ("/service remove ", "--remove-service "))


@contextmanager
def _cli_words(number: int | None = None) -> Iterator[None]:
    """InvalidInput from the command rules, reworded in the CLI's options."""
    from incidentbot.errors import InvalidInput

    try:
        yield
    except InvalidInput as exc:
        text = str(exc)
        for slash, option in _OPTIONS:
            text = text.replace(slash, option.replace("{n}", str(number or "N")))
        text = re.sub(r"--severity '(\d+)'|^severity (\d+)(?=:)",
                      lambda m: f"--severity {m.group(1) or m.group(2)}", text)
        said = number is not None and not text.startswith(f"#{number} ")
        raise InvalidInput(f"#{number}: {text}" if said else text) from None


def _cli_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "someone"


@main.command()
@click.argument("number", type=int)
@click.option("--status", help="New status (open, investigating, fixing, fixed, postmortem, "
              "closed).")
@click.option("--severity", "-s", type=int, help="New severity level.")
@click.option("--service", "add", multiple=True, help="Add an affected service (repeat).")
@click.option("--remove-service", "remove", multiple=True, help="Remove a service (repeat).")
@click.option("--role", "roles", multiple=True, metavar="ROLE=USER",
              help="Assign a role: commander=@login, comms=U0123 (repeat; USER none clears).")
@click.option("--note", default="", help="An update: becomes an issue comment and a post.")
@click.option("--reopen", is_flag=True, help="Reopen a closed incident (at --status, else "
              "investigating).")
@click.option("--public", is_flag=True,
              help="Publish the note on the status page (a public incident's update).")
@_CONFIG_OPTION
def update(number: int, status: str | None, severity: int | None, add: tuple[str, ...],
           remove: tuple[str, ...], roles: tuple[str, ...], note: str, reopen: bool,
           public: bool,
           config_path: str | None) -> None:
    """Change an incident's status, severity, services or roles, or post an update.

    USER is @login (GitHub), a Slack user id, or a person from incidentbot.yml's people.
    A closed incident changes status only with --reopen.

    Example: incidentbot update 12 --status fixing --role commander=@alice --note "Rolled back"

    Example: incidentbot update 12 --note "Payments work again for most customers" --public
    """
    from dataclasses import replace

    from incidentbot import operations, sync
    from incidentbot.errors import InvalidInput
    from incidentbot.model import Status

    config = _load(config_path)
    if public and not note.strip():
        raise InvalidInput("--public publishes a note: add --note \"...\"")
    assigned = {}
    for item in roles:
        role, sep, who = item.partition("=")
        if not sep or not who.strip():
            raise InvalidInput(f"--role {item!r}: expected ROLE=USER, e.g. commander=@alice")
        assigned[role.strip()] = who.strip()
    with _cli_words():
        change = operations.change_from_options(config, status=status, severity=severity,
                                                add=add, remove=remove, roles=assigned)
    if reopen:
        change = replace(change, reopen=True, status=change.status or Status.INVESTIGATING)
    c = operations.connect(config)
    with _cli_words(number):
        outcome = operations.update_incident(c, number, change, note=note,
                                             by=sync.Attribution(_cli_user(), "CLI"),
                                             public=public)
    click.echo(f"#{number} updated")
    _finish(outcome)


@main.command()
@click.argument("number", type=int)
@click.option("--force", is_flag=True,
              help="Close although the severity wants a postmortem first.")
@click.option("--false-alarm", is_flag=True,
              help="Close as not planned: no postmortem, left out of the metrics.")
@_CONFIG_OPTION
def close(number: int, force: bool, false_alarm: bool, config_path: str | None) -> None:
    """Close an incident: final message, channel archived, paging resolved.

    A severity that needs a postmortem is closed only from `postmortem`, or with --force
    (the same rule as `/incident close` in Slack and `/close` in a comment).

    Example: incidentbot close 12 (or: incidentbot close 12 --false-alarm)
    """
    from incidentbot import operations, sync

    config = _load(config_path)
    c = operations.connect(config)
    outcome = operations.close_incident(c, number, by=sync.Attribution(_cli_user(), "CLI"),
                                        force=force, false_alarm=false_alarm)
    click.echo(f"#{number} closed" + (" as a false alarm" if false_alarm else ""))
    _finish(outcome)


@main.command("list")
@click.option("--all", "everything", is_flag=True, help="Closed incidents too.")
@_CONFIG_OPTION
def list_(everything: bool, config_path: str | None) -> None:
    """List incidents: number, status, severity, title and link.

    Example: incidentbot list --all
    """
    from incidentbot import operations
    from incidentbot.model import read_labels

    config = _load(config_path)
    c = operations.connect(config, need_chat=False)
    issues = c.tracker.list_incidents(state="all" if everything else "open")
    if not issues:
        click.echo("no incidents" if everything else "no open incidents")
    for issue in sorted(issues, key=lambda i: i.number):
        f = read_labels(issue.labels, config.severities, issue_closed=issue.state == "closed")
        sev = config.severity(f.severity).name if f.severity else "-"
        title = " ".join(issue.title.split())
        click.echo(f"#{issue.number:<5} {f.status.value:<13} {sev:<6} {title}  {issue.url}")


@main.command()
@click.argument("number", type=int)
@_CONFIG_OPTION
def show(number: int, config_path: str | None) -> None:
    """Show one incident: its fields, Slack channel, roles and the side-effect ledger.

    Example: incidentbot show 12
    """
    from incidentbot import operations
    from incidentbot import sync as reconciler
    from incidentbot.errors import InvalidInput

    config = _load(config_path)
    c = operations.connect(config, need_chat=False)
    snap = reconciler.read(c.tracker, number, config)
    f, card = snap.fields, snap.card
    if not f.is_incident:
        raise InvalidInput(f"#{number} is not an incident (it has no `incident` label): "
                           f"{snap.issue.url}; `incidentbot list --all` shows the incidents")
    click.echo(f"#{number} {' '.join(snap.issue.title.split())}")
    click.echo(f"  name:     {card.name}")
    click.echo(f"  status:   {f.status.value}")
    sev = config.severity(f.severity).name if f.severity else "unrated"
    click.echo(f"  severity: {sev}")
    click.echo(f"  services: {', '.join(f.services) or '-'}")
    flags = [n for n in ("public", "private", "drill", "auto") if getattr(f, n)]
    click.echo(f"  flags:    {', '.join(flags) or '-'}")
    click.echo(f"  slack:    {('#' + card.channel_name) if card.channel_name else '-'}"
               + (" (archived)" if card.archived else ""))
    for role, who in card.roles.items():
        click.echo(f"  {role + ':':<9} {who}")
    click.echo(f"  url:      {snap.issue.url}")
    for name, effect in sorted(card.effects.items()):
        mark = "ok " if effect.ok else "ERR"
        click.echo(f"  [{mark}] {name}" + (f": {effect.detail}" if effect.detail else ""))
    for problem in f.problems:
        click.echo(f"  note: {problem}")


@main.command("sync")
@click.argument("number", type=int, required=False)
@click.option("--all", "everything", is_flag=True, help="Every incident changed recently.")
@click.option("--since", "since_minutes", type=click.IntRange(1), default=60, show_default=True,
              help="With --all: minutes back to look for changed incidents.")
@click.option("--from-event", "from_event", is_flag=True,
              help="The issue of the GitHub Actions event in $GITHUB_EVENT_PATH.")
@click.option("--repair", is_flag=True, help="Retry side effects that failed before "
              "(invites refused earlier included).")
@_CONFIG_OPTION
def sync_(number: int | None, everything: bool, since_minutes: int, from_event: bool,
          repair: bool, config_path: str | None) -> None:
    """Make Slack and paging match the issue (idempotent: safe to run any time).

    Example: incidentbot sync 12      (one incident)
             incidentbot sync --all   (everything changed in the last hour)
    """
    from datetime import UTC, datetime, timedelta

    from incidentbot import operations
    from incidentbot import sync as reconciler
    from incidentbot.errors import InvalidInput

    if from_event:
        number = _event_issue()
        if number is None:
            return
    if (number is None) == (not everything):
        raise InvalidInput("give an issue number, --all or --from-event (one of them)")
    config = _load(config_path)
    c = operations.connect(config)
    if number is not None:
        outcome = reconciler.sync(c.tracker, c.chat, c.pager, config, number, repair=repair)
        outcomes = [outcome]
    else:
        since = datetime.now(UTC) - timedelta(minutes=since_minutes)
        outcomes = reconciler.sync_all(c.tracker, c.chat, c.pager, config, since=since)
    failed = 0
    for outcome in outcomes:
        state = "ok" if outcome.ok else "incomplete"
        click.echo(f"#{outcome.number}: {state} ({_plural(len(outcome.done), 'action')})")
        _report(outcome)
        failed += not outcome.ok
    if failed:
        sys.exit(EXIT_INCOMPLETE)


def _event_issue() -> int | None:
    """The incident issue of the Actions event, or None (said why) when there is none."""
    import os
    from pathlib import Path

    from incidentbot.errors import InvalidInput

    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise InvalidInput("--from-event: GITHUB_EVENT_PATH is not set (Actions sets it)")
    try:
        event = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"--from-event: cannot read {path}: {exc}") from None
    issue = event.get("issue") if isinstance(event, dict) else None
    if not isinstance(issue, dict) or not isinstance(issue.get("number"), int):
        click.echo("nothing to do: the event has no issue")
        return None
    if issue.get("pull_request") is not None:
        click.echo(f"nothing to do: #{issue['number']} is a pull request")
        return None
    labels = {str(label.get("name", "")).lower() for label in issue.get("labels") or []
              if isinstance(label, dict)}
    if "incident" not in labels:
        click.echo(f"nothing to do: #{issue['number']} is not labelled incident")
        return None
    return int(issue["number"])


@main.command()
@_CONFIG_OPTION
def remind(config_path: str | None) -> None:
    """Nudge open incidents whose stakeholders are overdue an update, or that have no
    commander yet (one nudge per overdue period; run it every 5 minutes).

    Example: incidentbot remind
    """
    from incidentbot import operations
    from incidentbot import sync as reconciler

    config = _load(config_path)
    c = operations.connect(config)
    nudged = failed = 0
    for issue in c.tracker.list_incidents(state="open"):
        outcome = reconciler.sync(c.tracker, c.chat, c.pager, config, issue.number)
        sent = [d for d in outcome.done if d.endswith(" reminders")]
        nudged += len(sent)
        if sent:
            click.echo(f"#{issue.number}: {_plural(len(sent), 'reminder')}")
        _report(outcome)
        failed += not outcome.ok
    click.echo(f"{_plural(nudged, 'reminder')} sent")
    if failed:
        sys.exit(EXIT_INCOMPLETE)


@main.command()
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Only incidents opened on or after this date (YYYY-MM-DD).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Repository root to write incidents/REPORT.md under.")
@click.option("--internal", "internal_dir", type=click.Path(file_okay=False),
              default="internal", show_default=True,
              help="Where the internal HTML page goes (never the public site).")
@_CONFIG_OPTION
def report(since: Any, out_dir: str, internal_dir: str, config_path: str | None) -> None:
    """Incident metrics per month, severity and service, with charts.

    Writes incidents/REPORT.md with SVG charts under incidents/report/, and an internal page
    (internal/report.html). Drills are left out.

    Example: incidentbot report --since 2026-01-01
    """
    from datetime import UTC, datetime
    from pathlib import Path

    from incidentbot import metrics, operations

    config = _load(config_path)
    c = operations.connect(config, need_chat=False)
    start = since.replace(tzinfo=UTC) if since else None
    count, written, page = metrics.write_report(c.tracker, config, out_dir=Path(out_dir),
                                                internal_dir=Path(internal_dir), since=start,
                                                now=datetime.now(UTC))
    click.echo(f"{_plural(count, 'incident')} -> {written}, {page}")


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
@_CONFIG_OPTION
def schedule(now_text: Any, window: int, dry_run: bool, drills_via: str | None,
             commit_report: bool, config_path: str | None) -> None:
    """Start the drills and the report that `schedule:` in incidentbot.yml says are due.

    Each due time runs once, however often this is called in its window: a drill is found
    again by its marker, the report is rewritten. Run it from a scheduled workflow.

    Example: incidentbot schedule --dry-run
    """
    from datetime import UTC, datetime, timedelta

    from incidentbot import operations, practice

    config = _load(config_path)
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
@_CONFIG_OPTION
def check(data_dir: str, where: str, no_incidents: bool, config_path: str | None) -> None:
    """Run every service's health checks once and record the results.

    A service is down after 2 failed runs in a row and up after 2 good ones; a confirmed
    outage opens an incident (or comments on the one already open), a recovery moves the
    incidents the monitor opened to fixed.

    Example: incidentbot check --data data
    """
    import os

    from incidentbot import monitor, operations

    config = _load(config_path)
    data = monitor.DataDir(data_dir)
    run_id = os.environ.get("GITHUB_RUN_ID", "")
    settings = config.monitor
    result, states = monitor.run(config, data, run_id=run_id, where=where,
                                 fail_after=settings.fail_after,
                                 recover_after=settings.recover_after,
                                 concurrency=settings.concurrency)
    for slug, probe in sorted(result.probes.items()):
        shown = f"{probe.code} " if probe.code else ""
        ms = f"{probe.ms} ms" if probe.ms is not None else ""
        click.echo(f"{slug:<20} {probe.state:<9} {shown}{ms}"
                   + (f"  {probe.detail}" if probe.detail else ""))
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

    from incidentbot import config as configuration
    from incidentbot import upptime

    converted, dropped = upptime.convert(Path(source).read_text("utf-8"), source=source)
    text = upptime.dump(converted)
    configuration.parse(text, source=output or "(converted)")  # raises with file:line:key
    for key in dropped:
        click.echo(f"not carried over: {key}", err=True)
    if output:
        Path(output).write_text(text, "utf-8")
        click.echo(f"wrote {output}: {_plural(len(converted['services']), 'service')}",
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
@_CONFIG_OPTION
def status_page_build(out_dir: str | None, data_dir: str, notify: bool,
                      config_path: str | None) -> None:
    """Write the static status page: HTML, the Statuspage v2 JSON API, badges and a feed.

    Only incidents labelled public (never private or drill) appear.

    Example: incidentbot status-page build --out site --notify
    """
    from incidentbot import monitor, operations, periodic

    config = _load(config_path)
    out_dir = out_dir or config.status_page.output
    c = operations.connect(config, need_chat=False)
    page = periodic.build_page(
        config, c, monitor.DataDir(data_dir), out_dir,
        warn=lambda text: click.echo(f"warning: {text}", err=True))
    click.echo(f"{_plural(len(page.written), 'file')} under {out_dir}/ "
               f"(open {out_dir}/index.html)")
    if notify and config.status_page.subscribers:
        made, problems = periodic.notify_subscribers(config, page, monitor.DataDir(data_dir))
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
@_CONFIG_OPTION
def periodic_(data_dir: str, out_dir: str | None, data_branch: str | None,
              site_branch: str | None, remote: str | None, where: str,
              config_path: str | None) -> None:
    """Everything periodic in one pass: health checks, reminders, the sweep, and the status
    page only when something on it changed (periodic: in incidentbot.yml sets the sweep
    window and how often the page is rebuilt anyway).

    Example: incidentbot periodic --data-branch status-data --out site --site-branch gh-pages
    """
    from incidentbot import operations, periodic

    config = _load(config_path)
    options = periodic.options_from(config, data=data_dir, site=out_dir,
                                    data_branch=data_branch, site_branch=site_branch,
                                    remote=remote, where=where)
    report = periodic.run(config, lambda: operations.connect(config), options)
    for line in report.lines:
        click.echo(line)
    if report.incomplete:
        sys.exit(3)


# -- drills ---------------------------------------------------------------------------------
@main.group()
def drill() -> None:
    """Practise: play a scenario from drills/*.yml as a drill incident."""


@drill.command("list")
def drill_list() -> None:
    """List the drill scenarios in drills/.

    Example: incidentbot drill list
    """
    from incidentbot import drills

    found = drills.scenarios()
    if not found:
        click.echo("no scenarios: add drills/<name>.yml")
    for name, path in found.items():
        first = next((line for line in path.read_text("utf-8").splitlines()
                      if line.startswith("name:")), "")
        click.echo(f"{name:<24} {first.removeprefix('name:').strip()}")


@drill.command("run")
@click.argument("scenario")
@click.option("--speed", type=click.FloatRange(0.1, 1000), default=1.0, show_default=True,
              help="Play faster (60 = a minute of scenario per second).")
@click.option("--issue", "number", type=int, help="Resume the drill of this issue.")
@click.option("--request-id", metavar="KEY",
              help="The schedule's key for this drill: started twice, it resumes one drill.")
@_CONFIG_OPTION
def drill_run(scenario: str, speed: float, number: int | None, request_id: str | None,
              config_path: str | None) -> None:
    """Open a drill incident and play SCENARIO's injects, then post and commit a debrief.

    A drill has its own drill-<name> channel, is never paged, announced, shown on the status
    page or counted in metrics. Stopped and started again (with --issue), it neither repeats
    nor skips an inject.

    Example: incidentbot drill run checkout-deploy
    """
    from incidentbot import drills, operations

    config = _load(config_path)
    chosen = drills.load(scenario, config)
    c = operations.connect(config)
    for line in drills.run(c, chosen, speed=speed, number=number,
                           request_id=request_id or None):
        click.echo(line)


# -- postmortems --------------------------------------------------------------------------------
@main.command("followups")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@_CONFIG_OPTION
def followups(files: tuple[str, ...], config_path: str | None) -> None:
    """Open follow-up issues for the postmortems in FILES (those a merge just changed).

    Each file's front matter names its incident; each unchecked action item becomes one
    issue labelled incident-followup, once. The postmortem workflow runs it on merge.

    Example: incidentbot followups incidents/2026-11/20261122-brave-otter.md
    """
    from pathlib import Path

    from incidentbot import config as configuration
    from incidentbot import operations
    from incidentbot import postmortem as pm
    from incidentbot.errors import ConfigError

    config = _load(config_path)
    c = operations.connect(config, need_chat=False)
    for name in files:
        path = Path(name)
        if not path.is_file() or path.name == "README.md":
            continue
        head = path.read_text("utf-8").split("\n---\n", 1)[0].removeprefix("---\n")
        try:
            front = configuration.safe_load(head, source=name)
            number = int(front["number"])
        except (ValueError, TypeError, KeyError, ConfigError):
            click.echo(f"{name}: no incident number in its front matter; skipped")
            continue
        for line in pm.open_followups(c.tracker, config, number):
            click.echo(f"#{number}: {line}")


@main.command()
@click.argument("number", type=int)
@click.option("--print", "print_only", is_flag=True,
              help="Render to stdout and commit nothing.")
@click.option("--followups", is_flag=True,
              help="Open an issue for each unchecked action item of the merged postmortem.")
@_CONFIG_OPTION
def postmortem(number: int, print_only: bool, followups: bool, config_path: str | None) -> None:
    """Write the postmortem of an incident: timeline, figures and facts filled in.

    Commits incidents/YYYY-MM/<name>.md on a review branch with a pull request (or straight
    to the default branch with `postmortem.review: direct`), links it in the channel and on
    the issue. A second run refreshes only the generated parts; what people wrote stays.

    Example: incidentbot postmortem 12 --print
    """
    from incidentbot import operations
    from incidentbot import postmortem as pm
    from incidentbot import sync as reconciler

    config = _load(config_path)
    c = operations.connect(config)
    if print_only:
        facts = pm.gather(c.tracker, c.chat, config, number)
        click.echo(pm.render(facts, config), nl=False)
        return
    if followups:
        for line in pm.open_followups(c.tracker, config, number):
            click.echo(line)
        return
    outcome = reconciler.sync(c.tracker, c.chat, c.pager, config, number, postmortem=True)
    if outcome.card and outcome.card.postmortem_url:
        click.echo(outcome.card.postmortem_url)
    _finish(outcome)


# -- the dispatcher ----------------------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (put a TLS proxy or tunnel in front).")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Threads answering Slack (slow work runs on its own pool).")
@click.option("--socket-mode", is_flag=True,
              help="Connect out to Slack over Socket Mode (needs SLACK_APP_TOKEN) instead of "
              "listening: for teams without public ingress.")
@click.option("--spool", type=click.Path(file_okay=False),
              help="Where acknowledged work waits until done, so a restart loses none "
              "(default: $INCIDENTBOT_SPOOL, else ~/.local/state/incidentbot/spool).")
@click.option("--periodic", "every", metavar="EVERY",
              help="Also run the periodic work (checks, reminders, sweep, page) this often, "
              "e.g. 1m, pushing to status-data and gh-pages as the workflow does "
              "(default: periodic.dispatcher_every in incidentbot.yml; unset: off).")
@click.option("--periodic-dir", default=".incidentbot", show_default=True,
              type=click.Path(file_okay=False),
              help="Where the periodic work keeps its checkouts of the data and the site.")
@_CONFIG_OPTION
def serve(host: str, port: int, threads: int, socket_mode: bool, spool: str | None,
          every: str | None, periodic_dir: str, config_path: str | None) -> None:
    """Run the Slack dispatcher: /incident commands, modals and events.

    Slack's request URLs are /slack/commands, /slack/interactivity and /slack/events;
    GET /healthz answers ok. Start-up runs the doctor's checks and logs them.

    Example: incidentbot serve --port 3000
    """
    import logging
    from pathlib import Path

    from incidentbot import doctor, operations
    from incidentbot.config import standard_labels
    from incidentbot.dispatcher import Dispatcher
    from incidentbot.journal import Journal, default_directory
    from incidentbot.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = _load(config_path)
    settings = Settings.from_env(repository=config.repository)
    settings.require("GITHUB_TOKEN", "GITHUB_REPOSITORY", "SLACK_BOT_TOKEN")
    settings.require("SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
    for check in doctor.run(config, settings, labels=standard_labels):
        logging.getLogger("incidentbot.doctor").log(
            logging.INFO if check.ok else logging.WARNING, check.line())
    journal = Journal(Path(spool) if spool else default_directory())
    app = Dispatcher(config, settings.slack_signing_secret or "",
                     lambda: operations.connect(config),
                     allowed_teams=frozenset(config.slack.teams), journal=journal,
                     resume_grace=settings.resume_grace)
    logging.getLogger("incidentbot").info("acknowledged work is kept in %s", journal.directory)
    minutes = config.periodic.dispatcher_every
    if every is not None or minutes:
        from datetime import timedelta

        from incidentbot import periodic

        interval = periodic.parse_every(every) if every else timedelta(minutes=minutes or 1)
        periodic.dispatcher_timer(config, interval, lambda: operations.connect(config),
                                  data=Path(periodic_dir) / "data",
                                  site=Path(periodic_dir) / "site").start()
        click.echo(f"periodic work every {interval}", err=True)
    if socket_mode:
        from incidentbot.slack import run_socket_mode

        click.echo("incidentbot dispatcher on Slack Socket Mode; Ctrl-C stops it", err=True)
        run_socket_mode(settings.slack_app_token or "", settings.slack_bot_token or "",
                        app.socket_request, base_url=settings.slack_api_url)
        return
    import waitress

    try:
        server = waitress.create_server(app, host=host, port=port, threads=threads,
                                        ident="incidentbot")
    except OSError as exc:
        raise _cannot_listen(host, port, exc, "another dispatcher still running?", "") from None
    click.echo(f"incidentbot dispatcher on http://{host}:{port}/slack/...; Ctrl-C stops it",
               err=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@main.command()
@click.option("--fix", is_flag=True, help="Create the labels that are missing.")
@click.option("--dispatcher-url", metavar="URL",
              help="Also check that the dispatcher at URL answers a signed request.")
@_CONFIG_OPTION
def doctor(fix: bool, dispatcher_url: str | None, config_path: str | None) -> None:
    """Check the whole set-up and say how to fix each problem.

    Checks the config, the secrets, the Slack token and its scopes, that the bot is in every
    announcement channel, the GitHub token's access, the labels, the workflows and issue form
    next to incidentbot.yml, and the dispatcher.

    Example: incidentbot doctor --fix --dispatcher-url https://incidents.example.com
    """
    from incidentbot import doctor as preflight
    from incidentbot.config import standard_labels
    from incidentbot.init import root_of
    from incidentbot.settings import Settings

    config = _load(config_path)
    settings = Settings.from_env(repository=config.repository)
    failed = 0
    for check in preflight.run(config, settings, fix=fix, dispatcher_url=dispatcher_url,
                               labels=standard_labels, root=root_of(config)):
        click.echo(check.line())
        failed += not check.ok
    click.echo(_plural(failed, "problem") if failed else "all good")
    if failed:
        sys.exit(EXIT_FAILED)


@main.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--templates", is_flag=True,
              help="Also copy templates/ to edit (any file left out falls back to ours).")
@click.option("--force", is_flag=True,
              help="Replace files that differ (never an existing incidentbot.yml).")
@click.option("--requirement", metavar="REQ",
              help="What the workflows pip-install  [default: incidentbot==<this version>]")
def init_(directory: str, templates: bool, force: bool, requirement: str | None) -> None:
    """Write what a team's incident repository needs: the workflows, the issue form, the
    Slack app manifest, a starter incidentbot.yml and incidents/README.md; then say what is
    left (the manifest paste, the secrets). Refuses to replace a file that differs.

    Example: incidentbot init my-incidents --templates
    """
    from pathlib import Path

    from incidentbot import init

    for line in init.run(Path(directory), templates=templates, force=force,
                         requirement=requirement).lines():
        click.echo(line)


def _cannot_listen(host: str, port: int, exc: OSError, guess: str, hint: str) -> Exception:
    """The one-line error for a port the command cannot listen on."""
    import errno

    from incidentbot.errors import InvalidInput

    if exc.errno == errno.EADDRINUSE:
        return InvalidInput(f"port {port} on {host} is already in use ({guess}): stop it, or "
                            f"pick another port with --port N {hint}".rstrip())
    return InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another "
                        f"port with --port N {hint}".rstrip())


# -- sandbox -----------------------------------------------------------------------------------
@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--env-file", "env_file", type=click.Path(dir_okay=False),
              help="Write the export line to this file once the sandbox is listening (a stale "
              "file is removed first, so the file exists only while it can be used).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False),
              help="Keep the sandbox's state in this JSON file across restarts.")
@click.option("--verbose", "-v", is_flag=True, help="Log every request.")
def sandbox(port: int, env_file: str | None, state_file: str | None, verbose: bool) -> None:
    """Serve the local GitHub + Slack + PagerDuty emulator until stopped.

    The first line printed is the `export` line that points incidentbot at it; --env-file
    also writes it to a file once the sandbox listens:

        incidentbot sandbox --env-file sandbox.env &   # then: . ./sandbox.env

    GET /_sandbox/calls lists every call; POST /_sandbox/faults injects faults.
    """
    import os
    from pathlib import Path

    from incidentbot.errors import InvalidInput
    from incidentbot.sandbox import Sandbox

    target = Path(env_file) if env_file else None
    if target is not None:
        target.unlink(missing_ok=True)  # never leave an old file pointing at another run
    try:
        server = Sandbox(port=port, state_file=state_file, verbose=verbose)
    except OSError as exc:
        if exc.filename is None:
            raise _cannot_listen("127.0.0.1", port, exc, "another sandbox still running?",
                                 "(--port 0 picks a free one)") from None
        raise
    except ValueError as exc:  # the --state file is not the JSON a sandbox writes
        raise InvalidInput(f"{state_file}: not a sandbox state file ({exc}): fix it, or "
                           "delete it to start from the seeded state") from None
    if target is not None:
        partial = target.with_name(target.name + ".partial")
        partial.write_text(server.export_line() + "\n", "utf-8")
        os.replace(partial, target)  # whole or absent: a reader never sees half a line
    click.echo(server.export_line())
    click.echo(f"# sandbox on {server.url} (GitHub {server.github_url}, Slack "
               f"{server.slack_url}); Ctrl-C stops it", err=True)
    sys.stdout.flush()
    import signal

    # `kill` (SIGTERM) stops it as Ctrl-C does: the env file is removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if target is not None:
            target.unlink(missing_ok=True)


# -- demo ------------------------------------------------------------------------------------
@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Config file (default: ./incidentbot.yml, else the defaults).")
@click.option("--drill", "drill_", is_flag=True,
              help="Play the quick drill scenario at high speed instead.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="demo-output",
              show_default=True, help="Where the monitor's data and the status page go "
              "(replaced on each run).")
def demo(config_path: str | None, drill_: bool, out_dir: str) -> None:
    """Run an incident end to end on the local sandbox: no credentials, no network.

    Starts the sandbox, opens an incident as a person would from Slack, and shows what
    happened on GitHub and in Slack.

    Example: incidentbot demo
    """
    from pathlib import Path

    from incidentbot import config as configuration
    from incidentbot.demo import run, run_drill

    config = configuration.load(config_path)
    lines = run_drill(config) if drill_ else run(config, Path(out_dir))
    for line in lines:
        click.echo(line)
