"""`/incident info`: by number, name or channel name; never an incident that is not one, never
silent, never a read of every past incident to find one name."""

from __future__ import annotations

from helpers import CONFIG, connections
from history import seed_past_incidents

from incidentbot.entrypoints.dispatcher import Dispatcher, Reply
from incidentbot.operations import reading
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_requests import SignedRequest, SlackRequests, open_values

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]


def send(d: Dispatcher, request: SignedRequest) -> Reply:
    reply = d.handle(request.path, request.headers, request.body)
    d.drain()
    return reply


def last_reply(sandbox: Sandbox) -> str:
    return str(sandbox.slack.ephemerals[-1]["text"])


def open_one(d: Dispatcher, sb: Sandbox, s: SlackRequests, title: str) -> int:
    send(d, s.command(f"open {title}"))
    view = list(sb.slack.views.values())[-1]
    send(d, s.view_submission(view, open_values(title, 2)))
    return max(sb.github.store.issues)


def info(d: Dispatcher, sb: Sandbox, s: SlackRequests, ref: str) -> str:
    before = len(sb.slack.ephemerals)
    send(d, s.command(f"info {ref}"))
    assert len(sb.slack.ephemerals) == before + 1, "one reply, never silence"
    return last_reply(sb)


def test_a_number_that_is_no_incident_is_answered_as_close_answers_it(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    number = open_one(disp, sandbox, slack_sends, "API down")
    c = connections(sandbox)
    base = c.tracker.default_branch()
    c.tracker.ensure_branch("postmortem/x", base)
    c.tracker.write_file("incidents/x.md", "# x", "postmortem", "postmortem/x")
    pull = int(c.tracker.ensure_pull("postmortem/x", base, "Postmortem", "b").rsplit("/", 1)[1])
    plain_issue = c.tracker.create_issue("A feature request", "b", [], marker="m1").number
    for ref in ("999", str(pull), f"#{plain_issue}"):
        said = info(disp, sandbox, slack_sends, ref)
        send(disp, slack_sends.command(f"close {ref.lstrip('#')}"))
        assert said == last_reply(sandbox)
        assert said == f":warning: #{ref.lstrip('#')} is not an incident of this repository."
    assert "SEV2 · open" in info(disp, sandbox, slack_sends, str(number))


def test_a_name_costs_a_few_github_requests_among_a_thousand_past_incidents(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    seed_past_incidents(sandbox, 1000)
    number = open_one(disp, sandbox, slack_sends, "Checkout <!here> down")
    c = connections(sandbox)
    card = reading.read(c.tracker, number, CONFIG).card
    assert card.name and card.channel_name
    words = card.name.split("-", 1)[1]
    for ref in (card.name, f"#{card.channel_name}", card.channel_name + "-resolved", words):
        sandbox.clear_calls()
        said = info(disp, sandbox, slack_sends, ref)
        assert f"|#{number}>" in said, ref
        assert "&lt;!here&gt;" in said and "<!here>" not in said
        assert len(sandbox.calls_to("github")) <= 4, ref
    sandbox.clear_calls()
    said = info(disp, sandbox, slack_sends, "20240101-past-12")  # a name with no number in it
    assert "give its number" in said
    assert len(sandbox.calls_to("github")) == 0


def test_a_name_found_in_a_numbered_channel_pattern(sandbox: Sandbox) -> None:
    from dataclasses import replace

    from incidentbot.operations import incidents as operations

    config = replace(CONFIG, slack=replace(CONFIG.slack, channel_pattern="incident-{number}"))
    c = connections(sandbox, config)
    issue, _ = operations.open_incident(c, title="Search slow")
    sandbox.clear_calls()
    snap = reading.find(c.tracker, f"#incident-{issue.number}", config)
    assert snap is not None and snap.issue.number == issue.number
    assert len(sandbox.calls_to("github")) <= 2
    assert reading.find(c.tracker, "incident-999", config) is None


def test_an_unknown_name_is_escaped_in_the_answer(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    said = info(disp, sandbox, slack_sends, "<!channel>")
    assert "<!channel>" not in said and "&lt;!channel&gt;" in said
