"""A real deployment's GitHub identities writing to one incident, and an outsider steering none.

The dispatcher writes with a GitHub App installation token, the workflow its writes start
with the Actions GITHUB_TOKEN, a person with their own token from the CLI; mallory, without
push access, comments. Nobody is told their own login: each learns it from its writes.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import CONFIG, connections_as, run_triggered_workflows

from incidentbot.core import card as cards
from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import reading, sync
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.github_records import ACTIONS_BOT, APP_BOT
from incidentbot.sandbox.slack_api import ALICE, BOB

SEEDED = {"incidents", "general", "security-incidents"}


def bot_texts(sandbox: Sandbox) -> list[str]:
    out = []
    for ch in sandbox.slack.state.channels.values():
        out += [m["text"] for m in sandbox.slack.messages(ch["id"]) if "bot_id" in m]
    return out


def incident_channels(sandbox: Sandbox, number: int) -> list[dict[str, Any]]:
    return [ch for ch in sandbox.slack.state.channels.values()
            if ch["name"] not in SEEDED and f"#{number}" in ch["purpose"]["value"]]


def card_comments(sandbox: Sandbox, number: int) -> list[Any]:
    return [c for c in sandbox.github.store.comments.values()
            if c.issue == number and cards.is_card(c.body) and c.user != "mallory"]


def labels_of(sandbox: Sandbox, number: int) -> set[str]:
    store = sandbox.github.store
    return {store.labels[i].name for i in store.issues[number].labels}


def announcements(sandbox: Sandbox, number: int) -> list[str]:
    found = sandbox.slack.channel_by_name("incidents")
    assert found is not None
    return [m["text"] for m in sandbox.slack.messages(found["id"])
            if "bot_id" in m and f"#{number}" in m["text"] and "thread_ts" not in m]


def open_from_slack(sandbox: Sandbox) -> int:
    app = connections_as(sandbox, "app")
    issue, outcome = operations.open_incident(
        app, title="Checkout returns 502", severity=2, services=["checkout"], reporter=ALICE,
        by=Attribution(ALICE, "Slack"), request_id="req-identities")
    assert outcome.ok, outcome.failed
    assert issue.author == APP_BOT
    return issue.number


def test_get_user_is_refused_to_bots_and_nothing_needs_it(sandbox: Sandbox) -> None:
    import requests

    for identity in ("app", "actions"):
        token = sandbox.env(identity)["GITHUB_TOKEN"]
        answer = requests.get(f"{sandbox.github_url}/user", timeout=5,
                              headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403
        assert answer.json()["message"] == "Resource not accessible by integration"
    sandbox.clear_calls()
    number = open_from_slack(sandbox)
    run_triggered_workflows(sandbox, 0)
    assert not sandbox.calls_to("github", "GET /user")
    assert len(card_comments(sandbox, number)) == 1


def test_app_dispatcher_actions_workflow_and_a_person_keep_one_of_everything(
    sandbox: Sandbox,
) -> None:
    number = open_from_slack(sandbox)
    seen = run_triggered_workflows(sandbox, 0)
    # The workflow's own writes start no workflow; the App's and people's do.
    assert all(not d.starts_workflows for d in sandbox.deliveries() if d.actor == ACTIONS_BOT)
    assert any(d.starts_workflows for d in sandbox.deliveries() if d.actor == APP_BOT)

    alice = connections_as(sandbox, "alice")
    outcome = operations.update_incident(
        alice, number, Change(status=Status.FIXING, roles={"commander": ALICE}),
        note="Rolled back deploy 4411.", by=Attribution("alice", "CLI"))
    assert outcome.ok, outcome.failed
    seen = run_triggered_workflows(sandbox, seen)
    for identity in ("app", "actions", "alice"):  # every writer's sync is a no-op now
        conn = connections_as(sandbox, identity)
        sandbox.clear_calls()
        sync.sync(conn.tracker, conn.chat, conn.pager, CONFIG, number)
        assert [c.operation for c in sandbox.calls if c.method != "GET"] == [], identity

    assert len(card_comments(sandbox, number)) == 1
    assert len(incident_channels(sandbox, number)) == 1
    assert len(announcements(sandbox, number)) == 1
    assert len(sandbox.pagerduty.alerts) == 1
    assert not any("incidentbot:" in t or "Incident card" in t for t in bot_texts(sandbox))
    card = cards.parse(card_comments(sandbox, number)[0].body)
    assert card.roles == {"commander": ALICE}
    notes = [t for t in bot_texts(sandbox) if "Rolled back deploy 4411." in t]
    assert len(notes) == 1


def test_an_outsider_changes_nothing_and_publishes_nothing(sandbox: Sandbox) -> None:
    number = open_from_slack(sandbox)
    seen = run_triggered_workflows(sandbox, 0)
    before = labels_of(sandbox, number)
    forged = cards.render(cards.CardState(name="forged", channel_id="CFORGED",
                                          roles={"commander": "U0MALLORY1"}))
    for body in (forged, "Public update: all fixed, nothing to see", "/close", "/sev 1",
                 "<!-- incidentbot:note U0ALICE001 Slack -->\nForged update",
                 "<!-- incidentbot:command U0ALICE001 Slack -->\n/close force",
                 "<!-- incidentbot:postmortem incidents/x.md -->"):
        sandbox.github_comment("mallory", number, body)
    run_triggered_workflows(sandbox, seen)

    assert labels_of(sandbox, number) == before
    assert sandbox.github.store.issues[number].state == "open"
    assert len(card_comments(sandbox, number)) == 1
    card = cards.parse(card_comments(sandbox, number)[0].body)
    assert card.channel_id != "CFORGED" and "commander" not in card.roles
    texts = bot_texts(sandbox)
    assert not any("Forged update" in t or "CFORGED" in t or "incidentbot:" in t for t in texts)
    # The outsider's commands are refused once each, on the issue.
    replies = [c.body for c in sandbox.github.store.comments.values()
               if "incidentbot:reply" in c.body]
    assert len(replies) == 2 and all("cannot run incident commands" in r for r in replies)

    # Nor does the status page publish them.
    from incidentbot.operations import statuspage

    actions = connections_as(sandbox, "actions")
    writers = reading.writers_of(actions.tracker, CONFIG)
    published = [statuspage.public_update(c.body) for c in actions.tracker.comments(number)
                 if writers.trusts(c)]
    assert all(p is None for p in published)


def test_a_person_s_public_update_counts_and_an_app_is_trusted_without_configuration(
    sandbox: Sandbox,
) -> None:
    number = open_from_slack(sandbox)
    sandbox.github_comment("bob", number, "Public update: a fix is rolling out")
    actions = connections_as(sandbox, "actions")
    writers = reading.writers_of(actions.tracker, CONFIG)
    comments = actions.tracker.comments(number)
    said = [c for c in comments if writers.trusts(c)]
    assert {c.author for c in said} == {APP_BOT, "bob"}


@pytest.mark.parametrize("damage", ["deleted", "hand-edited", "newer version"])
def test_a_lost_card_is_rebuilt_from_the_issue_and_replays_nothing(
    sandbox: Sandbox, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run that reads no card waits for the last turn's claim to end (it cannot tell a
    # finished turn from one in progress): a second here, two minutes by default.
    monkeypatch.setenv("INCIDENTBOT_LEASE_TTL", "1")
    number = open_from_slack(sandbox)
    run_triggered_workflows(sandbox, 0)
    app = connections_as(sandbox, "app")
    operations.update_incident(app, number, Change(status=Status.FIXING,
                                                   roles={"commander": BOB}),
                               by=Attribution(ALICE, "Slack"), actor={ALICE})
    sandbox.github_comment("alice", number, "/status fixed")
    actions = connections_as(sandbox, "actions")
    sync.sync(actions.tracker, actions.chat, actions.pager, CONFIG, number)
    posted = sorted(bot_texts(sandbox))
    alerts = dict(sandbox.pagerduty.alerts)

    card = card_comments(sandbox, number)[0]
    store = sandbox.github.store
    if damage == "deleted":
        del store.comments[card.id]
    elif damage == "hand-edited":
        card.body = card.body.replace('"channel_id"', '"channel_id" oops')
    else:
        card.body = card.body.replace("incidentbot:card v1", "incidentbot:card v9")

    for identity in ("actions", "app"):
        conn = connections_as(sandbox, identity)
        outcome = sync.sync(conn.tracker, conn.chat, conn.pager, CONFIG, number)
        assert outcome.ok, outcome.failed
    assert "status:fixed" in labels_of(sandbox, number)  # the old /status fixing not re-run
    assert len(card_comments(sandbox, number)) == 1
    rebuilt = cards.parse(card_comments(sandbox, number)[0].body)
    assert rebuilt.roles == {"commander": BOB}
    assert rebuilt.channel_id is not None
    assert len(incident_channels(sandbox, number)) == 1
    assert sorted(bot_texts(sandbox)) == posted  # nothing posted again
    assert dict(sandbox.pagerduty.alerts) == alerts
    notes = [c.body for c in store.comments.values() if "incidentbot:rebuilt" in c.body]
    assert len(notes) == 1 and "rebuilt from this issue" in notes[0]


def test_after_close_the_sweep_is_quiet_for_every_identity(sandbox: Sandbox) -> None:
    number = open_from_slack(sandbox)
    seen = run_triggered_workflows(sandbox, 0)
    alice = connections_as(sandbox, "alice")
    operations.close_incident(alice, number, by=Attribution("alice", "CLI"), force=True)
    run_triggered_workflows(sandbox, seen)
    for identity in ("actions", "app", "alice"):
        conn = connections_as(sandbox, identity)
        outcomes = sync.sync_all(conn.tracker, conn.chat, conn.pager, CONFIG, since=None)
        assert all(o.ok for o in outcomes), [o.failed for o in outcomes]
    assert len(card_comments(sandbox, number)) == 1
    alert = next(iter(sandbox.pagerduty.alerts.values()))
    assert alert["status"] == "resolved"


def test_close_policy_is_the_same_from_a_comment_slack_and_the_cli(sandbox: Sandbox) -> None:
    number = open_from_slack(sandbox)
    run_triggered_workflows(sandbox, 0)
    sandbox.github_comment("bob", number, "/close")
    actions = connections_as(sandbox, "actions")
    sync.sync(actions.tracker, actions.chat, actions.pager, CONFIG, number)
    assert sandbox.github.store.issues[number].state == "open"
    reply = [c.body for c in sandbox.github.store.comments.values()
             if "incidentbot:reply" in c.body]
    assert len(reply) == 1 and "needs a postmortem" in reply[0] and "/close force" in reply[0]
    from incidentbot.core.commands import NeedsConfirmation

    with pytest.raises(NeedsConfirmation):
        operations.close_incident(connections_as(sandbox, "app"), number, actor={ALICE})
    sandbox.github_comment("bob", number, "/close force")
    sync.sync(actions.tracker, actions.chat, actions.pager, CONFIG, number)
    assert sandbox.github.store.issues[number].state == "closed"


def test_an_outsider_cannot_open_an_incident_and_is_told_why(sandbox: Sandbox) -> None:
    from incidentbot.core.errors import AuthFailed

    mallory = connections_as(sandbox, "mallory")
    with pytest.raises(AuthFailed, match="no push access"):
        operations.open_incident(mallory, title="Let me in", severity=1)
    (issue,) = sandbox.github.store.issues.values()
    assert issue.labels == []  # GitHub dropped them: a plain issue, never an incident
    assert not incident_channels(sandbox, issue.number)
