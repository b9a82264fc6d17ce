"""Hostile text in titles, bodies, comments and names is shown literally and pings no one."""

from __future__ import annotations

import re

from helpers import connections
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentbot import messages, operations, sync
from incidentbot.model import Status
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB

HOSTILE = ("<!channel> <!here> <!everyone> <@U0BOB00001> <#C0GENERAL01> "
           "<https://evil.example|click me> &amp; &<> `code` ```block``` *bold* _it_ ~s~ "
           "> quote\nنص عربي \u202eoverride\u202c 🔥 zero\u200bwidth " + "x" * 5000)
# What Slack would turn into a notification or a link: only the bot's own may appear.
SPECIAL = re.compile(r"<(!|@|#|https?:)[^>]*>")


def facts(title: str, services: tuple[str, ...] = ()) -> messages.Facts:
    return messages.Facts(number=7, name="20261122-brave-otter", title=title,
                          url="https://github.com/acme/incidents/issues/7",
                          status=Status.FIXING, severity="SEV2", meaning=title[:50],
                          services=services, roles={"Incident commander": ALICE},
                          channel_id="C0SBX000001", channel_name="inc-x")


def ours(text: str) -> list[str]:
    """The special sequences the bot meant: its role holder, its channel, the issue link."""
    allowed = {f"<@{ALICE}>", "<#C0SBX000001>"}
    return [m.group(0) for m in SPECIAL.finditer(text)
            if m.group(0) not in allowed and not m.group(0).startswith(
                "<https://github.com/acme/incidents/issues/7")]


def every_message(title: str, body: str) -> list[str]:
    f = facts(title, (title[:30],))
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 22, tzinfo=UTC)
    return [messages.topic(f), messages.summary(f, body), messages.announcement(f, False),
            messages.announcement(f, True), messages.resolution(f, now, now),
            messages.change(f, [messages.Change("status", body, title)], body[:40], body[:20]),
            messages.comment(f, body[:40], body, "https://github.com/acme/incidents/issues/7"),
            messages.comment(f, "alice", body, "https://x", update=True),
            messages.closed(f, now - timedelta(hours=1), now, None, True),
            messages.reminder(f, messages.person(body[:20]), timedelta(minutes=31), title),
            messages.no_commander(f, messages.person(body[:20]), timedelta(minutes=11))]


def test_the_fixed_hostile_text_is_shown_literally_everywhere() -> None:
    for text in every_message(HOSTILE, HOSTILE):
        assert ours(text) == [], text[:300]
        assert len(text) <= 40_000
    summary = messages.summary(facts(HOSTILE), HOSTILE)
    assert "&lt;!channel&gt;" in summary  # escaped, not dropped: people still read it
    assert len(messages.topic(facts(HOSTILE))) <= 250


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_any_text_produces_no_special_sequence(title: str, body: str) -> None:
    for text in every_message(title, body):
        assert ours(text) == []
    assert len(messages.topic(facts(title))) <= 250


def test_hostile_text_on_the_sandbox_notifies_nobody(sandbox: Sandbox) -> None:
    c = connections(sandbox)
    issue, outcome = operations.open_incident(
        c, title=HOSTILE[:200], severity=2, description=HOSTILE, reporter=ALICE,
        request_id="hostile")
    sandbox.github_comment("bob", issue.number, HOSTILE)
    operations.update_incident(c, issue.number, sync_change(), note=HOSTILE,
                               by=sync.Attribution(BOB, "Slack"))
    assert outcome.card is not None and outcome.card.channel_id is not None
    channel = sandbox.slack.state.channels[outcome.card.channel_id]
    assert len(channel["topic"]["value"]) <= 250
    announced = sandbox.slack.channel_by_name("incidents")
    assert announced is not None
    posted = [m["text"] for ch in (channel["id"], announced["id"])
              for m in sandbox.slack.messages(ch) if "bot_id" in m]
    assert len(posted) >= 4
    for text in posted:
        found = [m.group(0) for m in SPECIAL.finditer(text)]
        unexpected = [s for s in found if not (
            s.startswith(("<https://github.com/acme/incidents/", "<#C0SBX"))
            or s in {f"<@{ALICE}>", f"<@{BOB}>"})]
        assert unexpected == [], text[:300]


def sync_change() -> object:
    from incidentbot.commands import Change

    return Change(status=Status.FIXING)
