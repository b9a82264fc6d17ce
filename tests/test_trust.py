"""Whose a comment is: a command or note marker speaks for someone else only from our own
identities (push access is not enough); each change is credited to who made it; a refused
comment sets no role, even on a rebuilt card; the bot's own label writes never undo a
person's status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from helpers import CONFIG, connections, connections_as

from incidentbot.core import card as cards
from incidentbot.core import commented
from incidentbot.core.model import LabelFields, Status
from incidentbot.core.ports import Comment, Issue
from incidentbot.core.trust import Writers
from incidentbot.operations import evidence, sync
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.github_records import ACTIONS_BOT

ALICE = "U0ALICE001"


def _labels(sandbox: Sandbox, number: int) -> set[str]:
    store = sandbox.github.store
    return {store.labels[i].name for i in store.issues[number].labels}


def _said(sandbox: Sandbox, number: int) -> list[str]:
    found = [ch for ch in sandbox.slack.state.channels.values()
             if f"#{number}" in ch["purpose"]["value"]]
    return [m["text"] for ch in found for m in sandbox.slack.messages(ch["id"])
            if "bot_id" in m]


def _replies(sandbox: Sandbox, number: int) -> list[str]:
    store = sandbox.github.store
    return [c.body for c in store.comments_of(store.issues[number])
            if c.body.startswith("<!-- incidentbot:reply")]


def _sync(sandbox: Sandbox, number: int) -> None:
    c = connections(sandbox)
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, number)  # #general may refuse a SEV1


def _opened(sandbox: Sandbox, severity: int) -> int:
    issue, _ = operations.open_incident(connections(sandbox), title="Checkout 502",
                                        severity=severity)
    return issue.number


# -- 1. a marker from someone with push access, naming someone else ---------------------------
def test_a_forged_command_marker_runs_as_its_author_s_own_commands(sandbox: Sandbox) -> None:
    number = _opened(sandbox, 1)
    forged = f"<!-- incidentbot:command {ALICE} Slack -->\n"
    sandbox.github_comment("bob", number, forged + "/sev 1\n/close")
    _sync(sandbox, number)
    # The team's rules held: a SEV1 needs a postmortem before it closes.
    assert sandbox.github.store.issues[number].state == "open"
    assert len(_replies(sandbox, number)) == 1 and "needs a postmortem" in \
        _replies(sandbox, number)[0]
    sandbox.github_comment("bob", number, forged + "/status fixing")
    _sync(sandbox, number)
    assert "status:fixing" in _labels(sandbox, number)
    said = [t for t in _said(sandbox, number) if "changed status" in t]
    assert said and all("Bob Example changed status" in t and "(via GitHub)" in t
                        and ALICE not in t for t in said), said


def test_a_forged_note_marker_is_its_author_s_own_comment(sandbox: Sandbox) -> None:
    number = _opened(sandbox, 3)
    sandbox.github_comment("bob", number,
                           f"<!-- incidentbot:note {ALICE} Slack -->\nAll fixed, honest")
    _sync(sandbox, number)
    said = [t for t in _said(sandbox, number) if "All fixed, honest" in t]
    assert len(said) == 1 and ALICE not in said[0] and "Bob Example" in said[0], said
    c = connections(sandbox)
    found = evidence.gather(c.tracker, c.chat, CONFIG, number)
    entries = [e for e in found.timeline.entries if "All fixed, honest" in e.text]
    assert entries and all(e.who == "Bob Example" for e in entries), entries


def test_a_person_s_own_marker_from_the_cli_is_still_believed(sandbox: Sandbox) -> None:
    number = _opened(sandbox, 3)
    carol = connections_as(sandbox, "carol")
    from incidentbot.core.commands import Change
    from incidentbot.core.snapshot import Attribution
    operations.update_incident(carol, number, Change(roles={"commander": "U0DAN00001"}),
                               note="Rolled back", by=Attribution("carol", "CLI"))
    c = connections(sandbox)
    outcome = sync.sync(c.tracker, c.chat, c.pager, CONFIG, number)
    assert outcome.card is not None and outcome.card.roles.get("commander") == "U0DAN00001"
    assert any("Rolled back" in t and "(CLI)" in t for t in _said(sandbox, number))


def test_the_rule_for_a_marker_is_one_pure_function() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)

    def comment(author: str, body: str, association: str = "MEMBER") -> Comment:
        return Comment(id=1, author=author, body=body, created_at=at, url="",
                       association=association)

    writers = Writers.of(["incidentbot"])
    body = "<!-- incidentbot:command {} CLI -->\n/role commander @dan"
    mine = commented.commands_of(comment("carol", body.format("carol")), writers, CONFIG)
    assert mine is not None and mine.relayed and mine.by == "carol"
    by_slack_id = commented.commands_of(comment("alice", body.format(ALICE)), writers, CONFIG)
    assert by_slack_id is not None and by_slack_id.relayed
    forged = commented.commands_of(comment("bob", body.format(ALICE)), writers, CONFIG)
    assert forged is not None and not forged.relayed and (forged.by, forged.source) == (
        "bob", "GitHub")
    ours = commented.commands_of(comment("incidentbot", body.format(ALICE), "NONE"),
                                 writers, CONFIG)
    assert ours is not None and ours.relayed and ours.by == ALICE


# -- 3. each change credited to whoever made it ---------------------------------------------
def test_each_change_of_a_sync_is_credited_to_who_made_it(sandbox: Sandbox) -> None:
    number = _opened(sandbox, 3)
    sandbox.github_comment("bob", number, "/sev 2")
    sandbox.github_comment("carol", number, "/status fixing")
    sandbox.github_relabel("dan", number, add=["service:payments"])
    _sync(sandbox, number)
    lines = [line for t in _said(sandbox, number) for line in t.splitlines()
             if "changed" in line]
    assert any("Bob Example changed severity" in x and "status" not in x for x in lines), lines
    assert any("Carol Example changed status" in x and "severity" not in x
               and "services" not in x for x in lines), lines
    assert any("Dan Example changed services" in x for x in lines), lines


# -- 4. a refused comment sets no role, even on a rebuilt card --------------------------------
def test_a_refused_comment_sets_no_role_on_a_rebuilt_card(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTBOT_LEASE_TTL", "1")
    number = _opened(sandbox, 1)
    sandbox.github_comment("bob", number, "/role commander @carol")
    sandbox.github_comment("bob", number, "/role commander @dan\n/status closed")
    _sync(sandbox, number)
    assert sandbox.github.store.issues[number].state == "open"
    store = sandbox.github.store
    card = next(c for c in store.comments_of(store.issues[number]) if cards.is_card(c.body))
    assert cards.parse(card.body).roles == {"commander": "U0CAROL001"}
    del store.comments[card.id]
    _sync(sandbox, number)
    card = next(c for c in store.comments_of(store.issues[number]) if cards.is_card(c.body))
    assert cards.parse(card.body).roles == {"commander": "U0CAROL001"}


def test_the_roles_of_a_comment_are_none_when_its_commands_are_refused() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    c = Comment(id=1, author="bob", body="/role commander @dan\n/status closed",
                created_at=at, url="", association="MEMBER")
    writers = Writers.of([])
    sev1 = LabelFields(is_incident=True, status=Status.FIXING, severity=1)
    assert commented.roles_set(c, writers, CONFIG, sev1) is None  # postmortem needed
    fine = LabelFields(is_incident=True, status=Status.POSTMORTEM, severity=1)
    assert commented.roles_set(c, writers, CONFIG, fine) == {"commander": "U0DAN00001"}


# -- 2. the bot's own label write never undoes a person's status ------------------------------
class _Racing:
    """The tracker, with someone changing the labels just after the turn's first read."""

    def __init__(self, inner: Any, meanwhile: Any) -> None:
        self.inner, self.meanwhile = inner, meanwhile

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_issue(self, number: int) -> Issue:
        issue: Issue = self.inner.get_issue(number)
        if self.meanwhile is not None:
            self.meanwhile, then = None, self.meanwhile
            then()
        return issue


def test_a_status_picked_while_the_bot_labels_an_issue_by_hand_stays(sandbox: Sandbox) -> None:
    number = sandbox.github_open_issue("alice", "Search down", "It is down",
                                       ["incident", "sev:3"])
    c = connections(sandbox)
    racing = _Racing(c.tracker, lambda: sandbox.github_relabel(
        "bob", number, add=["status:fixing"]))
    sync.sync(racing, c.chat, c.pager, CONFIG, number)  # type: ignore[arg-type]
    assert "status:open" not in _labels(sandbox, number)
    _sync(sandbox, number)
    assert {x for x in _labels(sandbox, number) if x.startswith("status:")} == {
        "status:fixing"}


def test_a_label_the_bot_added_last_does_not_outrank_a_person_s(sandbox: Sandbox) -> None:
    number = sandbox.github_open_issue("alice", "Search down", "It is down",
                                       ["incident", "sev:3"])
    sandbox.github_relabel("bob", number, add=["status:fixing"])
    sandbox.github_relabel(ACTIONS_BOT, number, add=["status:open"])  # the workflow's token
    _sync(sandbox, number)
    assert {x for x in _labels(sandbox, number) if x.startswith("status:")} == {
        "status:fixing"}
