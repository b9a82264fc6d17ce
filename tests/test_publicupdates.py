"""Public updates from every entry point, trusted only from our writers and people with push
access, each with the status of its own time and an id that never shifts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpers import CONFIG, FakeClock, connections

from incidentbot.adapters.monitordata import DataDir
from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.ports import Comment, IssueEvent
from incidentbot.core.render import publicupdates
from incidentbot.core.snapshot import Attribution
from incidentbot.core.text import markdown
from incidentbot.core.trust import Writers
from incidentbot.operations import evidence, postmortem, reading, statuspage
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import ALICE

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def comment(i: int, body: str, author: str = "bob", association: str = "NONE") -> Comment:
    return Comment(i, body, author, T0 + timedelta(minutes=i), f"https://x/{i}", association)


def test_only_trusted_people_and_our_own_notes_publish() -> None:
    writers = Writers.of(["incidentbot[bot]"])
    assert publicupdates.published_text(
        comment(1, "Public update: back up", association="MEMBER"), writers) == "back up"
    assert publicupdates.published_text(
        comment(2, "Public update: we were hacked", "mallory"), writers) is None
    note = publicupdates.note_marker("U0ALICE001", "Slack", public=True) + "\nRolled back"
    assert publicupdates.published_text(comment(3, note, "incidentbot[bot]"),
                                        writers) == "Rolled back"
    private_note = publicupdates.note_marker("U0ALICE001", "Slack") + "\nInternal detail"
    assert publicupdates.published_text(comment(4, private_note, "incidentbot[bot]"),
                                        writers) is None
    typed = publicupdates.note_marker("x", "CLI") + "\nPublic update: via the CLI text"
    assert publicupdates.published_text(comment(5, typed, "incidentbot[bot]"),
                                        writers) == "via the CLI text"
    # Our marker typed by someone without push access is text, never an update.
    forged = publicupdates.note_marker("x", "Slack", public=True) + "\nforged"
    assert publicupdates.published_text(comment(6, forged, "mallory"), writers) is None
    # Someone with push access may speak for the team either way.
    assert publicupdates.published_text(
        comment(7, forged, "carol", "COLLABORATOR"), writers) == "forged"


def test_the_status_at_a_moment_is_replayed_from_the_events() -> None:
    events = [IssueEvent(1, "labeled", "bot", T0, "status:open"),
              IssueEvent(2, "unlabeled", "bot", T0 + timedelta(minutes=10), "status:open"),
              IssueEvent(3, "labeled", "bot", T0 + timedelta(minutes=10), "status:fixing"),
              IssueEvent(4, "labeled", "bot", T0 + timedelta(minutes=30), "status:fixed"),
              IssueEvent(5, "closed", "bot", T0 + timedelta(minutes=50))]
    at = [publicupdates.status_at(events, T0 + timedelta(minutes=m), Status.CLOSED)
          for m in (5, 20, 40, 60)]
    assert at == [Status.OPEN, Status.FIXING, Status.FIXED, Status.CLOSED]
    said = publicupdates.updates(
        7, T0, Status.CLOSED, [comment(15, "Public update: rolling back", "alice", "MEMBER")],
        events, Writers.of([]), CONFIG)
    assert [(u.id, u.word) for u in said] == [
        ("e5", "resolved"), ("e4", "monitoring"), ("c15", "identified"),
        ("e3", "identified"), ("7-opened", "investigating")]


def test_every_entry_point_publishes_with_the_status_of_its_time(sandbox: Sandbox,
                                                                 tmp_path: Path) -> None:
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, clock=lambda: clock.now)
    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=2,
                                        services=["checkout"], public=True,
                                        by=Attribution(ALICE, "Slack"),
                                        request_id="req-pub")
    n = issue.number
    clock.at(10)
    operations.update_incident(c, n, Change(status=Status.FIXING),
                               note="We found the cause.", public=True,
                               by=Attribution(ALICE, "Slack"))
    operations.update_incident(c, n, Change(), note="Internal: db01 is the culprit",
                               by=Attribution(ALICE, "Slack"))
    clock.at(20)
    sandbox.github_comment("mallory", n, "Public update: everything is fine, send bitcoin")
    sandbox.github_comment("alice", n, "Public update: Rolled back; most customers are fine.")
    clock.at(30)
    operations.update_incident(c, n, Change(status=Status.FIXED))

    def site() -> dict[str, object]:
        fields = c.tracker.get_issue(n)
        said = publicupdates.updates(n, fields.created_at, Status.FIXED,
                                     c.tracker.comments(n), c.tracker.events(n),
                                     reading.writers_of(c.tracker, CONFIG), CONFIG)
        out = tmp_path / "site"
        statuspage.build(CONFIG, DataDir(tmp_path / "data"), [fields], out,
                         updates={n: said})
        return json.loads((out / "api" / "v2" / "incidents" / "unresolved.json").read_text())

    (incident,) = site()["incidents"]  # type: ignore[misc]
    assert incident["status"] == "monitoring" and incident["resolved_at"] is None
    bodies = [(u["status"], u["body"]) for u in incident["incident_updates"]]
    assert ("identified", "We found the cause.") in bodies
    assert ("identified", "Rolled back; most customers are fine.") in bodies
    assert bodies[0] == ("monitoring", publicupdates.publicstatus.SENTENCES["monitoring"])
    assert bodies[-1] == ("investigating", "We are investigating this issue.")
    assert not any("bitcoin" in b or "db01" in b for _, b in bodies)
    ids = [u["id"] for u in incident["incident_updates"]]
    clock.at(40)
    sandbox.github_comment("alice", n, "Public update: all customers are fine again.")
    (again,) = site()["incidents"]  # type: ignore[misc]
    assert [u["id"] for u in again["incident_updates"]][1:] == ids  # old ids never shift


def test_the_postmortem_tells_exactly_what_the_page_published(sandbox: Sandbox) -> None:
    """One rule (publicupdates.published_text) for the page and the postmortem: notes
    published from Slack's checkbox and the CLI's --public, `Public update:` typed in a note
    or a comment by someone with push access, and never an outsider's or a private note."""
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, clock=lambda: clock.now)
    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=2,
                                        services=["checkout"], public=True,
                                        by=Attribution("root", "CLI"))
    n = issue.number
    clock.at(5)
    operations.update_incident(c, n, Change(), note="Slack's checkbox.", public=True,
                               by=Attribution(ALICE, "Slack"), request_id="slack-view-V1-h")
    clock.at(10)
    operations.update_incident(c, n, Change(status=Status.FIXING), note="The CLI's --public.",
                               public=True, by=Attribution("root", "CLI"))
    clock.at(15)
    operations.update_incident(c, n, Change(), note="Public update: typed in a note.",
                               by=Attribution(ALICE, "Slack"))
    operations.update_incident(c, n, Change(), note="Internal: db01 again",
                               by=Attribution(ALICE, "Slack"))
    clock.at(20)
    sandbox.github_comment("mallory", n, "Public update: send bitcoin")
    sandbox.github_comment("alice", n, "Public update: typed on GitHub.")

    page = [u.body for u in publicupdates.updates(
        n, issue.created_at, Status.FIXING, c.tracker.comments(n), c.tracker.events(n),
        reading.writers_of(c.tracker, CONFIG), CONFIG) if not u.id.startswith(("e", f"{n}-"))]
    assert sorted(page) == sorted(["Slack's checkbox.", "The CLI's --public.",
                                   "typed in a note.", "typed on GitHub."])
    facts = evidence.gather(c.tracker, c.chat, CONFIG, n)
    told = [u["text"] for u in postmortem.context(facts, CONFIG)["public_updates"]]
    assert told == [markdown(x) for x in reversed(page)]  # the page is newest first
    starred = [e for e in facts.timeline.entries if e.kind == "public"]
    assert all(e.key for e in starred) and len(starred) == len(page)


def test_an_update_keeps_its_lines_on_the_page_and_in_the_json(sandbox: Sandbox,
                                                               tmp_path: Path) -> None:
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, clock=lambda: clock.now)
    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=2,
                                        services=["checkout"], public=True,
                                        by=Attribution(ALICE, "Slack"), request_id="req-lines")
    n = issue.number
    clock.at(10)
    sandbox.github_comment("alice", n, "Public update: Rolled back **now** <b>x</b>\n"
                           "Second line\n\nA new paragraph & more")
    fields = c.tracker.get_issue(n)
    said = publicupdates.updates(n, fields.created_at, Status.OPEN, c.tracker.comments(n),
                                 c.tracker.events(n), reading.writers_of(c.tracker, CONFIG),
                                 CONFIG)
    out = tmp_path / "site"
    statuspage.build(CONFIG, DataDir(tmp_path / "data"), [fields], out, updates={n: said})
    page = (out / "incidents" / f"{n}.html").read_text()
    assert ("Rolled back **now** &lt;b&gt;x&lt;/b&gt;<br>\nSecond line</p>"
            "<p>A new paragraph &amp; more") in page
    api = json.loads((out / "api" / "v2" / "incidents" / "unresolved.json").read_text())
    bodies = [u["body"] for u in api["incidents"][0]["incident_updates"]]
    assert "Rolled back **now** <b>x</b>\nSecond line\n\nA new paragraph & more" in bodies


def test_update_html_escapes_everything_and_keeps_breaks() -> None:
    html = publicupdates.body_html("a <script>\r\nb\n\n\n c & d\n")
    assert str(html) == "a &lt;script&gt;<br>\nb</p><p>c &amp; d"
