"""Who the postmortem's timeline credits: a person using the CLI with their own token, and
nobody for an outsider's comment (trust follows access, as on the status page)."""

from __future__ import annotations

from datetime import UTC, datetime

from helpers import CONFIG, FakeClock, connections_as

from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import evidence, postmortem
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def cli_incident(sandbox: Sandbox) -> tuple[operations.Connections, FakeClock, int]:
    """Alice opens a public incident and writes notes with the CLI and her own token."""
    clock = FakeClock(sandbox, T0)
    c = connections_as(sandbox, "alice", INCIDENTBOT_GITHUB_LOGIN="alice")
    c = operations.Connections(c.tracker, c.chat, c.pager, c.config, lambda: clock.now)
    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=2,
                                        services=["checkout"], public=True,
                                        by=Attribution("alice", "CLI"), request_id="cli-1")
    clock.at(5)
    operations.update_incident(c, issue.number, Change(), note="later note after edits",
                               by=Attribution("alice", "CLI"))
    clock.at(6)
    operations.update_incident(c, issue.number, Change(status=Status.FIXED),
                               note="Fix deployed; watching", public=True,
                               by=Attribution("alice", "CLI"))
    return c, clock, issue.number


def test_a_cli_user_with_her_own_token_is_credited_for_everything_she_did(
    sandbox: Sandbox,
) -> None:
    c, _, number = cli_incident(sandbox)
    facts = evidence.gather(c.tracker, c.chat, CONFIG, number)  # read with her token too
    seen = {(e.who, e.source, e.text) for e in facts.timeline.entries}
    assert ("Alice Example", "CLI", "Incident opened") in seen
    assert ("Alice Example", "CLI", "later note after edits") in seen
    assert ("Alice Example", "CLI", "Public update: Fix deployed; watching") in seen
    assert facts.timeline.figures.people == ("Alice Example",)
    text = postmortem.render(facts, CONFIG)
    assert "· Alice Example (CLI): later note after edits" in text


def test_an_outsiders_public_update_is_only_their_comment(sandbox: Sandbox) -> None:
    c, clock, number = cli_incident(sandbox)
    clock.at(7)
    sandbox.github_comment("mallory", number, "Public update: FAKE: we got hacked, send bitcoin")
    sandbox.github_comment("mallory", number, "/status closed")
    facts = evidence.gather(c.tracker, c.chat, CONFIG, number)
    fake = [e for e in facts.timeline.entries if "mallory" in e.who]
    assert [(e.kind, e.key) for e in fake] == [("outside", False)]  # the command is left out
    assert "mallory" not in facts.timeline.figures.people
    text = postmortem.render(facts, CONFIG)
    assert "· mallory (GitHub, outside the team): Public update: FAKE" in text
    assert "★ **" not in text.split("FAKE")[0].rsplit("\n", 1)[1]
    communication = text.split("incidentbot:begin communication")[1]
    assert "FAKE" not in communication.split("incidentbot:end communication")[0]
