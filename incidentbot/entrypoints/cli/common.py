"""What every command of the CLI shares: the `main` group, exit codes, loading the
configuration and saying what a reconcile did."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from incidentbot import __version__
from incidentbot.core.errors import IncidentbotError

# Exit codes, in one place: did the command do everything it was asked?
EXIT_OK = 0          # yes, all of it
EXIT_FAILED = 1      # no: a check failed or something else went wrong (the message says what)
EXIT_USAGE = 2       # nothing was done: a wrong argument, configuration file or setting
#                      (an issue that does not exist, a token refused)
EXIT_INCOMPLETE = 3  # GitHub, Slack or PagerDuty failed, or the issue changed but a side
#                      effect did not: run it again, or `incidentbot sync N --repair`


def exit_code(exc: BaseException) -> int:
    """The exit code for an error the CLI reports (the most specific class wins)."""
    from incidentbot.core import errors

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
@click.option("--file", "-f", "--config", "path", type=click.Path(dir_okay=False),
              help="Config file (default: $INCIDENTBOT_CONFIG or ./incidentbot.yml).")
def config_check(path: str | None) -> None:
    """Validate the configuration and print a summary.

    Exits 2 with `file:line: key: what was expected` for each problem.

    Example: incidentbot config check -f examples/p1-p3.yml
    """
    from incidentbot.core import config as configuration

    loaded = configuration.load(path)
    for line in configuration.summary(loaded):
        click.echo(line)
    click.echo("ok")


@config.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of incidentbot.yml (for editors and CI checks).

    Example: incidentbot config schema > incidentbot.schema.json
    """
    from incidentbot.core import schema

    click.echo(json.dumps(schema.schema(), indent=2))


# -- incidents ---------------------------------------------------------------------------------
def load_config(config_path: str | None) -> Any:
    from incidentbot.core import config as configuration

    return configuration.load(config_path)


CONFIG_OPTION = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                              help="Config file (default: ./incidentbot.yml, else defaults).")


def say_outcome(outcome: Any) -> None:
    for line in outcome.failed:
        click.echo(f"warning: {line}", err=True)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def finish(outcome: Any) -> None:
    """Say what did not happen; exit EXIT_INCOMPLETE when something did not."""
    say_outcome(outcome)
    if outcome.failed:
        click.echo(f"error: #{outcome.number} is changed on GitHub, but "
                   f"{plural(len(outcome.failed), 'side effect')} failed (above); "
                   f"fix the cause, then run `incidentbot sync {outcome.number} --repair`",
                   err=True)
        sys.exit(EXIT_INCOMPLETE)
