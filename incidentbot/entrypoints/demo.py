"""`incidentbot demo`: a whole incident on the local sandbox, told in GitHub and Slack terms.

alice opens it from Slack; bob, on GitHub, moves it to fixing with a label and comments;
carol takes command and marks it fixed from the CLI; a comment command closes it. After each
step the reconciler runs as the workflow would, and the demo prints what people would see in
Slack. Its files (the postmortem, the monitor's data, the status page) go to `demo-output/`.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incidentbot.adapters import github, monitordata, pagerduty, slack
from incidentbot.core import health, markers
from incidentbot.core.commands import Change
from incidentbot.core.config import Config, standard_labels
from incidentbot.core.errors import InvalidInput
from incidentbot.core.model import Status
from incidentbot.core.settings import Settings
from incidentbot.core.snapshot import Attribution
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import incidents as operations
from incidentbot.operations import reading, sync
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB, CAROL
from incidentbot.sandbox.slack_requests import SignedRequest, SlackRequests, open_values

TITLE = "Checkout returns 502 for a third of requests"


_USER = re.compile(r"<@([A-Z0-9]+)>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)>")
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")


class _Reader:
    """Slack text as a person sees it: mentions as @name, links as their label."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.seen: dict[str, int] = {}

    def plain(self, text: str) -> str:
        state = self.sb.slack.state
        text = _USER.sub(lambda m: "@" + str(state.users.get(m.group(1), {}).get("name",
                                                                                 m.group(1))),
                         text)
        text = _CHANNEL.sub(lambda m: "#" + str(state.channels.get(m.group(1), {}).get(
            "name", m.group(1))), text)
        # A link's words, and where it goes when the words do not say ("read it").
        text = _LINK.sub(lambda m: m.group(2) if m.group(2).startswith("#")
                         or m.group(2) == m.group(1) else f"{m.group(2)} ({m.group(1)})", text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def new_messages(self, channel_id: str, label: str) -> Iterator[str]:
        messages = [m for m in self.sb.slack.messages(channel_id)
                    if m.get("subtype") in {None, "thread_broadcast"}]
        start = self.seen.get(channel_id, 0)
        self.seen[channel_id] = len(messages)
        for m in messages[start:]:
            who = "incidentbot" if m.get("bot_id") else self.plain(f"<@{m.get('user', '?')}>")
            thread = " (in thread)" if m.get("is_reply") else ""
            lines = self.plain(m.get("text", "")).splitlines() or [""]
            yield f"   {label} {who}{thread}: {lines[0]}"
            for line in lines[1:]:
                yield f"   {' ' * len(label)} {' ' * len(who)}  {line}"


def _send(dispatcher: Dispatcher, request: SignedRequest) -> float:
    """Deliver a signed Slack request; the seconds until Slack had its acknowledgement."""
    started = time.perf_counter()
    reply = dispatcher.handle(request.path, request.headers, request.body)
    if reply.status != 200:
        raise RuntimeError(f"the dispatcher refused the demo's request: {reply.status}")
    return time.perf_counter() - started


def _calls(sb: Sandbox) -> str:
    counts = {s: len(sb.calls_to(s)) for s in ("github", "slack", "pagerduty")}
    sb.clear_calls()
    return f"(API calls: GitHub {counts['github']}, Slack {counts['slack']}, " \
           f"PagerDuty {counts['pagerduty']})"


class _Clock:
    """The emulators' clock, so the story spans the hour that ends now."""

    def __init__(self, sb: Sandbox) -> None:
        self.start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=60)
        self.now = self.start
        sb.github.clock = lambda: self.now
        sb.slack.clock = lambda: self.now.timestamp()

    def at(self, minutes: float) -> None:
        self.now = self.start + timedelta(minutes=minutes)

    def said(self, minutes: float) -> str:
        """A time of the story as people write it in messages ("14:02 UTC")."""
        return f"{self.start + timedelta(minutes=minutes):%H:%M}"


def _start(sb: Sandbox, config: Config) -> tuple[_Clock, Settings, operations.Connections]:
    """The demo's clock and the dispatcher's real adapters, pointed at the sandbox: it
    writes to GitHub as a GitHub App installation, as a real deployment does."""
    clock = _Clock(sb)
    settings = Settings.from_env(sb.env("app"))
    return clock, settings, _connect(sb, config, "app", clock)


def _connect(sb: Sandbox, config: Config, identity: str,
             clock: _Clock) -> operations.Connections:
    """Real adapters writing to GitHub as one of a deployment's identities (the dispatcher's
    App, the workflow's GITHUB_TOKEN, a person's own token), none told its login."""
    settings = Settings.from_env(sb.env(identity))
    return operations.Connections(github.connect(settings), slack.connect(settings),
                                  pagerduty.connect(settings), config, lambda: clock.now)


def output_dir(out: Path) -> Path:
    """The demo's folder, emptied of an earlier demo's files; never someone else's folder."""
    marker = out / ".incidentbot-demo"
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not marker.exists())):
        raise InvalidInput(f"{out} exists and is not an earlier demo's output: pick another "
                           "folder with --out")
    for name in ("site", "data"):
        shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by `incidentbot demo`; safe to delete\n", "utf-8")
    return out


def run(config: Config, out: Path = Path("demo-output")) -> Iterator[str]:
    """The lifecycle, step by step, with what Slack shows after each step."""
    out = output_dir(out)
    with Sandbox() as sb:
        clock, settings, c = _start(sb, config)
        tracker = c.tracker
        read = _Reader(sb)
        yield "incidentbot demo: one incident on the local sandbox (nothing leaves this machine)"
        yield f"sandbox: {sb.url} (GitHub REST, Slack Web and PagerDuty emulators)"
        yield f"config:  {config.source}"
        yield (f"links:   https://github.com/{settings.repository}/... are the addresses GitHub "
               "would give; the sandbox only names them (nothing is there)")
        yield ("writers: the dispatcher as incidentbot[bot] (a GitHub App), the incident "
               "workflow as github-actions[bot], carol's own token on the CLI")
        yield ""
        workflow = _connect(sb, config, "actions", clock)
        carol = _connect(sb, config, "carol", clock)

        created = tracker.ensure_labels(standard_labels(config))
        yield f"0. GitHub: {len(created)} labels created in {settings.repository} {_calls(sb)}"

        service = config.services[0].slug if config.services else None
        severity = config.severity(min(2, max(s.level for s in config.severities)))
        yield ""
        yield (f"1. alice types `/incident open {TITLE}` in #incidents; the dispatcher "
               "opens the form")
        dispatcher = Dispatcher(config, settings.slack_signing_secret or "", lambda: c,
                                allowed_teams=frozenset(config.slack.teams))
        requests = SlackRequests(sb.slack, sb.url, settings.slack_signing_secret or "")
        ack = _send(dispatcher, requests.command(f"open {TITLE}", user=ALICE))
        dispatcher.drain()
        (form,) = sb.slack.views.values()
        fields = [b["label"]["text"] for b in form["blocks"]]
        yield f"   Slack: acknowledged in {ack * 1000:.0f} ms; form: {', '.join(fields)}"
        yield (f"   she picks {severity.name}" + (f", service {service}" if service else "")
               + ", ticks 'Page on-call now' and submits")
        values = open_values(TITLE, severity.level, (service,) if service else (),
                             f"Error rate on /checkout jumped to 33% at {clock.said(-2)} UTC.",
                             ("page",))
        _send(dispatcher, requests.view_submission(form, values, user=ALICE))
        dispatcher.drain()
        number = max(sb.github.store.issues)
        issue = tracker.get_issue(number)
        card = reading.read(tracker, number, config).card
        if card.channel_id is None:
            raise RuntimeError(f"the demo's incident #{number} has no channel: {card.effects}")
        channel = card.channel_id
        yield f"   GitHub: issue #{issue.number} {issue.url}"
        yield f"           labels: {', '.join(sorted(issue.labels))}"
        topic = sb.slack.state.channels[channel]["topic"]["value"]
        yield f"   Slack:  #{card.channel_name} created; topic: {topic}"
        members = sb.slack.state.channels[channel]["members"]
        yield f"           members: {', '.join(read.plain(f'<@{m}>') for m in members)}"
        alerts = sb.pagerduty.alerts
        yield f"   PagerDuty: {len(alerts)} alert triggered (dedup key {next(iter(alerts))})"
        yield from read.new_messages(channel, f"#{card.channel_name}")
        for ref in config.slack.announce:
            found = sb.slack.channel_by_name(ref.lstrip("#"))
            if found:
                yield from read.new_messages(found["id"], ref)
        for reply in sb.slack.ephemerals:
            yield f"   (only alice sees) {read.plain(reply['text'])}"
        yield f"   {_calls(sb)}"

        yield ""
        yield "2. alice types `/incident role tech @bob` in the channel; bob joins and writes;"
        yield "   alice pins his message; then bob, on GitHub, swaps status:open for"
        yield "   status:fixing and comments there"
        clock.at(4)
        _send(dispatcher, requests.command(f"role tech <@{BOB}|bob>", user=ALICE,
                                           channel=channel, channel_name=card.channel_name
                                           or ""))
        dispatcher.drain()
        clock.at(7)
        said = (f"502s are upstream timeouts from lb-2; its TLS certificate expired at "
                f"{clock.said(-6)} UTC. Renewing.")
        finding = sb.slack.post_as(BOB, channel, said)
        clock.at(8)
        sb.slack.pin_as(ALICE, channel, finding)
        _send(dispatcher, requests.event(
            {"type": "pin_added", "user": ALICE, "channel_id": channel,
             "item": {"type": "message", "channel": channel,
                      "message": {"type": "message", "user": BOB, "ts": finding,
                                  "text": said}}},
            event_id="Ev0DEMO0001"))
        dispatcher.drain()
        clock.at(11)
        sb.github_relabel("bob", issue.number, add=["status:fixing"], remove=["status:open"])
        clock.at(19)
        sb.github_comment("bob", issue.number, "Certificate renewed; errors dropping.")
        # The incident workflow those GitHub events start, with the Actions token:
        sync.sync(workflow.tracker, workflow.chat, workflow.pager, config, issue.number,
                  now=clock.now)
        yield from read.new_messages(channel, f"#{card.channel_name}")
        pins = [x for x in tracker.comments(issue.number) if markers.PIN_PREFIX in x.body]
        yield f"   GitHub: the pinned message became a key-event comment on #{issue.number} " \
              f"({len(pins)} comment)"
        yield f"   {_calls(sb)}"

        yield ""
        yield ("3. carol, on call, takes command and marks it fixed from a terminal: "
               f"`incidentbot update {issue.number} --role commander=@carol --status fixed`")
        clock.at(24)
        operations.update_incident(carol, issue.number, Change(status=Status.FIXED,
                                                               roles={"commander": CAROL}),
                                   by=Attribution("carol", "CLI"))
        yield from read.new_messages(channel, f"#{card.channel_name}")
        for ref in config.slack.announce:
            found = sb.slack.channel_by_name(ref.lstrip("#"))
            if found:
                yield from read.new_messages(found["id"], ref)
                edited = [m for m in sb.slack.messages(found["id"]) if m.get("edited")]
                for m in edited:
                    yield f"   {ref} (edited in place): {read.plain(m['text']).splitlines()[0]}"
        yield f"   PagerDuty: alert {next(iter(sb.pagerduty.alerts.values()))['status']}"
        yield f"   {_calls(sb)}"

        yield ""
        yield "4. alice types `/incident status postmortem`: SEV2 needs a review, so the"
        yield "   postmortem is drafted, committed on a branch and opened as a pull request"
        clock.at(38)
        _send(dispatcher, requests.command("status postmortem", user=ALICE, channel=channel,
                                           channel_name=card.channel_name or ""))
        dispatcher.drain()
        yield from read.new_messages(channel, f"#{card.channel_name}")
        written = reading.read(tracker, issue.number, config).card
        yield f"   GitHub: pull request {written.postmortem_url}"
        yield f"   {_calls(sb)}"

        yield ""
        yield "5. bob comments `/close` on the issue"
        clock.at(40)
        sb.github_comment("bob", issue.number, "/close")
        final = sync.sync(workflow.tracker, workflow.chat, workflow.pager, config,
                          issue.number, now=clock.now)  # the workflow the comment starts
        yield from read.new_messages(channel, f"#{card.channel_name}")
        archived = sb.slack.state.channels[channel]["is_archived"]
        yield f"   Slack:  #{card.channel_name} {'archived' if archived else 'kept'}; " \
              f"GitHub: issue #{issue.number} {tracker.get_issue(issue.number).state}"
        yield f"   {_calls(sb)}"

        yield ""
        yield "6. a re-run changes nothing (every step is idempotent)"
        again = sync.sync(workflow.tracker, workflow.chat, workflow.pager, config,
                          issue.number, now=clock.now)
        yield f"   {len(again.done)} actions {_calls(sb)}"
        yield ""
        yield "The incident card on the issue (the bot's memory, shown to people):"
        if final.card is None:
            raise RuntimeError(f"the demo's incident #{issue.number} has no card")
        for name, effect in sorted(final.card.effects.items()):
            yield f"   {'✅' if effect.ok else '❌'} {name}" + \
                  (f": {effect.detail}" if effect.detail else "")
        dispatcher.close()
        path = f"{config.postmortem.directory}/{issue.created_at:%Y-%m}/{final.card.name}.md"
        branch = f"{config.postmortem.branch_prefix}{final.card.name}"
        committed = tracker.read_file(path, branch)
        if committed is not None:
            yield ""
            yield f"The postmortem committed to {path} on {branch}:"
            yield ""
            yield from ("   " + line if line else "" for line in committed[0].splitlines())
        yield ""
        yield from _health_checks(sb, c, config, clock, out)
        yield ""
        yield ("Next: keep a sandbox up and point the CLI at it (README, \"The sandbox\"): "
               "`incidentbot sandbox --env-file sandbox.env &`")
        tracker.close()


def run_drill(config: Config) -> Iterator[str]:
    """The quick drill scenario on the sandbox, a minute of scenario per second of nothing:
    the clock jumps instead of waiting, and two people act at T+40s and T+90s."""
    from incidentbot.operations import drills

    scenario = drills.load("quick", config)
    with Sandbox() as sb:
        clock, _settings, c = _start(sb, config)
        tracker = c.tracker
        read = _Reader(sb)
        tracker.ensure_labels(standard_labels(config))
        yield f"incidentbot demo --drill: scenario {scenario.slug!r} ({scenario.name}) on " \
              f"the sandbox (nothing leaves this machine; its github.com links are only named)"
        yield ""
        script: list[tuple[timedelta, str, Callable[[int], object]]] = [
                  (timedelta(seconds=40), "alice takes command",
                   lambda n: operations.update_incident(
                       c, n, Change(roles={"commander": ALICE}),
                       by=Attribution(ALICE, "Slack"))),
                  (timedelta(seconds=90), "bob moves it to fixing",
                   lambda n: operations.update_incident(
                       c, n, Change(status=Status.FIXING), by=Attribution(BOB, "Slack")))]
        state: dict[str, int] = {}

        def sleep(seconds: float) -> None:
            """Jump the clock instead of waiting, acting on the script on the way."""
            target = clock.now + timedelta(seconds=seconds)
            for at, _what, act in list(script):
                if "number" in state and clock.start + at <= target:
                    clock.now = max(clock.now, clock.start + at)
                    act(state["number"])
                    script.remove((at, _what, act))
            clock.now = target

        for line in drills.run(c, scenario, speed=1.0, sleep=sleep, reporter=ALICE):
            if line.startswith("drill #") and "opened" in line:
                state["number"] = int(line.split("#")[1].split(" ")[0])
            yield f"   {line}"
        number = state["number"]
        card = reading.read(tracker, number, config).card
        yield ""
        yield f"What #{card.channel_name} showed:"
        if card.channel_id:
            yield from read.new_messages(card.channel_id, f"#{card.channel_name}")
        announced = [m for m in sb.slack.messages("C0INCIDENTS") if "bot_id" in m]
        yield ""
        yield f"Announcements: {len(announced)} · PagerDuty alerts: {len(sb.pagerduty.alerts)}" \
              " (a drill tells nobody outside its channel)"
        tracker.close()


def _health_checks(sb: Sandbox, c: operations.Connections, config: Config,
                   clock: _Clock, out: Path) -> Iterator[str]:
    """Checks against two local servers (search answers 500), the outage incident they
    open, and the status page built from it all."""
    import threading
    from dataclasses import replace
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from incidentbot.core.model import HealthCheck, Service
    from incidentbot.operations import monitor, statuspage

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = 500 if self.path == "/search" else 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    services = (Service("website", "Website", checks=(HealthCheck("http", url=f"{base}/"),)),
                Service("search", "Search",
                        checks=(HealthCheck("http", url=f"{base}/search", timeout_s=2),)))
    # The configured services' checks point at the real internet: the demo probes only its own.
    quiet = tuple(replace(s, checks=()) for s in config.services)
    checked = replace(config, services=(*quiet, *services))
    c = replace(c, config=checked)
    data = monitordata.DataDir(out / "data")
    yield "7. health checks every 5 minutes against two local servers (search answers 500)"
    for run in range(3):
        clock.at(45 + 5 * run)
        result, states = monitor.run(checked, data, now=clock.now, retry=False,
                                     run_id=f"demo-{run}")
        shown = ", ".join(
            f"{slug} failed ({states[slug].fails} of the {health.FAIL_AFTER} failed runs in a "
            "row that make an outage)" if p.state != states[slug].state else
            f"{slug} {states[slug].state}" for slug, p in sorted(result.probes.items()))
        yield f"   run {run + 1}: {shown}"
        for line in monitor.open_for_outages(c, checked, result.transitions, states):
            yield f"   -> {line} (two failed runs in a row: an outage, not a blip)"
        data.write_state(states)
    server.shutdown()
    server.server_close()
    issues = c.tracker.list_incidents(state="all")
    written = statuspage.build(checked, data, issues, out / "site", now=clock.now)
    summary = (out / "site" / "api" / "v2" / "status.json").read_text()
    yield f"   status page: {len(written)} files in {out / 'site'}; status.json says " \
          f"{json.loads(summary)['status']['description']!r}"
    yield f"   look at it: python3 -m http.server -d {out / 'site'} 8000, then open " \
          "http://127.0.0.1:8000/"
