"""Running incidentbot: the Slack dispatcher, the preflight, the sandbox and the demo."""

from __future__ import annotations

import sys

import click

from incidentbot.entrypoints.cli.common import (
    CONFIG_OPTION,
    EXIT_FAILED,
    load_config,
    main,
    plural,
)


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
@CONFIG_OPTION
def serve(host: str, port: int, threads: int, socket_mode: bool, spool: str | None,
          every: str | None, periodic_dir: str, config_path: str | None) -> None:
    """Run the Slack dispatcher: /incident commands, modals and events.

    Slack's request URLs are /slack/commands, /slack/interactivity and /slack/events;
    GET /healthz answers ok. Start-up runs the doctor's checks and logs them.

    Example: incidentbot serve --port 3000
    """
    import logging
    from pathlib import Path

    from incidentbot.adapters.journal import Journal, default_directory
    from incidentbot.core.config import standard_labels
    from incidentbot.core.settings import Settings
    from incidentbot.entrypoints.dispatcher import Dispatcher
    from incidentbot.operations import doctor
    from incidentbot.operations import incidents as operations

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = load_config(config_path)
    settings = Settings.from_env(repository=config.repository)
    settings.require("GITHUB_TOKEN", "GITHUB_REPOSITORY", "SLACK_BOT_TOKEN")
    settings.require("SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
    for check in doctor.run(config, settings, labels=standard_labels):
        logging.getLogger("incidentbot.operations.doctor").log(
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

        from incidentbot.operations import periodic

        interval = periodic.parse_every(every) if every else timedelta(minutes=minutes or 1)
        periodic.dispatcher_timer(config, interval, lambda: operations.connect(config),
                                  data=Path(periodic_dir) / "data",
                                  site=Path(periodic_dir) / "site").start()
        click.echo(f"periodic work every {interval}", err=True)
    if socket_mode:
        from incidentbot.adapters.slack_inbound import run_socket_mode

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
@CONFIG_OPTION
def doctor(fix: bool, dispatcher_url: str | None, config_path: str | None) -> None:
    """Check the whole set-up and say how to fix each problem.

    Checks the config, the secrets, the Slack token and its scopes, that the bot is in every
    announcement channel, the GitHub token's access, the labels, the workflows and issue form
    next to incidentbot.yml, and the dispatcher.

    Example: incidentbot doctor --fix --dispatcher-url https://incidents.example.com
    """
    from incidentbot.core.config import standard_labels
    from incidentbot.core.settings import Settings
    from incidentbot.operations import doctor as preflight
    from incidentbot.operations.init import root_of

    config = load_config(config_path)
    settings = Settings.from_env(repository=config.repository)
    failed = 0
    for check in preflight.run(config, settings, fix=fix, dispatcher_url=dispatcher_url,
                               labels=standard_labels, root=root_of(config)):
        click.echo(check.line())
        failed += not check.ok
    click.echo(plural(failed, "problem") if failed else "all good")
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

    from incidentbot.operations import init

    for line in init.run(Path(directory), templates=templates, force=force,
                         requirement=requirement).lines():
        click.echo(line)


def _cannot_listen(host: str, port: int, exc: OSError, guess: str, hint: str) -> Exception:
    """The one-line error for a port the command cannot listen on."""
    import errno

    from incidentbot.core.errors import InvalidInput

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

    from incidentbot.core.errors import InvalidInput
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

    from incidentbot.core import config as configuration
    from incidentbot.entrypoints.demo import run, run_drill

    config = configuration.load(config_path)
    lines = run_drill(config) if drill_ else run(config, Path(out_dir))
    for line in lines:
        click.echo(line)
