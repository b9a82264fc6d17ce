"""`incidentbot demo`: a whole incident on the local sandbox, told in GitHub and Slack terms.

alice opens it from Slack; bob, on GitHub, moves it to fixing with a label and comments; the
CLI marks it fixed; a comment command closes it. After each step the reconciler runs as the
workflow would, and the demo prints what people would see in Slack.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from incidentbot import github, operations, pagerduty, slack, sync
from incidentbot.commands import Change
from incidentbot.config import Config, standard_labels
from incidentbot.dispatcher import Dispatcher
from incidentbot.model import Status
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE
from incidentbot.sandbox.slack_requests import SignedRequest, SlackRequests, open_values
from incidentbot.settings import Settings

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
        text = _LINK.sub(lambda m: m.group(2), text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def new_messages(self, channel_id: str, label: str) -> Iterator[str]:
        messages = [m for m in self.sb.slack.messages(channel_id)
                    if m.get("subtype") in {None, "thread_broadcast"}]
        start = self.seen.get(channel_id, 0)
        self.seen[channel_id] = len(messages)
        for m in messages[start:]:
            who = "incidentbot" if m.get("bot_id") else m.get("user", "?")
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


def run(config: Config) -> Iterator[str]:
    """The lifecycle, step by step, with what Slack shows after each step."""
    with Sandbox() as sb:
        settings = Settings.from_env(sb.env())
        tracker = github.connect(settings)
        c = operations.Connections(tracker, slack.connect(settings),
                                   pagerduty.connect(settings), config)
        read = _Reader(sb)
        yield "incidentbot demo: one incident on the local sandbox (nothing leaves this machine)"
        yield f"sandbox: {sb.url} (GitHub REST, Slack Web and PagerDuty emulators)"
        yield f"config:  {config.source}"
        yield ""

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
                             "Error rate on /checkout jumped to 33% at 14:02 UTC.", ("page",))
        _send(dispatcher, requests.view_submission(form, values, user=ALICE))
        dispatcher.drain()
        dispatcher.close()
        number = max(sb.github.store.issues)
        issue = tracker.get_issue(number)
        card = sync.read(tracker, number, config).card
        assert card.channel_id is not None
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
        yield "2. bob, on GitHub, swaps the label status:open for status:fixing and comments"
        sb.github_relabel("bob", issue.number, add=["status:fixing"], remove=["status:open"])
        sb.github_comment("bob", issue.number, "Rolled back deploy 4411; errors dropping.")
        sync.sync(tracker, c.chat, c.pager, config, issue.number)  # the workflow's run
        yield from read.new_messages(channel, f"#{card.channel_name}")
        yield f"   {_calls(sb)}"

        yield ""
        yield "3. the commander runs `incidentbot update 1 --status fixed` from a terminal"
        operations.update_incident(c, issue.number, Change(status=Status.FIXED),
                                   by=sync.Attribution("carol", "CLI"))
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
        yield "4. bob comments `/close` on the issue"
        sb.github_comment("bob", issue.number, "/close")
        final = sync.sync(tracker, c.chat, c.pager, config, issue.number)
        yield from read.new_messages(channel, f"#{card.channel_name}")
        archived = sb.slack.state.channels[channel]["is_archived"]
        yield f"   Slack:  #{card.channel_name} {'archived' if archived else 'kept'}; " \
              f"GitHub: issue #{issue.number} {tracker.get_issue(issue.number).state}"
        yield f"   {_calls(sb)}"

        yield ""
        yield "5. a re-run changes nothing (every step is idempotent)"
        again = sync.sync(tracker, c.chat, c.pager, config, issue.number)
        yield f"   {len(again.done)} actions {_calls(sb)}"
        yield ""
        yield "The incident card on the issue (the bot's memory, shown to people):"
        assert final.card is not None
        for name, effect in sorted(final.card.effects.items()):
            yield f"   {'✅' if effect.ok else '❌'} {name}" + \
                  (f": {effect.detail}" if effect.detail else "")
        yield ""
        yield "Run `incidentbot sandbox` to keep a sandbox up and point the CLI at it."
        tracker.close()
