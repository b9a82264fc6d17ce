"""Slack as people expect it, through the dispatcher with signed requests (issue 15, item 9):
a bare `/incident`, numbers, Block Kit announcements and their buttons, the closed
announcement, reporters without a `people:` entry, and message texts a team overrides."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import CONFIG, connections
from test_dispatcher import labels_of, replies, send

from incidentbot.core import config
from incidentbot.core.render import blocks, views, wording
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB, INCIDENTS
from incidentbot.sandbox.slack_requests import SlackRequests, open_values

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]


def make(sandbox: Sandbox, cfg: config.Config = CONFIG) -> Dispatcher:
    return Dispatcher(cfg, SECRET, lambda: connections(sandbox, cfg),
                      allowed_teams=frozenset({"T0SANDBOX"}))


@pytest.fixture
def disp(sandbox: Sandbox) -> Iterator[Dispatcher]:
    d = make(sandbox)
    yield d
    d.drain()
    d.close()



def open_via_modal(d: Dispatcher, sb: Sandbox, s: SlackRequests, title: str,
                   severity: int = 2, roles: dict[str, Any] | None = None,
                   **kwargs: Any) -> int:
    """Open one incident through the form; each call is its own view (its own id)."""
    before = set(sb.slack.views)
    send(d, s.command(f"open {title}"))
    (view_id,) = set(sb.slack.views) - before
    view = sb.slack.views[view_id]
    # Slack submits a picker's initial user as chosen unless the person changed it.
    defaults = {b["block_id"]: {"value": {"type": "users_select",
                                          "selected_user": b["element"]["initial_user"]}}
                for b in view["blocks"] if "initial_user" in b.get("element", {})}
    values = {**defaults, **open_values(title, severity, **kwargs), **(roles or {})}
    send(d, s.view_submission(view, values, view_id=view_id))
    return max(sb.github.store.issues)


def announcement(sandbox: Sandbox) -> dict[str, Any]:
    (message,) = [m for m in sandbox.slack.messages(INCIDENTS)
                  if "bot_id" in m and m.get("thread_ts", m["ts"]) == m["ts"]]
    return message


def incident_channel(sandbox: Sandbox) -> str:
    return next(ch["id"] for ch in sandbox.slack.state.channels.values()
                if ch["name"].startswith("inc-"))


def fields_of(message: dict[str, Any]) -> dict[str, str]:
    section = next(b for b in message["blocks"] if "fields" in b)
    return dict(f["text"].split("\n", 1) for f in section["fields"])


def test_a_bare_incident_opens_the_form(disp: Dispatcher, s: SlackRequests,
                                        sandbox: Sandbox) -> None:
    reply = send(disp, s.command(""))
    assert reply.body is None
    (view,) = sandbox.slack.views.values()
    assert view["callback_id"] == views.OPEN_CALLBACK


def test_numbers_are_honoured_from_any_channel(disp: Dispatcher, s: SlackRequests,
                                              sandbox: Sandbox) -> None:
    first = open_via_modal(disp, sandbox, s, "Search slow", severity=4)
    second = open_via_modal(disp, sandbox, s, "Login slow", severity=4)
    send(disp, s.command(f"status fixing #{first}", channel=INCIDENTS))
    send(disp, s.command(f"close {second}", channel=INCIDENTS))
    assert "status:fixing" in labels_of(sandbox, first)
    assert sandbox.github.store.issues[first].state == "open"
    assert sandbox.github.store.issues[second].state == "closed"
    send(disp, s.command("close 999", channel=INCIDENTS))
    assert any("#999 is not an incident" in t for t in replies(sandbox))
    send(disp, s.command(f"update {first}", channel=INCIDENTS))
    form = [v for v in sandbox.slack.views.values()
            if v["callback_id"] == views.UPDATE_CALLBACK][-1]
    assert views.metadata(form)["number"] == str(first)


def test_the_announcement_has_fields_and_buttons_that_work(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number = open_via_modal(disp, sandbox, s, "Checkout <!channel> down", severity=2)
    message = announcement(sandbox)
    fields = fields_of(message)
    assert set(fields) == {"*Severity*", "*Status*", "*Commander*", "*Started*",
                           "*Latest update*"}
    assert fields["*Severity*"] == "SEV2" and fields["*Status*"] == "open"
    assert fields["*Started*"].startswith("<!date^")
    assert "<!channel>" not in str(message["blocks"])  # the title stays escaped
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [blocks.JOIN, blocks.TAKE_COMMAND, blocks.POST_UPDATE]
    channel = incident_channel(sandbox)

    # Join: Bob is in the channel. Take command: Bob commands, and the announcement says so.
    assert BOB not in sandbox.slack.state.channels[channel]["members"]
    send(disp, s.button(blocks.JOIN, str(number), user=BOB))
    assert BOB in sandbox.slack.state.channels[channel]["members"]
    send(disp, s.button(blocks.TAKE_COMMAND, str(number), user=BOB))
    assert fields_of(announcement(sandbox))["*Commander*"] == f"<@{BOB}>"
    posted = [m["text"] for m in sandbox.slack.messages(channel)]
    assert any(f"<@{BOB}> changed Incident commander → <@{BOB}>" in t for t in posted)

    # Post update: the update form, and what it posts is the latest update.
    send(disp, s.button(blocks.POST_UPDATE, str(number), user=BOB))
    update = next(v for v in sandbox.slack.views.values()
                  if v["callback_id"] == views.UPDATE_CALLBACK)
    values = {"status": {"value": {"type": "static_select",
                                   "selected_option": {"value": "fixing"}}},
              "severity": {"value": {"type": "static_select",
                                     "selected_option": {"value": "2"}}},
              "note": {"value": {"type": "plain_text_input",
                                 "value": "Rolled back <@U0DAN00001>"}}}
    send(disp, s.view_submission(update, values, user=BOB, view_id="V0UPDATE01"))
    fields = fields_of(announcement(sandbox))
    assert fields["*Status*"] == "fixing"
    assert fields["*Latest update*"] == "Rolled back &lt;@U0DAN00001&gt;"


def test_after_close_the_announcement_says_resolved_how_long_and_the_postmortem(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number = open_via_modal(disp, sandbox, s, "API down", severity=2)
    channel = incident_channel(sandbox)
    send(disp, s.command("status fixed", channel=channel))
    send(disp, s.command("status postmortem", channel=channel))
    send(disp, s.command(f"close {number}", channel=INCIDENTS))
    assert sandbox.github.store.issues[number].state == "closed"
    message = announcement(sandbox)
    assert "resolved* after" in message["text"] and "Join" not in message["text"]
    assert "Postmortem <https://" in message["text"]
    assert not [b for b in message["blocks"] if b["type"] == "actions"]
    assert "Resolved after" in str(message["blocks"])
    # The Join button of an older copy of the message answers without an invite.
    send(disp, s.button(blocks.JOIN, str(number), user=BOB))
    assert any("is closed" in t for t in replies(sandbox))
    assert BOB not in sandbox.slack.state.channels[channel]["members"]


def test_a_reporter_without_a_people_entry_is_named_not_shown_as_an_id(
    sandbox: Sandbox, s: SlackRequests
) -> None:
    cfg = config.parse((Path(CONFIG.source)).read_text().split("\npeople:")[0]
                       .replace("owners: [alice]", "owners: []")
                       .replace("owners: [bob]", "owners: []")
                       .replace("owners: [carol]", "owners: []")
                       .replace("invite: [dan]", "invite: []"))
    assert cfg.people == {}
    d = make(sandbox, cfg)
    try:
        number = open_via_modal(d, sandbox, s, "Search down")
    finally:
        d.drain()
        d.close()
    body = sandbox.github.store.issues[number].body
    shown = re.sub(r"<!--.*?-->", "", body, flags=re.S)  # what GitHub renders
    assert "Reported by alice via Slack" in shown and ALICE not in shown


def test_a_team_overrides_a_message_text(disp: Dispatcher, s: SlackRequests, sandbox: Sandbox,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    team = tmp_path / "templates" / "slack"
    team.mkdir(parents=True)
    (team / "announcement.j2").write_text(
        "{{ prefix }}:fire: {{ severity }}: {{ title }} — hop into {{ channel }}\n")
    monkeypatch.chdir(tmp_path)
    open_via_modal(disp, sandbox, s, "Pay <@U0DAN00001> down", severity=2)
    text = announcement(sandbox)["text"]
    assert text.startswith(":fire: SEV2: Pay &lt;@U0DAN00001&gt; down — hop into <#C")
    assert "summary" in wording.names() and "announcement" in wording.names()


def test_a_private_incident_has_no_join_button_and_refuses_a_forged_one(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    from incidentbot.operations import incidents as operations

    c = connections(sandbox)
    issue, outcome = operations.open_incident(c, title="Leaked keys", severity=2, private=True)
    assert outcome.card is not None and outcome.card.channel_id
    posted = [m for ch in sandbox.slack.state.channels.values()
              for m in sandbox.slack.messages(ch["id"]) if m.get("blocks")
              and any(b["type"] == "actions" for b in m["blocks"])]
    assert posted  # the announcement in #security-incidents
    for message in posted:
        actions = next(b for b in message["blocks"] if b["type"] == "actions")
        assert blocks.JOIN not in [e["action_id"] for e in actions["elements"]]
    send(disp, s.button(blocks.JOIN, str(issue.number), user=BOB))
    assert BOB not in sandbox.slack.state.channels[outcome.card.channel_id]["members"]
    assert any("is private" in t for t in replies(sandbox))
