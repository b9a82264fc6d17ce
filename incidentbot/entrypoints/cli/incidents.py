"""Incidents from the command line: open, update, close, list, show, sync, remind."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from incidentbot.core.snapshot import Attribution
    from incidentbot.operations.connections import Connections

from incidentbot.entrypoints.cli.common import (
    CONFIG_OPTION,
    EXIT_INCOMPLETE,
    finish,
    load_config,
    main,
    plural,
    say_outcome,
)


@main.command("open")
@click.option("--title", "-t", required=True, help="What is broken, in a few words.")
@click.option("--severity", "-s", type=int, help="Severity level (default from config).")
@click.option("--service", "services", multiple=True, help="Affected service slug (repeat).")
@click.option("--description", "-d", default="", help="What is known so far.")
@click.option("--public", is_flag=True, help="Show it on the public status page.")
@click.option("--private", is_flag=True, help="Security incident: private channel, never public.")
@click.option("--drill", is_flag=True, help="A practice incident: no paging, no announcements.")
@click.option("--page", is_flag=True, help="Page on-call (PagerDuty) now.")
@CONFIG_OPTION
def open_(title: str, severity: int | None, services: tuple[str, ...], description: str,
          public: bool, private: bool, drill: bool, page: bool, config_path: str | None) -> None:
    """Open an incident: the issue, then its Slack channel and announcements at once.

    Example: incidentbot open --title "Checkout returns 502" --severity 2 --service checkout
    """
    from incidentbot.operations import incidents as operations

    _exclusive(("--public", public), ("--private", private),
               why="a private (security) incident never reaches the status page")
    _exclusive(("--drill", drill), ("--public", public),
               why="a drill never reaches the status page")
    _exclusive(("--drill", drill), ("--page", page), why="a drill never pages anyone")
    c = operations.connect(load_config(config_path))
    with _cli_words():
        issue, outcome = operations.open_incident(
            c, title=title, severity=severity, services=services, description=description,
            public=public, private=private, drill=drill, page=page,
            by=_by_cli(c, ask=False))
    click.echo(f"#{issue.number} {issue.url}")
    if outcome.card and outcome.card.channel_name:
        click.echo(f"Slack: #{outcome.card.channel_name}")
    finish(outcome)


def _exclusive(first: tuple[str, bool], second: tuple[str, bool], *, why: str) -> None:
    """A usage error (exit 2, nothing done) for two options that contradict each other."""
    if first[1] and second[1]:
        raise click.UsageError(f"{first[0]} and {second[0]} contradict each other: {why}; "
                               "give one of them")


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
    from incidentbot.core.errors import InvalidInput

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


def _by_cli(c: Connections, *, ask: bool = True) -> Attribution:
    """Who asked, as the change's attribution, through the CLI: a GitHub login, never the
    computer's user name. In Actions, the person who started the run (the token is the
    workflow's bot); else the token's owner, as INCIDENTBOT_GITHUB_LOGIN says, else as
    GitHub says (`ask`: one `GET /user`, a person's token answers it). `ask=False` leaves
    it empty when unknown: `open` learns it from the issue it creates, for free."""
    from incidentbot.core.settings import Settings
    from incidentbot.core.snapshot import Attribution

    login = Settings.from_env().actions_actor or c.tracker.login() \
        or (c.tracker.whoami() if ask else None)
    return Attribution(login or ("someone" if ask else ""), "CLI")


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
@CONFIG_OPTION
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

    from incidentbot.core.errors import InvalidInput
    from incidentbot.core.model import Status
    from incidentbot.operations import incidents as operations

    _exclusive(("--reopen", reopen), ("--status closed", (status or "").lower() == "closed"),
               why="a reopened incident is not closed")
    config = load_config(config_path)
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
                                             by=_by_cli(c),
                                             public=public)
    click.echo(f"#{number} updated")
    from incidentbot.core.people import reachable_on_slack

    for held, holder in change.roles.items():
        if holder is not None and not reachable_on_slack(holder, config):
            click.echo(f"note: {holder} ({held}) is not in incidentbot.yml's people: with a "
                       "Slack id or email, so they are not invited to the channel")
    finish(outcome)


@main.command()
@click.argument("number", type=int)
@click.option("--force", is_flag=True,
              help="Close although the severity wants a postmortem first.")
@click.option("--false-alarm", is_flag=True,
              help="Close as not planned: no postmortem, left out of the metrics.")
@CONFIG_OPTION
def close(number: int, force: bool, false_alarm: bool, config_path: str | None) -> None:
    """Close an incident: final message, channel archived, paging resolved.

    A severity that needs a postmortem is closed only from `postmortem`, or with --force
    (the same rule as `/incident close` in Slack and `/close` in a comment).

    Example: incidentbot close 12 (or: incidentbot close 12 --false-alarm)
    """
    from incidentbot.operations import incidents as operations

    config = load_config(config_path)
    c = operations.connect(config)
    outcome = operations.close_incident(c, number, by=_by_cli(c),
                                        force=force, false_alarm=false_alarm)
    click.echo(f"#{number} closed" + (" as a false alarm" if false_alarm else ""))
    finish(outcome)


@main.command("list")
@click.option("--all", "everything", is_flag=True, help="Closed incidents too.")
@CONFIG_OPTION
def list_(everything: bool, config_path: str | None) -> None:
    """List incidents: number, status, severity, title and link.

    Example: incidentbot list --all
    """
    from incidentbot.core.model import read_labels
    from incidentbot.core.text import terminal
    from incidentbot.operations.connections import connect

    config = load_config(config_path)
    c = connect(config, need_chat=False)
    issues = c.tracker.list_incidents(state="all" if everything else "open")
    if not issues:
        click.echo("no incidents" if everything else "no open incidents")
    for issue in sorted(issues, key=lambda i: i.number):
        f = read_labels(issue.labels, config.severities, issue_closed=issue.state == "closed")
        sev = config.severity(f.severity).name if f.severity else "-"
        title = terminal(issue.title)
        click.echo(f"#{issue.number:<5} {f.status.value:<13} {sev:<6} {title}  {issue.url}")


@main.command()
@click.argument("number", type=int)
@CONFIG_OPTION
def show(number: int, config_path: str | None) -> None:
    """Show one incident: its fields, Slack channel, roles and the side-effect ledger.

    Example: incidentbot show 12
    """
    from incidentbot.core.errors import InvalidInput
    from incidentbot.core.text import terminal
    from incidentbot.operations import incidents as operations

    config = load_config(config_path)
    c = operations.connect(config, need_chat=False)
    from incidentbot.operations import reading

    snap = reading.read(c.tracker, number, config)
    f, card = snap.fields, snap.card
    if not f.is_incident:
        raise InvalidInput(f"#{number} is not an incident (it has no `incident` label): "
                           f"{snap.issue.url}; `incidentbot list --all` shows the incidents")
    click.echo(f"#{number} {terminal(snap.issue.title)}")
    click.echo(f"  name:     {card.name}")
    click.echo(f"  status:   {f.status.value}")
    sev = config.severity(f.severity).name if f.severity else "unrated"
    click.echo(f"  severity: {sev}")
    click.echo(f"  services: {', '.join(f.services) or '-'}")
    flags = [n for n in ("public", "private", "drill", "auto") if getattr(f, n)]
    click.echo(f"  flags:    {', '.join(flags) or '-'}")
    click.echo(f"  slack:    {('#' + card.channel_name) if card.channel_name else '-'}"
               + (" (archived)" if card.archived else ""))
    from incidentbot.core.people import display_name

    for role, who in card.roles.items():
        name = display_name(who, config)
        named = f"{name} ({who})" if name != who else who
        click.echo(f"  {role + ':':<9} {terminal(named)}")
    click.echo(f"  url:      {snap.issue.url}")
    for name, effect in sorted(card.effects.items()):
        mark = "ok " if effect.ok else "ERR"
        click.echo(f"  [{mark}] {terminal(name)}"
                   + (f": {terminal(effect.detail)}" if effect.detail else ""))
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
@CONFIG_OPTION
def sync_(number: int | None, everything: bool, since_minutes: int, from_event: bool,
          repair: bool, config_path: str | None) -> None:
    """Make Slack and paging match the issue (idempotent: safe to run any time).

    Example: incidentbot sync 12      (one incident)
             incidentbot sync --all   (everything changed in the last hour)
    """
    from incidentbot.core.errors import InvalidInput

    if from_event:
        number = _event_issue()
        if number is None:
            return
    if (number is None) == (not everything):
        raise InvalidInput("give an issue number, --all or --from-event (one of them)")
    # The reconciler only now: the incident workflow runs on every comment and label of the
    # repository, and an event that is not an incident's stops above without it.
    from datetime import UTC, datetime, timedelta

    from incidentbot.operations import sync as reconciler
    from incidentbot.operations.connections import connect

    config = load_config(config_path)
    c = connect(config)
    if number is not None:
        outcome = reconciler.sync(c.tracker, c.chat, c.pager, config, number, repair=repair)
        outcomes = [outcome]
    else:
        since = datetime.now(UTC) - timedelta(minutes=since_minutes)
        outcomes = reconciler.sync_all(c.tracker, c.chat, c.pager, config, since=since)
    failed = 0
    for outcome in outcomes:
        state = "ok" if outcome.ok else "incomplete"
        click.echo(f"#{outcome.number}: {state} ({plural(len(outcome.done), 'action')})")
        say_outcome(outcome)
        failed += not outcome.ok
    if failed:
        sys.exit(EXIT_INCOMPLETE)


def _event_issue() -> int | None:
    """The incident issue of the Actions event, or None (said why) when there is none."""
    import os
    from pathlib import Path

    from incidentbot.core.errors import InvalidInput

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
@CONFIG_OPTION
def remind(config_path: str | None) -> None:
    """Nudge open incidents whose stakeholders are overdue an update, or that have no
    commander yet (one nudge per overdue period; run it every 5 minutes).

    Example: incidentbot remind
    """
    from incidentbot.operations import incidents as operations
    from incidentbot.operations import sync as reconciler

    config = load_config(config_path)
    c = operations.connect(config)
    nudged = failed = 0
    for issue in c.tracker.list_incidents(state="open"):
        outcome = reconciler.sync(c.tracker, c.chat, c.pager, config, issue.number)
        sent = [d for d in outcome.done if d.endswith(" reminders")]
        nudged += len(sent)
        if sent:
            click.echo(f"#{issue.number}: {plural(len(sent), 'reminder')}")
        say_outcome(outcome)
        failed += not outcome.ok
    click.echo(f"{plural(nudged, 'reminder')} sent")
    if failed:
        sys.exit(EXIT_INCOMPLETE)
