"""Postmortems from a scripted incident on the sandbox: golden file, kept edits, safe Markdown."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import CONFIG, FakeClock, connections

from incidentbot.core.commands import Change
from incidentbot.core.errors import InvalidInput
from incidentbot.core.model import Status
from incidentbot.core.snapshot import Attribution
from incidentbot.operations import incidents as operations
from incidentbot.operations import postmortem, reading, sync
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE, BOB, CAROL

GOLDEN = Path(__file__).parent / "golden" / "postmortem-sev2.md"
T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
BRANCH = "postmortem/"


@pytest.fixture
def clock(sandbox: Sandbox) -> FakeClock:
    return FakeClock(sandbox, T0)


@pytest.fixture
def c(sandbox: Sandbox, clock: FakeClock) -> operations.Connections:
    return connections(sandbox, clock=lambda: clock.now)


LONG = "Rollback plan: " + " ".join(f"step {i} drain node-{i} then verify;" for i in range(60))
SPECIAL = "# not a heading *bold* _x_ [link](http://evil.example) | pipe <b>tag</b> `code` \\"


def script(c: operations.Connections, sandbox: Sandbox, clock: FakeClock) -> tuple[int, str]:
    """A SEV2 incident from open to postmortem, with a busy channel."""
    issue, outcome = operations.open_incident(
        c, title="Checkout returns 502 | for *some* users", severity=2, services=["checkout"],
        description="Errors on /checkout since 14:00.", reporter=ALICE,
        by=Attribution(ALICE, "Slack"), request_id="pm-1")
    number = issue.number
    assert outcome.card is not None and outcome.card.channel_id is not None
    channel = outcome.card.channel_id
    with sandbox._hub.lock:
        sandbox.slack.state.channels[channel]["members"].extend([BOB, CAROL])
    clock.at(3)
    first = sandbox.slack.post_as(BOB, channel, "Looking. Error rate 33% on `/checkout` :eyes:")
    clock.at(4)
    sandbox.slack.post_as(ALICE, channel, "Started after deploy 4411?", thread_ts=first)
    clock.at(4.5)
    sandbox.slack.post_as(CAROL, channel, "```\nERROR upstream timeout lb-2\n```",
                          thread_ts=first)
    clock.at(6)
    sandbox.github_relabel("bob", number, add=["status:fixing"], remove=["status:open"])
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, number, now=clock.now)
    clock.at(8)
    pinned = sandbox.slack.post_as(BOB, channel, "🔥 " + LONG)
    clock.at(9)
    sandbox.slack.pin_as(ALICE, channel, pinned)
    clock.at(10)
    marked = sandbox.slack.post_as(CAROL, channel, SPECIAL)
    sandbox.slack.react_as(BOB, channel, marked, "pushpin")
    clock.at(15)
    sandbox.github_comment("dan", number, "Customers confirm recovery.")
    clock.at(20)
    operations.update_incident(c, number, Change(status=Status.FIXED),
                               by=Attribution("carol", "CLI"))
    clock.at(30)
    operations.update_incident(c, number, Change(status=Status.POSTMORTEM),
                               by=Attribution("carol", "CLI"))
    name = reading.read(c.tracker, number, CONFIG).card.name
    return number, name


def committed(c: operations.Connections, name: str) -> str:
    found = c.tracker.read_file(f"incidents/2026-11/{name}.md", BRANCH + name)
    assert found is not None
    return found[0]


@pytest.fixture
def scripted(c: operations.Connections, sandbox: Sandbox,
             clock: FakeClock) -> Iterator[tuple[int, str]]:
    yield script(c, sandbox, clock)


def test_the_postmortem_matches_the_golden_file(c: operations.Connections,
                                                scripted: tuple[int, str]) -> None:
    _number, name = scripted
    text = committed(c, name)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_it_is_linked_everywhere_and_a_pull_request_is_open(
    c: operations.Connections, sandbox: Sandbox, scripted: tuple[int, str]
) -> None:
    number, name = scripted
    snap = reading.read(c.tracker, number, CONFIG)
    url = snap.card.postmortem_url
    assert url is not None and "/pull/" in url
    assert url in snap.card.bookmarks
    assert any("incidentbot:postmortem" in x.body and url in x.body for x in snap.comments)
    assert snap.card.effects["postmortem"].ok
    posted = [m["text"] for m in sandbox.slack.messages(snap.card.channel_id or "")]
    assert any(":memo: The postmortem is drafted" in t for t in posted)
    index = c.tracker.read_file("incidents/README.md", BRANCH + name)
    assert index is not None and f"[{name}](2026-11/{name}.md) | SEV2 | checkout |" in index[0]


def test_the_timeline_and_figures(c: operations.Connections,
                                  scripted: tuple[int, str]) -> None:
    _number, name = scripted
    text = committed(c, name)
    assert "| Time to acknowledge | 3m |" in text  # bob, three minutes in
    assert "| Time to mitigate (to fixed) | 20m |" in text  # from the opening, 14:00
    assert "| Time to resolve (to postmortem or closed) | 30m |" in text
    assert "Started after deploy" not in text  # thread replies are folded into the parent
    assert "_(+2 in thread)_" in text
    assert "★ **2026-11-20 14:08** (15:08 CET) · Bob Example (Slack): 🔥 Rollback plan" in text
    assert "joined" not in text


def test_slack_and_github_text_cannot_break_the_document(
    c: operations.Connections, scripted: tuple[int, str]
) -> None:
    _number, name = scripted
    text = committed(c, name)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == ["# Checkout returns 502 \\| for \\*some\\* users", "## Summary",
                        "## Impact", "## Key figures", "## Supporting graphs",
                        "## Detection", "## Timeline",
                        "## Recent changes", "## Trigger and contributing factors",
                        "## Resolution and recovery", "## Customer communication",
                        "## What went well", "## What went badly", "## Where we got lucky",
                        "## Lessons learned", "## Action items", "## Related incidents",
                        "## Links"]
    assert "\\# not a heading \\*bold\\* \\_x\\_ \\[link\\](http://evil.example)" in text
    assert "<b>" not in text
    timeline = text.split("<!-- incidentbot:begin timeline")[1]
    timeline = timeline.split("-->", 1)[1]
    timeline = timeline.split("<!-- incidentbot")[0]
    assert all(line.startswith("- ") for line in timeline.strip().splitlines())


def test_a_second_render_keeps_what_people_wrote_and_changes_nothing_else(
    c: operations.Connections, sandbox: Sandbox, scripted: tuple[int, str]
) -> None:
    number, name = scripted
    path = f"incidents/2026-11/{name}.md"
    text = committed(c, name)
    edited = text.replace(
        "**Trigger:** _the change or event that started it._",
        "**Trigger:** The lb-2 certificate expired; renewal alerts went to an old mailbox.")
    c.tracker.write_file(path, edited, "Root cause", BRANCH + name)
    facts = postmortem.gather(c.tracker, c.chat, CONFIG, number)
    again = postmortem.publish(c.tracker, CONFIG, facts)
    assert not again.changed  # no new events: the same bytes
    assert committed(c, name) == edited
    sandbox.github_comment("bob", number, "Follow-up: alerting fixed.")
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, number, postmortem=True)
    after = committed(c, name)
    assert "renewal alerts went to an old mailbox" in after
    assert "Follow-up: alerting fixed" in after


def test_action_items_become_followup_issues_once_after_merge(
    c: operations.Connections, scripted: tuple[int, str]
) -> None:
    number, name = scripted
    path = f"incidents/2026-11/{name}.md"
    text = committed(c, name).replace(
        "- [ ] _What — prevent — P1 — @owner — due YYYY-MM-DD_",
        "- [ ] Alert on certificate expiry — prevent — P1 — @bob — due 2026-12-01\n"
        "- [x] Renew the lb-2 certificate — @alice\n- [ ] Move alerts to the on-call inbox")
    with pytest.raises(InvalidInput, match="merge the review first"):
        postmortem.open_followups(c.tracker, CONFIG, number)
    c.tracker.write_file(path, text, "Merge the review", "main")
    first = postmortem.open_followups(c.tracker, CONFIG, number)
    again = postmortem.open_followups(c.tracker, CONFIG, number)
    assert len(first) == len(again) == 2
    followups = c.tracker.list_labelled("incident-followup")
    assert sorted(i.title for i in followups) == ["Alert on certificate expiry",
                                                  "Move alerts to the on-call inbox"]
    assert any("Due: 2026-12-01" in i.body and "Owner: @bob" in i.body
               and "Type: prevent" in i.body and "Priority: P1" in i.body for i in followups)


# -- the template ---------------------------------------------------------------------------
def _facts() -> postmortem.Facts:
    from incidentbot.core import timeline as tl
    from incidentbot.core.model import LabelFields

    built = tl.build(opened=T0, reporter="alice", events=[], messages=[], bots=[])
    return postmortem.Facts(1, "20261120-brave-otter", "T", "https://x/issues/1",
                            LabelFields(is_incident=True, severity=2), T0, None, {}, None,
                            None, built)


def test_an_undefined_variable_names_the_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "postmortem.md.j2").write_text("# {{ title }}\n\n{{ nope }}\n")
    with pytest.raises(InvalidInput, match=r"postmortem\.md\.j2:3: 'nope' is undefined"):
        postmortem.render(_facts(), CONFIG, root=tmp_path)


def test_a_template_cannot_reach_python(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "postmortem.md.j2").write_text(
        "{{ title.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(InvalidInput, match="unsafe"):
        postmortem.render(_facts(), CONFIG, root=tmp_path)


def test_rendering_is_deterministic() -> None:
    config = replace(CONFIG, timezone="UTC")
    assert postmortem.render(_facts(), config) == postmortem.render(_facts(), config)


def test_the_followups_command_reads_the_incident_from_the_front_matter(
    c: operations.Connections, sandbox: Sandbox, scripted: tuple[int, str],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from incidentbot.entrypoints.cli import main

    number, name = scripted
    path = f"incidents/2026-11/{name}.md"
    text = committed(c, name).replace("- [ ] _What — prevent — P1 — @owner — due YYYY-MM-DD_",
                                      "- [ ] Page the owner on certificate expiry — @bob")
    c.tracker.write_file(path, text, "Merge the review", "main")
    local = tmp_path / "merged.md"
    local.write_text(text)
    (tmp_path / "README.md").write_text("# index\n")
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["followups", str(local), str(tmp_path / "README.md")])
    assert result.exit_code == 0, result.output
    assert f"#{number}: #" in result.output and "Page the owner" in result.output


def test_an_action_item_reads_type_priority_owner_and_due_in_any_order() -> None:
    item = postmortem.action_item("Page on cert expiry — P0 — @bob — process — due 2026-12-01")
    assert item == postmortem.ActionItem("Page on cert expiry", "bob", "2026-12-01", "process",
                                         "P0")
    plain = postmortem.action_item("Rotate keys — the old ones — prevent")
    assert plain == postmortem.ActionItem("Rotate keys — the old ones", None, None, "prevent")


def test_followups_are_assigned_to_their_owner_and_a_bad_item_is_reported(
    c: operations.Connections, sandbox: Sandbox, scripted: tuple[int, str]
) -> None:
    number, name = scripted
    text = committed(c, name).replace(
        "- [ ] _What — prevent — P1 — @owner — due YYYY-MM-DD_",
        "- [ ] Alert on expiry — prevent — P1 — @bob — due 2026-12-01\n"
        "- [ ] Runbook @here <!channel> — process — P9 — @nobodyxyz — due someday")
    c.tracker.write_file(f"incidents/2026-11/{name}.md", text, "Merge the review", "main")
    lines = postmortem.open_followups(c.tracker, CONFIG, number)
    good, bad = sorted(lines, key=lambda line: "Runbook" in line)
    assert "warning" not in good
    assert "priority 'P9' is not one of P0, P1, P2, P3" in bad
    assert "'due someday' is not a due date (due YYYY-MM-DD)" in bad
    assert "@nobodyxyz could not be assigned" in bad
    with sandbox._hub.lock:
        issues = {i.title: i for i in sandbox.github.store.issues.values()}
    assert issues["Alert on expiry"].assignees == ["bob"]
    runbook = next(i for t, i in issues.items() if t.startswith("Runbook"))
    assert runbook.assignees == [] and "Not understood" in (runbook.body or "")
    assert postmortem.open_followups(c.tracker, CONFIG, number) \
        == [f"{line.split(chr(10))[0]} (opened before)" for line in lines]


def test_the_followups_command_refuses_a_missing_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from incidentbot.entrypoints.cli import main

    result = CliRunner().invoke(main, ["followups", str(tmp_path / "nope.md")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_a_hand_correction_inside_a_generated_region_is_kept_and_said(
    c: operations.Connections, scripted: tuple[int, str]
) -> None:
    number, name = scripted
    path = f"incidents/2026-11/{name}.md"
    text = committed(c, name)
    start = text.index("<!-- incidentbot:begin impact")
    line = text.index("- Impact window:", start)
    edited = text[:line] + "- Impact window: 14:00 – 14:40 (bob: the LB logs say so)\n" + \
        text[line:].split("\n", 1)[1]
    c.tracker.write_file(path, edited, "Correct the impact", BRANCH + name)
    facts = postmortem.gather(c.tracker, c.chat, CONFIG, number)
    again = postmortem.publish(c.tracker, CONFIG, facts)
    assert "bob: the LB logs say so" in committed(c, name)
    assert again.kept == ("impact",) and "Kept as edited by hand" in again.notice
    assert postmortem.edited_regions(committed(c, name)) == ("impact",)
    # Emptied by the person: incidentbot fills it in again.
    emptied = re.sub(r"(<!-- incidentbot:begin impact \w+ -->\n).*?(<!-- incidentbot:end)",
                     r"\1\2", committed(c, name), flags=re.DOTALL)
    refilled = postmortem.merge(emptied, postmortem.render(facts, CONFIG))
    assert "bob: the LB logs" not in refilled and "- Impact window: " in refilled
    assert postmortem.edited_regions(refilled) == ()
