"""What the dispatcher refuses, and says plainly, end to end with signed requests: private
incidents are neither shown to nor changed by people outside them; a closed incident opens
no form and takes no commander; a form gone stale keeps its note; `close force` forces; a
change that changes nothing says so."""

from __future__ import annotations

from typing import Any

from helpers import connections
from test_dispatcher import labels_of, replies, send

from incidentbot.core import commands, markers
from incidentbot.core.render import blocks, views
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB, CAROL, DAN, GENERAL
from incidentbot.sandbox.slack_requests import SlackRequests

SECRET_WORDS = "secret key exposed in bucket acme-logs"


def private_incident(sandbox: Sandbox) -> tuple[int, str]:
    """A private SEV2 opened by Alice: its channel holds the bot and Alice."""
    c = connections(sandbox)
    issue, outcome = operations.open_incident(
        c, title="Credential leak in logs", severity=2, private=True,
        description=SECRET_WORDS, reporter=ALICE)
    assert outcome.card is not None and outcome.card.channel_id
    members = sandbox.slack.state.channels[outcome.card.channel_id]["members"]
    assert ALICE in members and DAN not in members and CAROL not in members
    return issue.number, outcome.card.channel_id


def public_incident(sandbox: Sandbox, title: str = "API down") -> tuple[int, str]:
    issue, outcome = operations.open_incident(connections(sandbox), title=title, severity=2,
                                              reporter=ALICE)
    assert outcome.card is not None and outcome.card.channel_id
    return issue.number, outcome.card.channel_id


def last_reply(sandbox: Sandbox) -> str:
    return replies(sandbox)[-1]


def update_forms(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [v for v in sandbox.slack.views.values() if v["callback_id"] == views.UPDATE_CALLBACK]


def note(text: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": text}}


# -- 1. private incidents ----------------------------------------------------------------
def test_a_private_incident_is_not_listed_shown_or_changed_for_someone_outside_it(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, _channel = private_incident(sandbox)
    public, _ = public_incident(sandbox, "Checkout slow")
    status_before = labels_of(sandbox, number)
    comments_before = len(sandbox.github.store.comments)

    send(disp, s.command("list", user=DAN, channel=GENERAL))
    listed = last_reply(sandbox)
    assert f"#{public}>" in listed and "Checkout slow" in listed
    assert f"#{number}>" not in listed and "Credential" not in listed

    for text in (f"info {number}", f"update {number}", f"status fixing #{number}",
                 f"close force #{number}", f"role commander <@{DAN}> #{number}"):
        seen = len(replies(sandbox))
        send(disp, s.command(text, user=DAN, channel=GENERAL))
        (said,) = replies(sandbox)[seen:]
        assert said == (f"#{number} is private: only the people in its channel (and in the "
                        "security channel) see it or change it.")
    assert update_forms(sandbox) == []
    assert labels_of(sandbox, number) == status_before
    assert len(sandbox.github.store.comments) == comments_before
    assert not any(SECRET_WORDS in str(v) for v in sandbox.slack.views.values())

    # The announcement's buttons, forged or stale, change nothing either.
    send(disp, s.button(blocks.TAKE_COMMAND, str(number), user=DAN, channel=GENERAL))
    assert "is private" in last_reply(sandbox)
    send(disp, s.button("open_update", str(number), user=DAN, channel=GENERAL))
    assert update_forms(sandbox) == [] and "is private" in last_reply(sandbox)
    assert len(sandbox.github.store.comments) == comments_before


def test_the_people_in_a_private_incident_and_the_security_channel_see_and_change_it(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, channel = private_incident(sandbox)
    send(disp, s.command("list", user=ALICE, channel=GENERAL))
    assert "Credential leak in logs" in last_reply(sandbox)
    send(disp, s.command(f"info {number}", user=ALICE, channel=GENERAL))
    assert "Credential leak in logs" in last_reply(sandbox)
    send(disp, s.command("status investigating", user=ALICE, channel=channel))
    assert "status:investigating" in labels_of(sandbox, number)
    # Carol is in #security-incidents, where it was announced: she may take command.
    send(disp, s.command("list", user=CAROL, channel=GENERAL))
    assert "Credential leak in logs" in last_reply(sandbox)
    send(disp, s.button(blocks.TAKE_COMMAND, str(number), user=CAROL, channel=GENERAL))
    assert last_reply(sandbox) == f"You are the incident commander of #{number} now."
    send(disp, s.command(f"update {number}", user=CAROL, channel=GENERAL))
    (form,) = update_forms(sandbox)
    assert SECRET_WORDS in str(form)


def test_a_channel_that_only_claims_to_be_the_incidents_gets_no_say(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    """Anyone may write a purpose: a channel of Dan's naming the private incident in it is
    not its channel."""
    number, _channel = private_incident(sandbox)
    sandbox.slack.state.channels[GENERAL]["purpose"]["value"] = \
        f"incidentbot:{connections(sandbox).tracker.repository}#{number}"
    send(disp, s.command("status fixing", user=DAN, channel=GENERAL))
    assert "is private" in last_reply(sandbox)
    assert "status:fixing" not in labels_of(sandbox, number)


# -- 2. closed incidents and stale forms ------------------------------------------------
def test_a_closed_incident_opens_no_update_form(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, _ = public_incident(sandbox)
    operations.close_incident(connections(sandbox), number, force=True)
    send(disp, s.command(f"update {number}", user=ALICE))
    assert update_forms(sandbox) == []
    assert last_reply(sandbox) == (f"#{number} is closed. To reopen it: `/incident reopen "
                                   f"investigating #{number}` (or another status).")


def test_a_form_that_went_stale_keeps_its_note_and_says_the_incident_stays_closed(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, channel = public_incident(sandbox)
    send(disp, s.command("update", user=ALICE, channel=channel))
    (form,) = update_forms(sandbox)
    operations.close_incident(connections(sandbox), number, force=True)
    values = {"status": {"value": {"type": "static_select",
                                   "selected_option": {"value": "open"}}},
              "note": note("Rotated the keys at 14:02")}
    send(disp, s.view_submission(form, values, user=ALICE, view_id="V0STALE001"))
    said = last_reply(sandbox)
    assert said == (f"#{number} was closed while your form was open, so it stays closed; "
                    "your update was saved on the issue. To reopen it: "
                    f"`/incident reopen open #{number}`.")
    assert "/reopen" not in said.replace("/incident reopen", "")
    notes = [c.body for c in sandbox.github.store.comments.values()
             if c.issue == number and "Rotated the keys at 14:02" in c.body]
    assert len(notes) == 1 and markers.key_of(notes[0])
    assert sandbox.github.store.issues[number].state == "closed"


# -- 3. take command ----------------------------------------------------------------------
def test_take_command_on_a_closed_incident_is_refused_like_join(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, _ = public_incident(sandbox)
    operations.close_incident(connections(sandbox), number, force=True)
    before = len(sandbox.github.store.comments)
    send(disp, s.button(blocks.TAKE_COMMAND, str(number), user=DAN))
    assert last_reply(sandbox).startswith(f"#{number} is closed; the record is on <")
    assert len(sandbox.github.store.comments) == before
    send(disp, s.button(blocks.TAKE_COMMAND, "999", user=DAN))
    assert last_reply(sandbox) == ":warning: #999 is not an incident of this repository."


# -- 4. close force -----------------------------------------------------------------------
def test_close_force_closes_without_asking_and_the_question_speaks_slack(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, channel = public_incident(sandbox)
    send(disp, s.command("close", user=ALICE, channel=channel))
    asked = sandbox.slack.ephemerals[-1]
    assert "`/incident close force`" in asked["text"] and "`/close force`" not in asked["text"]
    assert asked["text"].endswith("Close anyway?")
    assert sandbox.github.store.issues[number].state == "open"
    send(disp, s.command("close force", user=ALICE, channel=channel))
    assert sandbox.github.store.issues[number].state == "closed"
    assert "status:closed" in labels_of(sandbox, number)
    assert last_reply(sandbox) == f"Done: #{number} updated."


def test_close_with_a_word_it_does_not_know_is_refused(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, channel = public_incident(sandbox)
    reply = send(disp, s.command("close now", user=ALICE, channel=channel))
    assert isinstance(reply.body, dict) and "/incident close takes nothing" in reply.body["text"]
    assert sandbox.github.store.issues[number].state == "open"


# -- 5. nothing changed -------------------------------------------------------------------
def test_a_change_that_changes_nothing_says_so(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, channel = public_incident(sandbox)
    send(disp, s.command("status fixing", user=ALICE, channel=channel))
    assert last_reply(sandbox) == f"Done: #{number} updated."
    before = len(sandbox.github.store.comments)
    send(disp, s.command("status fixing", user=ALICE, channel=channel))
    assert last_reply(sandbox) == f"#{number} is already fixing; nothing changed."
    send(disp, s.command("sev 2", user=ALICE, channel=channel))
    assert last_reply(sandbox) == f"#{number} is already SEV2; nothing changed."
    assert len(sandbox.github.store.comments) == before
    send(disp, s.command(f"role commander <@{BOB}>", user=ALICE, channel=channel))
    assert last_reply(sandbox) == f"Done: #{number} updated."


def test_a_lead_who_left_the_channel_still_sees_the_incident(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, channel = private_incident(sandbox)
    c = connections(sandbox)
    operations.update_incident(c, number, commands.Change(roles={"comms": BOB}))
    sandbox.slack.state.channels[channel]["members"].remove(BOB)
    send(disp, s.command(f"info {number}", user=BOB, channel=GENERAL))
    assert "Credential leak in logs" in last_reply(sandbox)
    send(disp, s.command(f"info {number}", user=DAN, channel=GENERAL))
    assert "is private" in last_reply(sandbox)
