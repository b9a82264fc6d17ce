"""Leads at open and in updates, through the dispatcher (issue 15, item 2): the open form
offers the commander (the reporter by default) and the configured leads; the update form
edits title, description, severity, status, leads and posts an update; role descriptions
from the config are shown when a role is given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import CONFIG, connections, running_dispatcher
from test_dispatcher import labels_of, send
from test_slack_flow import incident_channel, open_via_modal

from incidentbot.core import config
from incidentbot.core.render import views
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import reading
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB
from incidentbot.sandbox.slack_requests import SlackRequests

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]
DAN = "U0DAN00001"
ROLES = """
roles:
  commander: {title: Incident commander, description: "Runs the response; decides."}
  comms: {title: Comms lead, description: "Tells stakeholders every hour."}
  tech: {title: Tech lead}
"""
CFG = config.parse(Path(CONFIG.source).read_text() + ROLES, source=CONFIG.source)


@pytest.fixture
def disp(sandbox: Sandbox) -> Iterator[Dispatcher]:
    yield from running_dispatcher(sandbox, CFG)



def picked(user: str | None) -> dict[str, Any]:
    return {"value": {"type": "users_select", "selected_user": user}}


def test_the_open_form_names_the_commander_and_leads(disp: Dispatcher, s: SlackRequests,
                                                     sandbox: Sandbox) -> None:
    send(disp, s.command("open DB slow"))
    (view,) = sandbox.slack.views.values()
    pickers = {b["block_id"]: b for b in view["blocks"] if b["block_id"].startswith("role_")}
    assert list(pickers) == ["role_commander", "role_comms", "role_tech"]
    assert pickers["role_commander"]["element"]["initial_user"] == ALICE  # the reporter
    assert pickers["role_comms"]["hint"]["text"] == "Tells stakeholders every hour."
    assert "initial_user" not in pickers["role_comms"]["element"]

    number = open_via_modal(disp, sandbox, s, "DB slow", 3,
                            roles={"role_commander": picked(BOB), "role_comms": picked(DAN)})
    c = connections(sandbox, CFG)
    read = reading.read(c.tracker, number, CFG)
    assert read.card.roles == {"commander": BOB, "comms": DAN}
    # On GitHub the card names them as people read them, not as Slack ids (no mention).
    assert read.card_comment is not None
    assert "| Incident commander | Bob Example (`@bob`) |" in read.card_comment.body
    assert "| Comms lead | Dan Example (`@dan`) |" in read.card_comment.body
    assert BOB not in read.card_comment.body.split("<!--")[0]
    channel = incident_channel(sandbox)
    assert {BOB, DAN} <= set(sandbox.slack.state.channels[channel]["members"])
    summary = next(m["text"] for m in sandbox.slack.messages(channel)
                   if m["text"].startswith(":rotating_light:"))
    assert f"Incident commander <@{BOB}>" in summary and f"Comms lead <@{DAN}>" in summary
    assert "_Comms lead: Tells stakeholders every hour._" in summary


def test_the_update_form_edits_everything_and_tells_the_channel(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number = open_via_modal(disp, sandbox, s, "DB slow", 3, description="p99 at 4s")
    channel = incident_channel(sandbox)
    send(disp, s.command("update", channel=channel))
    form = next(v for v in sandbox.slack.views.values()
                if v["callback_id"] == views.UPDATE_CALLBACK)
    blocks = {b["block_id"]: b for b in form["blocks"]}
    assert blocks["title"]["element"]["initial_value"] == "DB slow"
    assert blocks["description"]["element"]["initial_value"] == "p99 at 4s"
    assert blocks["role_commander"]["element"]["initial_user"] == ALICE
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "DB <!here> down"}},
        "description": {"value": {"type": "plain_text_input", "value": "Primary lost"}},
        "status": {"value": {"type": "static_select", "selected_option": {"value": "fixing"}}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "2"}}},
        "role_commander": picked(ALICE), "role_comms": picked(BOB), "role_tech": picked(None),
        "note": {"value": {"type": "plain_text_input", "value": "Failing over now"}},
    }
    send(disp, s.view_submission(form, values, view_id="V0UPDATE01"))
    issue = sandbox.github.store.issues[number]
    assert issue.title == "DB <!here> down"
    assert issue.body.startswith("Primary lost\n\n_Reported by Alice Example via Slack._")
    assert {"status:fixing", "sev:2"} <= labels_of(sandbox, number)
    c = connections(sandbox, CFG)
    assert reading.read(c.tracker, number, CFG).card.roles == {"commander": ALICE, "comms": BOB}
    posted = [m["text"] for m in sandbox.slack.messages(channel)]
    change = next(t for t in posted if "changed" in t and "Comms lead" in t)
    assert f"Comms lead → <@{BOB}> (_Tells stakeholders every hour._)" in change
    update = next(t for t in posted if "*Update*" in t)
    assert "Failing over now" in update
    assert "_Title changed to:_ `DB &lt;!here&gt; down`" in update
    assert "<!here>" not in update
    # The same form again, unchanged: nothing more is written.
    before = len(sandbox.github.store.comments)
    send(disp, s.command("update", channel=channel))
    again = [v for v in sandbox.slack.views.values()
             if v["callback_id"] == views.UPDATE_CALLBACK][-1]
    kept = {**values, "note": {"value": {"type": "plain_text_input", "value": None}}}
    send(disp, s.view_submission(again, kept, view_id="V0UPDATE02"))
    assert len(sandbox.github.store.comments) == before
