"""The `incidentbot` command line: thin commands that parse input and call the package.

Heavy modules (PyGithub, slack-sdk, the sandbox) are imported inside the commands that need
them, so `incidentbot --help` and every Actions cold start stay fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from incidentbot import __version__
from incidentbot.errors import IncidentbotError


class _Group(click.Group):
    """Turns an IncidentbotError into its message and exit code: no traceback for known failures."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IncidentbotError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


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


# -- sandbox -----------------------------------------------------------------------------------
@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False),
              help="Keep the sandbox's state in this JSON file across restarts.")
@click.option("--verbose", "-v", is_flag=True, help="Log every request.")
def sandbox(port: int, state_file: str | None, verbose: bool) -> None:
    """Serve the local GitHub + Slack + PagerDuty emulator until stopped.

    The first line printed is the `export` line that points incidentbot at it:

        eval "$(incidentbot sandbox --port 8765 | head -1)"   # in another terminal, or copy it

    GET /_sandbox/calls lists every call; POST /_sandbox/faults injects faults.
    """
    from incidentbot.sandbox import Sandbox

    server = Sandbox(port=port, state_file=state_file, verbose=verbose)
    click.echo(server.export_line())
    click.echo(f"# sandbox on {server.url} (GitHub {server.github_url}, Slack "
               f"{server.slack_url}); Ctrl-C stops it", err=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


# -- demo ------------------------------------------------------------------------------------
@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Config file (default: ./incidentbot.yml, else the defaults).")
def demo(config_path: str | None) -> None:
    """Run an incident end to end on the local sandbox: no credentials, no network.

    Starts the sandbox, opens an incident as a person would from Slack, and shows what
    happened on GitHub and in Slack.

    Example: incidentbot demo
    """
    from incidentbot import config as configuration
    from incidentbot.demo import run

    for line in run(configuration.load(config_path)):
        click.echo(line)
