"""Private incidents in the dispatcher, as a request costs them and as it writes: each channel's
members asked once per request; the issue read again after the privacy check, so a label added
meanwhile is kept; a name typed is refused by that name, never by the incident's number."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from helpers import CONFIG, connections
from test_dispatcher import labels_of, replies, send
from test_dispatcher_refusals import private_incident, update_forms

from incidentbot.core.render import blocks
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import incidents as operations
from incidentbot.operations import reading
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_api import CAROL, DAN, GENERAL
from incidentbot.sandbox.slack_requests import SlackRequests


class Meanwhile:
    """The sandbox's Slack, through which `action` runs (once) while the dispatcher asks
    who is in a channel: someone acting on GitHub during the privacy check."""

    def __init__(self, chat: Any, action: Callable[[], None]) -> None:
        self._chat = chat
        self._action: Callable[[], None] | None = action

    def channel_members(self, channel: str) -> frozenset[str]:
        if self._action is not None:
            action, self._action = self._action, None
            action()
        return frozenset(self._chat.channel_members(channel))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chat, name)


@pytest.fixture
def meanwhile(sandbox: Sandbox) -> Iterator[Callable[[Callable[[], None]], Dispatcher]]:
    made: list[Dispatcher] = []

    def make(action: Callable[[], None]) -> Dispatcher:
        def conn() -> operations.Connections:
            c = connections(sandbox)
            return replace(c, chat=Meanwhile(c.chat, action))  # type: ignore[arg-type]

        d = Dispatcher(CONFIG, DEFAULTS["SLACK_SIGNING_SECRET"], conn,
                       allowed_teams=frozenset({"T0SANDBOX"}))
        made.append(d)
        return d

    yield make
    for d in made:
        d.drain()
        d.close()


def members_asked(sandbox: Sandbox) -> list[str]:
    return [str((x.body or {}).get("channel", "")) if isinstance(x.body, dict) else ""
            for x in sandbox.calls_to("slack", "conversations.members")]


# -- 1. what `/incident list` costs ---------------------------------------------------------
def test_listing_private_incidents_asks_each_channel_once(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    numbers = [private_incident(sandbox)[0] for _ in range(3)]

    # Carol is in the security channel: its members, asked once, decide all three.
    sandbox.clear_calls()
    send(disp, s.command("list", user=CAROL, channel=GENERAL))
    assert all(f"#{n}>" in replies(sandbox)[-1] for n in numbers)
    assert len(members_asked(sandbox)) == 1

    # Dan is in none of them: the security channel once, then each incident's channel once.
    sandbox.clear_calls()
    send(disp, s.command("list", user=DAN, channel=GENERAL))
    assert not any(f"#{n}>" in replies(sandbox)[-1] for n in numbers)
    asked = members_asked(sandbox)
    assert len(asked) == 1 + len(numbers)
    assert len(set(asked)) == len(asked), asked
    assert sandbox.calls_to("slack", "conversations.list") == []  # no channel looked up


def test_a_role_holder_is_decided_by_the_card_without_asking_slack(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    from incidentbot.core import commands

    number, _ = private_incident(sandbox)
    operations.update_incident(connections(sandbox), number,
                               commands.Change(roles={"comms": DAN}))
    sandbox.clear_calls()
    send(disp, s.command(f"info {number}", user=DAN, channel=GENERAL))
    assert "Credential leak in logs" in replies(sandbox)[-1]
    assert members_asked(sandbox) == []


# -- 2. a label added while the privacy check runs is kept --------------------------------
def test_a_status_command_keeps_a_label_added_during_the_privacy_check(
    meanwhile: Callable[[Callable[[], None]], Dispatcher], s: SlackRequests, sandbox: Sandbox
) -> None:
    number, _ = private_incident(sandbox)
    d = meanwhile(lambda: sandbox.github_relabel("alice", number, add=["customer-reported"]))
    send(d, s.command(f"status fixing #{number}", user=CAROL, channel=GENERAL))
    assert replies(sandbox)[-1] == f"Done: #{number} updated."
    assert {"status:fixing", "customer-reported"} <= labels_of(sandbox, number)


def test_take_command_keeps_a_label_added_during_the_privacy_check(
    meanwhile: Callable[[Callable[[], None]], Dispatcher], s: SlackRequests, sandbox: Sandbox
) -> None:
    number, _ = private_incident(sandbox)
    d = meanwhile(lambda: sandbox.github_relabel("alice", number, add=["customer-reported"],
                                                 remove=["status:open"]))
    send(d, s.button(blocks.TAKE_COMMAND, str(number), user=CAROL, channel=GENERAL))
    assert replies(sandbox)[-1] == f"You are the incident commander of #{number} now."
    assert "customer-reported" in labels_of(sandbox, number)
    snap = reading.read(connections(sandbox).tracker, number, CONFIG)
    assert snap.card.roles.get("commander") == CAROL


def test_the_update_form_keeps_a_label_added_during_the_privacy_check(
    meanwhile: Callable[[Callable[[], None]], Dispatcher], disp: Dispatcher,
    s: SlackRequests, sandbox: Sandbox
) -> None:
    number, _ = private_incident(sandbox)
    send(disp, s.command(f"update {number}", user=CAROL, channel=GENERAL))
    (form,) = update_forms(sandbox)
    d = meanwhile(lambda: sandbox.github_relabel("alice", number, add=["customer-reported"]))
    values = {"status": {"value": {"type": "static_select",
                                   "selected_option": {"value": "fixing"}}}}
    send(d, s.view_submission(form, values, user=CAROL, view_id="V0RACE0001"))
    assert {"status:fixing", "customer-reported"} <= labels_of(sandbox, number)


# -- 3. refused by what was typed ----------------------------------------------------------
def test_a_private_incident_asked_for_by_name_is_refused_without_its_number(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox
) -> None:
    number, _ = private_incident(sandbox)
    name = reading.read(connections(sandbox).tracker, number, CONFIG).card.name
    assert name
    send(disp, s.command(f"info {name}", user=DAN, channel=GENERAL))
    said = replies(sandbox)[-1]
    assert said.startswith(f"`{name}` is private: only the people in its channel"), said
    assert f"#{number}" not in said and "Credential" not in said
