"""The GitHub record of what people did elsewhere: who wrote a note and from where, by name;
role changes as commands people can read; every command of a comment run; the CLI's changes
credited to the GitHub login, not the computer's user."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import CONFIG, connections, connections_as

from incidentbot.core import commands, facts, markers
from incidentbot.core.model import read_labels
from incidentbot.core.render import views
from incidentbot.core.snapshot import Attribution
from incidentbot.entrypoints.cli import main
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import evidence, reading, sync
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_api import BOB
from incidentbot.sandbox.slack_requests import SlackRequests, open_values

ROOT = Path(__file__).resolve().parent.parent
ZWSP = "\u200b"
CAROL = "U0CAROL001"


def _send(d: Dispatcher, request: object) -> None:
    d.handle(request.path, request.headers, request.body)  # type: ignore[attr-defined]
    d.drain()


def _bodies(sandbox: Sandbox, number: int) -> list[str]:
    store = sandbox.github.store
    return [c.body for c in store.comments_of(store.issues[number])]


def _labels(sandbox: Sandbox, number: int) -> set[str]:
    store = sandbox.github.store
    return {store.labels[i].name for i in store.issues[number].labels}


def test_a_note_from_slack_names_its_author_and_pings_no_one_on_github(
        disp: Dispatcher, sandbox: Sandbox) -> None:
    s = SlackRequests(sandbox.slack, sandbox.url, DEFAULTS["SLACK_SIGNING_SECRET"])
    _send(disp, s.command("open Cert expired"))
    _send(disp, s.view_submission(next(iter(sandbox.slack.views.values())),
                                  open_values("Cert expired", 2)))
    number = max(sandbox.github.store.issues)
    channel = next(c for c in sandbox.slack.state.channels.values()
                   if c["name"].startswith("inc-"))
    _send(disp, s.command("update", channel=channel["id"], channel_name=channel["name"]))
    view = next(v for v in sandbox.slack.views.values()
                if v["callback_id"] == views.UPDATE_CALLBACK)
    typed = "Cert renewed <!channel> @bob, see alice@example.com"
    values = {"note": {"value": {"type": "plain_text_input", "value": typed}}}
    _send(disp, s.view_submission(view, values, view_id="V0UPDATE02"))
    note = next(b for b in _bodies(sandbox, number) if b.startswith(markers.NOTE))
    head, _, shown = note.partition("-->\n")
    assert head.split()[2:4] == ["U0ALICE001", "Slack"]  # the marker keeps the reference
    # Seen on GitHub: who and from where, by name; the text as typed, but `@bob` is no
    # mention (a zero-width space after `@`) and `<!channel>` is no HTML GitHub would hide.
    assert shown.startswith("**Alice Example** (via Slack):\n\n")
    assert f"@{ZWSP}bob" in shown and "@bob" not in shown
    assert f"<{ZWSP}!channel>" in shown and "alice@example.com" in shown
    # Everyone who reads it back gets what was typed: the channel, the postmortem.
    said = [m["text"] for m in sandbox.slack.messages(channel["id"])]
    assert any("Cert renewed &lt;!channel&gt; @bob" in t for t in said), said
    assert not any(ZWSP in t or "Alice Example** (via" in t for t in said)
    c = connections(sandbox)
    found = evidence.gather(c.tracker, c.chat, CONFIG, number)
    assert any(e.text == typed and e.who == "Alice Example" for e in found.timeline.entries), \
        found.timeline.entries


def test_a_role_set_from_slack_reads_as_a_command_with_the_login_that_pings_no_one(
        disp: Dispatcher, sandbox: Sandbox) -> None:
    c = connections(sandbox)
    issue, _ = operations.open_incident(c, title="Search is slow", severity=3)
    operations.update_incident(c, issue.number, commands.Change(
        roles={"commander": CAROL, "tech": BOB}), by=Attribution("U0ALICE001", "Slack"),
        request_id="r1")
    written = [b for b in _bodies(sandbox, issue.number) if b.startswith(markers.COMMAND)]
    visible = sorted(b.partition("-->\n")[2] for b in written)
    # The login is quiet (a zero-width space after `@`): GitHub notifies nobody.
    assert visible == [f"/role commander @{ZWSP}carol\n\n— **Alice Example** (via Slack)",
                       f"/role tech @{ZWSP}bob\n\n— **Alice Example** (via Slack)"]
    # Still commands that run, for the same people: a card rebuilt from the issue agrees.
    assert reading.read(c.tracker, issue.number, CONFIG).card.roles == {
        "commander": CAROL, "tech": BOB}
    for b in written:
        found = markers.signed(b, markers.COMMAND)
        assert found is not None and found.author == "U0ALICE001"
        assert [commands.parse(x, CONFIG).roles for x in commands.command_lines(found.text)]


def test_every_command_in_a_comment_runs_in_order(sandbox: Sandbox) -> None:
    c = connections(sandbox)
    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=3)
    # Two lines that set the same thing: only running them in order leaves `fixed`.
    sandbox.github_comment("bob", issue.number,
                           "/sev 1\n/status fixing\n/status fixed\nrolled back the deploy")
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, issue.number)
    labels = _labels(sandbox, issue.number)
    assert {"sev:1", "status:fixed"} <= labels and "status:fixing" not in labels
    # Run once: a later run does nothing again.
    sandbox.github_relabel("bob", issue.number, add=["status:fixing"], remove=["status:fixed"])
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, issue.number)
    assert "status:fixing" in _labels(sandbox, issue.number)


def test_a_bad_command_anywhere_in_a_comment_changes_nothing_and_is_named(
        sandbox: Sandbox) -> None:
    c = connections(sandbox)
    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=3)
    sandbox.github_comment("bob", issue.number, "/sev 1\n/status sideways")
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, issue.number)
    fields = read_labels(sorted(_labels(sandbox, issue.number)), CONFIG.severities)
    assert fields.severity == 3 and fields.status.value == "open"
    reply = [b for b in _bodies(sandbox, issue.number) if b.startswith("<!-- incidentbot:reply")]
    assert len(reply) == 1
    assert "> /status sideways" in reply[0] and "Nothing in this comment was run" in reply[0]


def test_an_outsider_quoted_in_a_refusal_pings_no_one(sandbox: Sandbox) -> None:
    c = connections(sandbox)
    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=3)
    sandbox.github_comment("mallory", issue.number, "/role commander @bob")
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, issue.number)
    reply = next(b for b in _bodies(sandbox, issue.number)
                 if b.startswith("<!-- incidentbot:reply"))
    assert f"> /role commander @{ZWSP}bob" in reply and "cannot run incident commands" in reply


def _cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, identity: str, *args: str,
         **env: str) -> str:
    for name, value in {**sandbox.env(identity), "INCIDENTBOT_RETRY_BACKOFF": "0",
                        **env}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, [*args, "--config", str(ROOT / "incidentbot.yml")])
    assert result.exit_code == 0, result.output
    return result.output


def _said(sandbox: Sandbox) -> list[str]:
    channel = next(c for c in sandbox.slack.state.channels.values()
                   if c["name"].startswith("inc-"))
    return [m["text"] for m in sandbox.slack.messages(channel["id"])]


def test_the_cli_credits_the_token_owner_by_name_not_the_computer_user(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    _cli(sandbox, monkeypatch, "carol", "open", "--title", "Checkout returns 502")
    issue = sandbox.github.store.issues[1]
    assert "root" not in issue.body and "Reported by" not in issue.body  # GitHub shows carol
    c = connections(sandbox)
    snap = reading.read(c.tracker, 1, CONFIG)
    assert facts.opener(snap.issue, snap.fields, snap.writers) == facts.Opener("carol", "CLI")
    _cli(sandbox, monkeypatch, "carol", "update", "1", "--status", "fixing", "--note",
         "Rolled back")
    said = _said(sandbox)
    assert any("Carol Example changed status *open* → *fixing* (via CLI)" in t for t in said)
    assert not any("root" in t for t in said)
    note = next(b for b in _bodies(sandbox, 1) if b.startswith(markers.NOTE))
    assert note.startswith(f"{markers.NOTE} carol CLI -->\n**Carol Example** (via CLI):")
    # The postmortem counts her among the people involved, once.
    found = evidence.gather(c.tracker, c.chat, CONFIG, 1)
    assert found.timeline.figures.people == ("Carol Example",)


def test_in_actions_the_cli_credits_who_started_the_run(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    c = connections_as(sandbox, "carol")
    operations.open_incident(c, title="Checkout returns 502", severity=3,
                             by=Attribution("carol", "CLI"))
    sandbox.clear_calls()
    _cli(sandbox, monkeypatch, "actions", "update", "1", "--status", "fixing",
         GITHUB_ACTIONS="true", GITHUB_ACTOR="dan")
    assert any("Dan Example changed status *open* → *fixing* (via CLI)" in t
               for t in _said(sandbox))
    assert not [x for x in sandbox.calls if x.operation == "GET /user"]
    c = connections(sandbox)
    found = evidence.gather(c.tracker, c.chat, CONFIG, 1)
    assert "Dan Example" in found.timeline.figures.people


@pytest.mark.parametrize("typed", [
    "hi @bob and @org/team", "see https://medium.com/@x/post", "mail alice@example.com",
    "<!channel> <@U0BOB00001> <b>bold</b> a < b", "**Alice Example** (via Slack):\n\nquoted",
])
def test_a_note_reads_back_as_typed_whatever_it_says(typed: str) -> None:
    body = markers.note("U0ALICE001", "Slack", typed, "k1", shown="Ann *the* @lead")
    assert "@lead" not in body and "@bob" not in body  # no mention on GitHub
    assert markers.signed(body, markers.NOTE) == markers.Signed("U0ALICE001", "Slack", typed)
    assert markers.key_of(body) == "k1"
