"""Changes people make on GitHub itself (close, reopen, the label picker), each followed by
the incident workflow's sync as Actions runs it: credited to whoever made that change, read
the way GitHub's label picker makes them, and leaving labels that agree with the issue."""

from __future__ import annotations

from helpers import CONFIG, connections, run_triggered_workflows

from incidentbot.operations import sync
from incidentbot.sandbox import Sandbox

FORM = ("### Severity\n\nSEV3 — Minor\n\n### Affected services\n\nCheckout\n\n"
        "### What is happening?\n\nCart totals are wrong")


def labels(sandbox: Sandbox, number: int) -> set[str]:
    store = sandbox.github.store
    return {store.labels[i].name for i in store.issues[number].labels}


def said(sandbox: Sandbox, number: int) -> list[str]:
    """What the bot said in the incident's channels (the first one and its successors)."""
    found = sorted((ch for ch in sandbox.slack.state.channels.values()
                    if f"#{number}" in ch["purpose"]["value"]), key=lambda ch: ch["created"])
    return [m["text"] for ch in found for m in sandbox.slack.messages(ch["id"])
            if "bot_id" in m]


def changes(sandbox: Sandbox, number: int) -> list[str]:
    return [line for t in said(sandbox, number) for line in t.splitlines()
            if ":arrows_counterclockwise:" in line]


def opened_from_the_form(sandbox: Sandbox) -> tuple[int, int]:
    number = sandbox.github_open_issue("alice", "Cart totals wrong", FORM, ["incident"])
    return number, run_triggered_workflows(sandbox, 0)


# -- who made the change ---------------------------------------------------------------------
def test_a_close_and_a_reopen_on_github_are_credited_to_who_made_them(
        sandbox: Sandbox) -> None:
    number, seen = opened_from_the_form(sandbox)
    sandbox.github_set_state("carol", number, "closed")
    seen = run_triggered_workflows(sandbox, seen)
    sandbox.github_set_state("dan", number, "open")
    run_triggered_workflows(sandbox, seen)
    assert changes(sandbox, number) == [
        ":arrows_counterclockwise: Carol Example changed status *open* → *closed* (via GitHub)",
        ":arrows_counterclockwise: Dan Example changed status *closed* → *investigating* "
        "(via GitHub)"]


def test_the_last_label_added_does_not_make_its_author_the_closer(sandbox: Sandbox) -> None:
    number, seen = opened_from_the_form(sandbox)
    sandbox.github_relabel("bob", number, add=["service:payments"])
    seen = run_triggered_workflows(sandbox, seen)
    sandbox.github_set_state("carol", number, "closed")
    seen = run_triggered_workflows(sandbox, seen)
    sandbox.github_set_state("carol", number, "open")
    run_triggered_workflows(sandbox, seen)
    assert [line.split(" changed ")[0].split(": ", 1)[-1] for line in changes(sandbox, number)] \
        == ["Bob Example", "Carol Example", "Carol Example"]
    assert "Bob Example changed services *Checkout* → *Checkout, Payments API*" in changes(
        sandbox, number)[0]  # names, as the topic and the announcement say them


def test_each_change_of_one_sync_names_its_own_author(sandbox: Sandbox) -> None:
    number, seen = opened_from_the_form(sandbox)
    sandbox.github_relabel("bob", number, add=["status:fixing"], remove=["status:open"])
    sandbox.github_relabel("carol", number, add=["sev:2"], remove=["sev:3"])
    sandbox.github_relabel("dan", number, remove=["service:checkout"])
    run_triggered_workflows(sandbox, seen)
    assert said(sandbox, number)[-1] == (  # one message, a line for each of them
        ":arrows_counterclockwise: Bob Example changed status *open* → *fixing* (via GitHub)\n"
        ":arrows_counterclockwise: Carol Example changed severity *SEV3* → *SEV2* (via GitHub)\n"
        ":arrows_counterclockwise: Dan Example changed services *Checkout* → *—* (via GitHub)")


# -- the label picker adds without removing --------------------------------------------------
def test_a_status_added_beside_the_old_one_wins_and_the_old_one_goes(
        sandbox: Sandbox) -> None:
    number, seen = opened_from_the_form(sandbox)
    sandbox.github_relabel("alice", number, add=["status:fixing"])
    sandbox.clear_calls()
    run_triggered_workflows(sandbox, seen)
    assert {x for x in labels(sandbox, number) if x.startswith("status:")} == {"status:fixing"}
    assert changes(sandbox, number)[-1] == (
        ":arrows_counterclockwise: Alice Example changed status *open* → *fixing* (via GitHub)")
    writes = [x.operation for x in sandbox.calls_to("github")
              if "labels" in x.operation or x.operation.startswith("PATCH /repos/{owner}"
                                                                    "/{repo}/issues/{")]
    assert len([w for w in writes if "comments" not in w]) == 1, writes  # one labels write


def test_a_severity_added_beside_the_old_one_wins(sandbox: Sandbox) -> None:
    number, seen = opened_from_the_form(sandbox)
    sandbox.github_relabel("alice", number, add=["sev:4"])
    run_triggered_workflows(sandbox, seen)
    assert "sev:4" in labels(sandbox, number) and "sev:3" not in labels(sandbox, number)
    assert changes(sandbox, number)[-1] == (
        ":arrows_counterclockwise: Alice Example changed severity *SEV3* → *SEV4* (via GitHub)")


def test_a_settled_incident_costs_no_more_for_the_conflict_rule(sandbox: Sandbox) -> None:
    number, seen = opened_from_the_form(sandbox)
    sandbox.github_relabel("alice", number, add=["status:fixing"])
    run_triggered_workflows(sandbox, seen)
    c = connections(sandbox)
    sandbox.clear_calls()
    assert sync.sync(c.tracker, c.chat, c.pager, CONFIG, number).done == []
    assert sandbox.calls_to("slack") == []
    assert len(sandbox.calls_to("github")) <= 2


# -- labels agree with the issue --------------------------------------------------------------
def test_a_close_on_github_labels_the_issue_closed_and_a_reopen_investigating(
        sandbox: Sandbox) -> None:
    number, seen = opened_from_the_form(sandbox)
    sandbox.github_set_state("carol", number, "closed")
    seen = run_triggered_workflows(sandbox, seen)
    assert {x for x in labels(sandbox, number) if x.startswith("status:")} == {"status:closed"}
    sandbox.github_set_state("dan", number, "open")
    run_triggered_workflows(sandbox, seen)
    assert {x for x in labels(sandbox, number) if x.startswith("status:")} == {
        "status:investigating"}


def test_an_incident_labelled_by_hand_gets_a_status_label(sandbox: Sandbox) -> None:
    number = sandbox.github_open_issue("alice", "Search is slow", "p99 at 4 s",
                                       ["incident", "sev:3"])
    run_triggered_workflows(sandbox, 0)
    assert labels(sandbox, number) == {"incident", "sev:3", "status:open"}


# -- what people read ---------------------------------------------------------------------------
def test_after_a_reopen_the_announcement_says_the_status_once(sandbox: Sandbox) -> None:
    number, seen = opened_from_the_form(sandbox)
    sandbox.github_set_state("carol", number, "closed")
    seen = run_triggered_workflows(sandbox, seen)
    sandbox.github_set_state("dan", number, "open")
    run_triggered_workflows(sandbox, seen)
    incidents = sandbox.slack.channel_by_name("incidents")
    assert incidents is not None
    text = next(m["text"] for m in sandbox.slack.messages(incidents["id"])
                if "incident:*" in m["text"])  # edited in place
    assert "Status: *investigating* ·" in text and "(investigating)" not in text


def test_the_topic_names_the_commander_and_a_later_sync_leaves_it(sandbox: Sandbox) -> None:
    from incidentbot.operations import incidents as operations
    from incidentbot.sandbox.slack_api import ALICE, BOB, CAROL

    c = connections(sandbox)
    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=2,
                                        services=["checkout"], reporter=ALICE)
    for role, who in (("tech", "@bob"), ("commander", "@carol")):
        operations.update_incident(c, issue.number,
                                   operations.change_from_options(CONFIG, roles={role: who}))
    ours = [ch for ch in sandbox.slack.state.channels.values()
            if f"#{issue.number}" in ch["purpose"]["value"]]
    assert f"Incident commander: <@{CAROL}>" in ours[0]["topic"]["value"]
    assert BOB not in ours[0]["topic"]["value"]
    other = connections(sandbox)  # another process, reading the card as stored
    sandbox.github_comment("dan", issue.number, "Still failing for EU customers.")
    sandbox.clear_calls()
    sync.sync(other.tracker, other.chat, other.pager, CONFIG, issue.number)
    assert sandbox.calls_to("slack", "conversations.setTopic") == []
