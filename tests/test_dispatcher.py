"""The dispatcher with Slack's real payload shapes, signed, against the sandbox."""

from __future__ import annotations

import io
import itertools
import json
import time
from typing import Any

import pytest
from helpers import CONFIG, connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentbot.core.render import views
from incidentbot.entrypoints.dispatcher import Dispatcher, Reply
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB, INCIDENTS
from incidentbot.sandbox.slack_requests import SignedRequest, SlackRequests, open_values, signed

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]


def send(d: Dispatcher, request: SignedRequest, *, wait: bool = True) -> Reply:
    reply = d.handle(request.path, request.headers, request.body)
    if wait:
        d.drain()
    return reply


def labels_of(sandbox: Sandbox, number: int) -> set[str]:
    store = sandbox.github.store
    return {store.labels[i].name for i in store.issues[number].labels}


def replies(sandbox: Sandbox) -> list[str]:
    return [e["text"] for e in sandbox.slack.ephemerals]


def open_via_modal(d: Dispatcher, sb: Sandbox, s: SlackRequests, title: str = "API down",
                   **kwargs: Any) -> int:
    send(d, s.command(f"open {title}"))
    view = next(iter(sb.slack.views.values()))
    values = open_values(title, kwargs.pop("severity", 2), **kwargs)
    reply = send(d, s.view_submission(view, values))
    assert reply.body is None
    issues = sb.github.store.issues
    return max(issues)


# -- verification -------------------------------------------------------------------------
def test_unsigned_stale_forged_and_replayed_requests_are_refused(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    good = slack_sends.command("list")
    assert send(disp, SignedRequest(good.path, {}, good.body)).status == 401
    stale = slack_sends.command("list", timestamp=time.time() - 301)
    assert send(disp, stale).status == 401
    forged = signed("/slack/commands", good.body, "not-the-secret")
    assert send(disp, forged).status == 401
    tampered = SignedRequest(good.path, good.headers, good.body + b"&text=close")
    assert send(disp, tampered).status == 401
    assert send(disp, good).status == 200
    assert send(disp, good).status == 401  # the same signed request again: a replay
    other_team = slack_sends.command("list", team="T0EVIL0000")
    assert send(disp, other_team).status == 403
    sandbox.clear_calls()
    assert sandbox.calls_to("github") == []


def test_health_and_unknown_paths_over_wsgi(disp: Dispatcher) -> None:
    def call(method: str, path: str) -> str:
        seen: list[str] = []
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": "0",
                   "wsgi.input": io.BytesIO(b"")}
        b"".join(disp(environ, lambda status, headers: seen.append(status)))
        return seen[0]

    assert call("GET", "/healthz") == "200 OK"
    assert call("GET", "/slack/commands") == "405 Method Not Allowed"
    assert call("POST", "/nope") == "404 Not Found"
    assert call("POST", "/slack/commands") == "401 Unauthorized"


def test_url_verification_answers_the_challenge(disp: Dispatcher,
                                               slack_sends: SlackRequests) -> None:
    reply = send(disp, slack_sends.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWM"))
    assert reply.body == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWM"}


# -- commands -------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["help", "frobnicate", "sev nine", "status sideways",
                                  "role pilot @alice", "service add nope"])
def test_help_and_bad_input_answer_in_plain_words_without_writes(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox, text: str
) -> None:
    reply = send(disp, slack_sends.command(text))
    assert reply.status == 200
    assert isinstance(reply.body, dict) and reply.body["response_type"] == "ephemeral"
    assert reply.body["text"]
    assert [c for c in sandbox.calls if c.service == "github"] == []


def test_open_command_shows_the_modal_and_submit_opens_the_incident(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    reply = send(disp, slack_sends.command("open Checkout is down"))
    assert reply.status == 200 and reply.body is None  # acknowledged at once, empty
    (view,) = sandbox.slack.views.values()
    assert view["callback_id"] == views.OPEN_CALLBACK
    title = view["blocks"][0]["element"]["initial_value"]
    assert title == "Checkout is down"
    values = open_values("Checkout is down", 2, ("checkout",), "502s", ("page",))
    submission = slack_sends.view_submission(view, values)
    assert send(disp, submission).body is None
    # Slack's retry of the same submission, and a double click, open nothing more.
    retried = slack_sends.view_submission(view, values)
    send(disp, retried)
    assert len(sandbox.github.store.issues) == 1
    number = next(iter(sandbox.github.store.issues))
    assert {"incident", "sev:2", "service:checkout", "status:open"} <= labels_of(sandbox, number)
    assert sandbox.pagerduty.alerts  # page on-call was ticked
    assert any("Opened" in t and "Join <#C0SBX" in t for t in replies(sandbox))
    # Typed in #incidents, where the announcement already says it all: no second notice.
    posted = [m["text"] for m in sandbox.slack.messages(INCIDENTS) if "bot_id" in m]
    assert len(posted) == 1 and "SEV2 incident" in posted[0]


def test_a_submission_without_title_is_shown_the_error_in_the_form(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    send(disp, slack_sends.command("open"))
    (view,) = sandbox.slack.views.values()
    reply = send(disp, slack_sends.view_submission(view, open_values("   ", 2)))
    assert reply.body == {"response_action": "errors",
                          "errors": {"title": "give the incident a title"}}
    assert sandbox.github.store.issues == {}


def test_channel_commands_change_the_issue(disp: Dispatcher, slack_sends: SlackRequests,
                                           sandbox: Sandbox) -> None:
    number = open_via_modal(disp, sandbox, slack_sends, services=("checkout",))
    channel = next(ch for ch in sandbox.slack.state.channels.values()
                   if ch["name"].startswith("inc-"))
    send(disp, slack_sends.command("status fixing", channel=channel["id"]))
    send(disp, slack_sends.command(f"role comms <@{BOB}|bob>", channel=channel["id"]))
    assert "status:fixing" in labels_of(sandbox, number)
    posted = [m["text"] for m in sandbox.slack.messages(channel["id"])]
    assert any(f"<@{ALICE}> changed status *open* → *fixing* (via Slack)" in t for t in posted)
    assert BOB in sandbox.slack.state.channels[channel["id"]]["members"]


def test_a_channel_command_outside_an_incident_channel_says_so(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    send(disp, slack_sends.command("status fixing", channel=INCIDENTS))
    assert any("not an incident channel" in t for t in replies(sandbox))
    assert [c for c in sandbox.calls if c.service == "github"
            and not c.operation.startswith("GET")] == []


def test_close_asks_to_confirm_and_a_stale_button_does_nothing(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    number = open_via_modal(disp, sandbox, slack_sends)
    channel = next(ch["id"] for ch in sandbox.slack.state.channels.values()
                   if ch["name"].startswith("inc-"))
    send(disp, slack_sends.command("close", channel=channel))
    assert any("needs a postmortem" in t for t in replies(sandbox))
    assert sandbox.github.store.issues[number].state == "open"
    send(disp, slack_sends.command("resolve", channel=channel))  # it moved on meanwhile
    send(disp, slack_sends.button(views.CONFIRM_CLOSE, f"{number}:open", channel=channel))
    assert sandbox.github.store.issues[number].state == "open"
    assert any("has moved on" in t for t in replies(sandbox))
    send(disp, slack_sends.button(views.CONFIRM_CLOSE, f"{number}:fixed", channel=channel))
    assert sandbox.github.store.issues[number].state == "closed"


def test_close_as_a_false_alarm_asks_for_no_postmortem(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    number = open_via_modal(disp, sandbox, slack_sends)
    channel = next(ch["id"] for ch in sandbox.slack.state.channels.values()
                   if ch["name"].startswith("inc-"))
    send(disp, slack_sends.command("close --false-alarm", channel=channel))
    assert not any("needs a postmortem" in t for t in replies(sandbox))
    issue = sandbox.github.store.issues[number]
    assert issue.state == "closed" and issue.state_reason == "not_planned"


def test_list_and_info(disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox) -> None:
    number = open_via_modal(disp, sandbox, slack_sends, title="Search <!here> slow")
    send(disp, slack_sends.command("list"))
    send(disp, slack_sends.command(f"info {number}"))
    listed, info = replies(sandbox)[-2:]
    assert f"#{number}>" in listed and "&lt;!here&gt;" in listed and "<!here>" not in listed
    assert "SEV2 · open" in info


# -- events ---------------------------------------------------------------------------------
def test_a_pinned_message_becomes_one_timeline_comment(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    number = open_via_modal(disp, sandbox, slack_sends)
    channel = next(ch["id"] for ch in sandbox.slack.state.channels.values()
                   if ch["name"].startswith("inc-"))
    ts = sandbox.slack.post_as(ALICE, channel, "Root cause: expired cert on lb-2")
    pin = {"type": "pin_added", "user": ALICE, "channel_id": channel,
           "item": {"type": "message", "channel": channel,
                    "message": {"type": "message", "user": ALICE, "ts": ts,
                                "text": "Root cause: expired cert on lb-2"}},
           "event_ts": ts}
    send(disp, slack_sends.event(pin, event_id="Ev1"))
    send(disp, slack_sends.event(pin, event_id="Ev1"))  # Slack's retry
    reaction = {"type": "reaction_added", "user": BOB, "reaction": "pushpin",
                "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": ts}
    send(disp, slack_sends.event(reaction, event_id="Ev2"))
    comments = [c.body for c in sandbox.github.store.comments.values()
                if c.issue == number and "incidentbot:pin" in c.body]
    assert len(comments) == 1
    assert "Root cause: expired cert on lb-2" in comments[0] and "@alice" in comments[0]


_OFFSETS = itertools.count()


# -- fuzz -----------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/slack/commands", "/slack/interactivity", "/slack/events"]),
       body=st.one_of(
           st.binary(max_size=300),
           st.text(max_size=200).map(str.encode),
           st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=6)
           .map(lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode()),
           st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                        lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.sampled_from(
                            ["type", "payload", "view", "event", "team", "user", "actions",
                             "callback_id", "state", "values", "text", "team_id"]),
                            inner, max_size=4), max_leaves=12)
           .map(lambda v: json.dumps(v).encode()),
       ))
def test_any_signed_body_gets_a_polite_answer_and_no_write(
    disp: Dispatcher, sandbox: Sandbox, path: str, body: bytes
) -> None:
    # A distinct timestamp per example: the same signed body twice is (rightly) a replay.
    # Both the clock and the count only grow, so no two examples share a second however slow
    # the machine is; every stamp stays inside Slack's five-minute window.
    stamp = time.time() - 250 + next(_OFFSETS) % 250
    reply = disp.handle(path, signed(path, body, SECRET, timestamp=stamp).headers, body)
    disp.drain()
    try:
        body.decode("utf-8")
        allowed = {200, 400, 403}
    except UnicodeDecodeError:
        allowed = {401}  # Slack signs UTF-8 text; bytes that are not cannot be verified
    assert reply.status in allowed
    writes = [c for c in sandbox.calls if c.service == "github"
              and not c.operation.startswith("GET")]
    assert writes == []


def test_socket_mode_uses_the_same_handlers(disp: Dispatcher, sandbox: Sandbox) -> None:
    """Over Socket Mode Slack has authenticated the connection: no signature, same answers."""
    reply = disp.socket_request("slash_commands", {"team_id": "T0SANDBOX", "text": "help",
                                                   "user_id": ALICE, "channel_id": INCIDENTS})
    assert isinstance(reply.body, dict) and "/incident open" in reply.body["text"]
    reply = disp.socket_request("slash_commands", {"team_id": "T0EVIL0000", "text": "help"})
    assert reply.status == 403
    challenge = disp.socket_request("events_api", {"type": "url_verification",
                                                   "challenge": "c"})
    assert challenge.body == {"challenge": "c"}
    assert disp.socket_request("hello", {}).status == 200
    assert disp.socket_request("interactive", ["not", "a", "payload"]).body is not None


@pytest.mark.parametrize(("event", "said"), [
    ("channel_archive", "was archived by @bob while the incident is open"),
    ("channel_left", "incidentbot was removed from"),
])
def test_losing_the_channel_is_said_on_the_issue_once(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox, event: str, said: str
) -> None:
    number = open_via_modal(disp, sandbox, slack_sends)
    channel = next(ch["id"] for ch in sandbox.slack.state.channels.values()
                   if ch["name"].startswith("inc-"))
    payload = {"type": event, "channel": channel, "user": BOB}
    send(disp, slack_sends.event(payload, event_id="Ev9"))
    send(disp, slack_sends.event(payload, event_id="Ev10"))  # another delivery of the same
    notes = [c.body for c in sandbox.github.store.comments.values()
             if c.issue == number and "channel-lost" in c.body]
    assert len(notes) == 1 and said in notes[0]


def test_the_update_form_can_publish_its_note_on_the_status_page(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    number = open_via_modal(disp, sandbox, slack_sends, "Checkout is down")
    channel = next(c for c in sandbox.slack.state.channels.values()
                   if c["name"].startswith("inc-"))
    send(disp, slack_sends.command("update", channel=channel["id"],
                                   channel_name=channel["name"]))
    view = next(v for v in sandbox.slack.views.values()
                if v["callback_id"] == views.UPDATE_CALLBACK)
    assert any(b["block_id"] == "publish" for b in view["blocks"])
    option = {"text": {"type": "plain_text", "text": "Publish to the status page"},
              "value": "public"}
    values = {"status": {"value": {"type": "static_select",
                                   "selected_option": {"value": "fixing"}}},
              "note": {"value": {"type": "plain_text_input", "value": "Rolled back."}},
              "publish": {"value": {"type": "checkboxes", "selected_options": [option]}}}
    send(disp, slack_sends.view_submission(view, values, view_id="V0UPDATE01"))
    bodies = [c.body for c in sandbox.github.store.comments_of(
        sandbox.github.store.issues[number])]
    assert any(b.startswith("<!-- incidentbot:note ") and " Slack public " in b.split("-->")[0]
               and b.endswith("-->\n**Alice Example** (via Slack):\n\nRolled back.")
               for b in bodies)
    # The postmortem tells it as the page did: a key event, in the customer communication.
    from incidentbot.operations import evidence, postmortem

    c = connections(sandbox)
    facts = evidence.gather(c.tracker, c.chat, CONFIG, number)
    assert [u["text"] for u in postmortem.context(facts, CONFIG)["public_updates"]] == \
        ["Rolled back."]
    assert "★ **" in next(line for line in postmortem.render(facts, CONFIG).splitlines()
                          if line.endswith("Public update: Rolled back."))


def test_a_drill_that_would_be_public_or_paged_is_refused_in_the_form(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    for option, said in (("public", "untick Public"), ("page", "untick Page")):
        send(disp, slack_sends.command("open Practice outage"))
        view = list(sandbox.slack.views.values())[-1]
        values = open_values("Practice outage", 3, (), "", ("drill", option))
        reply = send(disp, slack_sends.view_submission(view, values))
        assert isinstance(reply.body, dict) and reply.body["response_action"] == "errors"
        assert said in reply.body["errors"]["options"]
    assert sandbox.github.store.issues == {}


def test_the_reporter_is_told_what_the_open_could_not_do(
    disp: Dispatcher, slack_sends: SlackRequests, sandbox: Sandbox
) -> None:
    # A SEV1 is announced in #general too, where the bot was never invited.
    send(disp, slack_sends.command("open Everything is down"))
    (view,) = sandbox.slack.views.values()
    send(disp, slack_sends.view_submission(view, open_values("Everything is down", 1)))
    (told,) = [t for t in replies(sandbox) if t.startswith("Opened")]
    assert "Join <#C0SBX" in told
    assert ":warning: Not done: announcement #general" in told
    assert "not_in_channel" in told and "/invite @incidentbot" in told
