"""Learning from incidents: drills, postmortems and their follow-ups."""

from __future__ import annotations

import click

from incidentbot.entrypoints.cli.common import (
    CONFIG_OPTION,
    finish,
    load_config,
    main,
)


@main.group()
def drill() -> None:
    """Practise: play a scenario from drills/*.yml as a drill incident."""


@drill.command("list")
def drill_list() -> None:
    """List the drill scenarios in drills/.

    Example: incidentbot drill list
    """
    from incidentbot.operations import drills

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
@CONFIG_OPTION
def drill_run(scenario: str, speed: float, number: int | None, request_id: str | None,
              config_path: str | None) -> None:
    """Open a drill incident and play SCENARIO's injects, then post and commit a debrief.

    A drill has its own drill-<name> channel, is never paged, announced, shown on the status
    page or counted in metrics. Stopped and started again (with --issue), it neither repeats
    nor skips an inject.

    Example: incidentbot drill run checkout-deploy
    """
    from incidentbot.operations import drills
    from incidentbot.operations import incidents as operations

    config = load_config(config_path)
    chosen = drills.load(scenario, config)
    c = operations.connect(config)
    for line in drills.run(c, chosen, speed=speed, number=number,
                           request_id=request_id or None):
        click.echo(line)


# -- postmortems --------------------------------------------------------------------------------
@main.command("followups")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, exists=True))
@CONFIG_OPTION
def followups(files: tuple[str, ...], config_path: str | None) -> None:
    """Open follow-up issues for the postmortems in FILES (those a merge just changed).

    Each file's front matter names its incident; each unchecked action item becomes one
    issue labelled incident-followup, once. The postmortem workflow runs it on merge.

    Example: incidentbot followups incidents/2026-11/20261122-brave-otter.md
    """
    from pathlib import Path

    from incidentbot.core import config as configuration
    from incidentbot.core.errors import ConfigError
    from incidentbot.operations import incidents as operations
    from incidentbot.operations import postmortem as pm

    config = load_config(config_path)
    c = operations.connect(config, need_chat=False)
    for name in files:
        path = Path(name)
        if path.name == "README.md":
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
              help="Print what a run without it would commit, and commit nothing.")
@click.option("--followups", is_flag=True,
              help="Open an issue for each unchecked action item of the merged postmortem.")
@CONFIG_OPTION
def postmortem(number: int, print_only: bool, followups: bool, config_path: str | None) -> None:
    """Write the postmortem of an incident: timeline, figures and facts filled in.

    Commits incidents/YYYY-MM/<name>.md on a review branch with a pull request (or straight
    to the default branch with `postmortem.review: direct`), links it in the channel and on
    the issue. A second run refreshes only the generated parts; what people wrote stays.

    Example: incidentbot postmortem 12 --print
    """
    from incidentbot.core.text import terminal
    from incidentbot.operations import incidents as operations
    from incidentbot.operations import postmortem as pm
    from incidentbot.operations import sync as reconciler

    config = load_config(config_path)
    c = operations.connect(config)
    if print_only:  # exactly what the run without --print would commit
        facts = pm.gather(c.tracker, c.chat, config, number)
        # People's words (title, description, comments) reach the terminal: no escapes.
        click.echo(terminal(pm.draft(c.tracker, config, facts).text, lines=True), nl=False)
        return
    if followups:
        for line in pm.open_followups(c.tracker, config, number):
            click.echo(line)
        return
    outcome = reconciler.sync(c.tracker, c.chat, c.pager, config, number, postmortem=True)
    if outcome.card and outcome.card.postmortem_url:
        click.echo(outcome.card.postmortem_url)
    finish(outcome)


# -- the dispatcher ----------------------------------------------------------------------------
