"""After the close archived the channel (`slack.on_close: archive`): comments, notes and
changes stay on GitHub, sync succeeds, and a reopen mirrors into the successor channel.
A channel archived in Slack by someone else is reported with advice that holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import connections
from test_sync import channel, do_sync, open_one, texts, the_card

from incidentbot.core import card as cards
from incidentbot.core.commands import Change
from incidentbot.entrypoints.cli import main
from incidentbot.operations import incidents as operations
from incidentbot.operations import sync
from incidentbot.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
KEPT = "kept on GitHub"


@pytest.fixture
def c(sandbox: Sandbox) -> operations.Connections:
    return connections(sandbox)


def closed_one(c: operations.Connections, sandbox: Sandbox) -> tuple[int, dict[str, object]]:
    number = open_one(c)
    operations.close_incident(c, number, force=True)
    archived = channel(sandbox, number)
    assert archived["is_archived"] and the_card(c, number).archived
    return number, archived


def test_a_comment_after_the_close_stays_on_github_and_sync_succeeds(
    c: operations.Connections, sandbox: Sandbox
) -> None:
    number, archived = closed_one(c, sandbox)
    said = len(texts(sandbox, str(archived["id"])))
    comment = sandbox.github_comment("bob", number, "postmortem: the pool was too small")
    sandbox.clear_calls()
    outcome = do_sync(c, number)
    assert outcome.ok, outcome.failed
    state = the_card(c, number)
    assert state.last_comment >= comment  # seen: never planned again
    assert state.effects["comments"].ok and KEPT in state.effects["comments"].detail
    assert all(e.ok for e in state.effects.values()), state.effects
    assert len(texts(sandbox, str(archived["id"]))) == said  # nothing tried in the channel
    assert not [x for x in sandbox.calls_to("slack") if x.operation == "chat.postMessage"]
    sandbox.clear_calls()
    again = do_sync(c, number)  # no retry loop: nothing left to do, nothing written
    assert again.ok and again.done == []
    assert [x.operation for x in sandbox.calls_to("github")
            if not x.operation.startswith("GET")] == []


def test_a_note_on_a_closed_incident_succeeds(c: operations.Connections,
                                              sandbox: Sandbox) -> None:
    number, archived = closed_one(c, sandbox)
    outcome = operations.update_incident(c, number, Change(), note="root cause: pool size")
    assert outcome.ok, outcome.failed
    assert not any("root cause" in t for t in texts(sandbox, str(archived["id"])))
    assert any("root cause" in x.body for x in c.tracker.comments(number))
    assert all(e.ok for e in the_card(c, number).effects.values())


def test_a_change_after_the_close_is_not_posted_into_the_archived_channel(
    c: operations.Connections, sandbox: Sandbox
) -> None:
    number, _ = closed_one(c, sandbox)
    outcome = operations.update_incident(c, number, Change(severity=3))
    assert outcome.ok, outcome.failed
    state = the_card(c, number)
    assert state.seen_severity == 3 and state.effects["changes"].ok


def test_a_failure_left_by_an_older_version_is_settled_by_the_next_sync(
    c: operations.Connections, sandbox: Sandbox
) -> None:
    """A card saved before this fix: its comments [ERR] and `last_comment` behind."""
    number, _ = closed_one(c, sandbox)
    sandbox.github_comment("bob", number, "after the close")
    own = next(x for x in c.tracker.comments(number) if cards.is_card(x.body))
    stuck = cards.parse(own.body).with_effect(
        "comments", False, "Slack: posting: is_archived — the channel was archived by hand; "
                           "reopen the issue to get a new one")
    c.tracker.edit_comment(number, own.id, cards.render(stuck))
    assert do_sync(c, number).ok
    state = the_card(c, number)
    assert state.effects["comments"].ok and "by hand" not in state.effects["comments"].detail


def test_cli_sync_and_show_after_a_comment_on_a_closed_incident(
    c: operations.Connections, sandbox: Sandbox, sandbox_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    number, _ = closed_one(c, sandbox)
    sandbox.github_comment("bob", number, "a follow-up during the postmortem")
    monkeypatch.setenv("INCIDENTBOT_RETRY_BACKOFF", "0")
    config = ["--config", str(ROOT / "incidentbot.yml")]
    result = CliRunner().invoke(main, ["sync", str(number), *config])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"#{number}: ok")
    assert "warning" not in result.output
    shown = CliRunner().invoke(main, ["show", str(number), *config])
    assert shown.exit_code == 0, shown.output
    assert "[ERR]" not in shown.output and f"[ok ] comments: {KEPT}" in shown.output
    noted = CliRunner().invoke(main, ["update", str(number), "--note", "x", *config])
    assert noted.exit_code == 0, noted.output


def test_after_a_reopen_comments_mirror_into_the_successor_channel(
    c: operations.Connections, sandbox: Sandbox
) -> None:
    number, archived = closed_one(c, sandbox)
    sandbox.github_comment("bob", number, "while closed")
    assert do_sync(c, number).ok
    sandbox.github_set_state("bob", number, "open")
    assert do_sync(c, number).ok
    successor = channel(sandbox, number)
    assert successor["id"] != archived["id"] and not successor["is_archived"]
    sandbox.github_comment("bob", number, "it is back")
    outcome = do_sync(c, number)
    assert outcome.ok, outcome.failed
    said = texts(sandbox, str(successor["id"]))
    assert any("it is back" in t for t in said)
    assert not any("while closed" in t for t in said)  # seen while closed, not replayed
    assert the_card(c, number).effects["comments"] == cards.Effect(True)


def test_a_channel_archived_in_slack_while_open_says_how_to_recover(
    c: operations.Connections, sandbox: Sandbox
) -> None:
    number = open_one(c)
    ch = channel(sandbox, number)
    with sandbox._hub.lock:
        sandbox.slack.state.channels[ch["id"]]["is_archived"] = True
    sandbox.github_comment("bob", number, "anyone there?")
    assert not do_sync(c, number).ok
    detail = the_card(c, number).effects["comments"].detail
    assert "reopen" not in detail
    assert "not by incidentbot" in detail and f"incidentbot sync {number} --repair" in detail
    with sandbox._hub.lock:  # a person unarchives it, as the advice says
        sandbox.slack.state.channels[ch["id"]]["is_archived"] = False
    outcome = sync.sync(c.tracker, c.chat, c.pager, c.config, number, repair=True)
    assert outcome.ok, outcome.failed
    assert any("anyone there?" in t for t in texts(sandbox, ch["id"]))
    assert the_card(c, number).effects["comments"] == cards.Effect(True)


def test_repair_settles_a_failure_that_no_longer_applies(
    c: operations.Connections, sandbox: Sandbox
) -> None:
    """Reminders failed while the incident was open; it is closed now, so nothing is owed."""
    number, _ = closed_one(c, sandbox)
    own = next(x for x in c.tracker.comments(number) if cards.is_card(x.body))
    stale = cards.parse(own.body).with_effect("reminders", False, "Slack: posting: boom") \
        .with_effect("drill", False, "Slack: posting: boom")
    c.tracker.edit_comment(number, own.id, cards.render(stale))
    do_sync(c, number)  # a plain sync does not judge what it does not plan
    assert not the_card(c, number).effects["reminders"].ok
    outcome = sync.sync(c.tracker, c.chat, c.pager, c.config, number, repair=True)
    assert outcome.ok, outcome.failed
    effects = the_card(c, number).effects
    assert effects["reminders"].ok
    assert not effects["drill"].ok  # only a drill's run plans its posts: not judged here
