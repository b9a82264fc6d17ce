"""The planner as a pure function, and the reconciler on in-memory fakes of its ports.

No server and no HTTP here: `plan()` reads a `Snapshot` built from records, and `sync()` runs
against `fakes.FakeTracker` / `FakeChat` / `FakePager`. The sandbox tests (test_sync.py and
the others) check the same flows through the real clients; these check the decisions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fakes import T0, FakeChat, FakePager, FakeTracker
from helpers import CONFIG

from incidentbot.core import model
from incidentbot.core.errors import ServiceError
from incidentbot.core.model import LabelFields, Status
from incidentbot.core.plan import plan
from incidentbot.core.ports import LabelEvent
from incidentbot.core.snapshot import Attribution, Plan, Snapshot, snapshot_of
from incidentbot.core.trust import Writers
from incidentbot.operations import reading, sync

REPO = "acme/incidents"
WRITERS = Writers.of(CONFIG.github.writers, "incidentbot[bot]")


def labels(severity: int = 2, status: Status = Status.OPEN,
           services: tuple[str, ...] = ("checkout",)) -> list[str]:
    fields = LabelFields(status=status, severity=severity, services=services)
    return ["incident", *sorted(model.labels_for(fields, CONFIG.severities))]


def fresh(severity: int = 2) -> Snapshot:
    tracker = FakeTracker(REPO)
    issue = tracker.add_issue("Checkout returns 502", labels(severity))
    return snapshot_of(issue, [], WRITERS, CONFIG, REPO)


def planned(snapshot: Snapshot, **kwargs: Any) -> Plan:
    return plan(snapshot, CONFIG, repository=REPO, now=T0, **kwargs)


def kinds(p: Plan) -> list[tuple[str, str]]:
    return [(a.kind, a.effect) for a in p.actions]


# -- the planner, pure -------------------------------------------------------------------------
def test_a_new_incident_plans_its_channel_first_then_tells_everyone() -> None:
    p = planned(fresh())
    assert kinds(p)[0] == ("create_channel", "channel")
    assert p.actions[0].text == "inc-20261130-modest-orca"
    announce = [a for a in p.actions if a.effect == "announcement #incidents"]
    assert [a.key for a in announce] == [f"announce:#incidents:{REPO}#1"]
    assert "Checkout returns 502" in announce[0].text
    assert ("page", "paging") in kinds(p)  # SEV2 pages (incidentbot.yml)


def test_severity_decides_paging_and_extra_announcements() -> None:
    sev4 = kinds(planned(fresh(severity=4)))
    sev1 = planned(fresh(severity=1))
    assert ("page", "paging") not in sev4
    assert {a.effect for a in sev1.actions} >= {"announcement #incidents",
                                                "announcement #general", "paging"}


def test_planning_is_pure_same_input_same_plan() -> None:
    snapshot = fresh()
    before = replace(snapshot.card)
    assert planned(snapshot).actions == planned(snapshot).actions
    assert snapshot.card == before


def test_untrusted_text_reaches_the_plan_escaped() -> None:
    tracker = FakeTracker(REPO)
    issue = tracker.add_issue("<!channel> *boom* <https://evil|click>", labels())
    p = planned(snapshot_of(issue, [], WRITERS, CONFIG, REPO))
    texts = " ".join(a.text for a in p.actions if a.kind == "post")
    assert "<!channel>" not in texts and "<https://evil|click>" not in texts


def told(snapshot: Snapshot, closed: bool = False) -> Snapshot:
    """`snapshot` as a later run sees it: the channel made and told what the labels say
    now; `closed`: the issue closed since."""
    f = snapshot.fields
    card = replace(snapshot.card, channel_id="C0CHANNEL1", channel_name="inc-x",
                   seen_status=f.status.value, seen_severity=f.severity,
                   seen_services=f.services, purpose_set=True)
    issue = replace(snapshot.issue, state="closed", closed_at=T0) if closed \
        else snapshot.issue
    return replace(snapshot, issue=issue, card=card,
                   fields=replace(f, status=Status.CLOSED) if closed else f)


def event(n: int, action: str, actor: str, label: str = "") -> LabelEvent:
    return LabelEvent(id=n, action=action, label=label, actor=actor, created_at=T0)


def change_texts(p: Plan) -> list[str]:
    return [a.text for a in p.actions if ":arrows_counterclockwise:" in a.text]


def test_a_close_is_credited_to_who_closed_not_to_who_labelled_last() -> None:
    snapshot = told(fresh(), closed=True)
    snapshot.events = [event(1, "labeled", "bob", "service:checkout"),
                       event(2, "closed", "carol"),
                       event(3, "labeled", "incidentbot[bot]", "status:closed")]
    [text] = change_texts(planned(snapshot))
    assert text.startswith(
        ":arrows_counterclockwise: Carol Example changed status *open* → *closed*")


def test_a_reopen_is_credited_to_who_reopened() -> None:
    closed = told(fresh(), closed=True)
    reopened = replace(closed, issue=replace(closed.issue, state="open", closed_at=None),
                       fields=replace(closed.fields, status=Status.INVESTIGATING),
                       card=replace(closed.card, seen_status="closed"))
    reopened.events = [event(1, "closed", "carol"), event(2, "reopened", "dan"),
                       event(3, "labeled", "bob", "public")]
    [text] = change_texts(planned(reopened))
    assert "Dan Example changed status *closed* → *investigating*" in text


def test_each_change_names_the_person_whose_label_made_it() -> None:
    before = told(fresh())
    after = replace(before, fields=replace(before.fields, status=Status.FIXING, severity=3,
                                           services=("checkout", "payments")))
    after.events = [event(1, "labeled", "bob", "status:fixing"),
                    event(2, "labeled", "carol", "sev:3"),
                    event(3, "labeled", "dan", "service:payments"),
                    event(4, "unlabeled", "incidentbot[bot]", "status:open")]
    [text] = change_texts(planned(after))
    assert text.splitlines() == [
        ":arrows_counterclockwise: Bob Example changed status *open* → *fixing* (via GitHub)",
        ":arrows_counterclockwise: Carol Example changed severity *SEV2* → *SEV3* (via GitHub)",
        ":arrows_counterclockwise: Dan Example changed services *Checkout* → "
        "*Checkout, Payments API* (via GitHub)"]
    # Where no event says who, nobody is guessed; a change from Slack names its author.
    after.events = []
    assert "someone changed status" in change_texts(planned(after))[0]
    by_slack = change_texts(planned(after, attribution=Attribution("U0ALICE001", "Slack")))
    assert by_slack[0].count("<@U0ALICE001>") == 1


def test_the_topic_names_the_commander_whatever_order_the_roles_came_in() -> None:
    snapshot = fresh()
    topics = set()
    for roles in ({"tech": "U0BOB00001", "commander": "U0CAROL001"},
                  {"commander": "U0CAROL001", "tech": "U0BOB00001"}):
        p = planned(replace(snapshot, card=replace(snapshot.card, roles=roles)))
        topics |= {a.text for a in p.actions if a.kind == "topic"}
    [topic] = topics
    assert "Incident commander: <@U0CAROL001>" in topic and "U0BOB00001" not in topic


def test_the_announcement_says_a_status_once_when_the_public_word_is_the_same() -> None:
    snapshot = fresh()
    investigating = replace(snapshot, fields=replace(snapshot.fields,
                                                     status=Status.INVESTIGATING))
    [text] = [a.text for a in planned(investigating).actions
              if a.effect == "announcement #incidents"]
    assert "Status: *investigating* ·" in text
    [text] = [a.text for a in planned(snapshot).actions if a.effect == "announcement #incidents"]
    assert "Status: *open* (investigating) ·" in text


# -- the reconciler on in-memory ports -------------------------------------------------------
@pytest.fixture
def ports() -> tuple[FakeTracker, FakeChat, FakePager]:
    return FakeTracker(REPO), FakeChat(["incidents", "general"]), FakePager()


def test_sync_provisions_once_and_a_second_run_writes_nothing(
        ports: tuple[FakeTracker, FakeChat, FakePager]) -> None:
    tracker, chat, pager = ports
    tracker.add_issue("Checkout returns 502", labels())
    first = sync.sync(tracker, chat, pager, CONFIG, 1, now=T0)
    assert first.ok, first.failed
    assert chat.by_name("inc-20261130-modest-orca") is not None
    assert len(chat.texts("incidents")) == 1
    assert pager.alerts == {f"{REPO}#1": "triggered"}
    tracker.calls.clear()
    chat.calls.clear()
    second = sync.sync(tracker, chat, pager, CONFIG, 1, now=T0)
    assert second.ok and second.done == []
    assert chat.calls == {}  # Slack is not even read
    assert not {"comment", "edit_comment", "create_ref"} & set(tracker.calls)  # no lease taken
    assert planned(reading.read(tracker, 1, CONFIG)).actions == []


def test_a_status_change_is_told_once_and_the_close_resolves_the_page(
        ports: tuple[FakeTracker, FakeChat, FakePager]) -> None:
    tracker, chat, pager = ports
    tracker.add_issue("Checkout returns 502", labels())
    sync.sync(tracker, chat, pager, CONFIG, 1, now=T0)
    tracker.update_issue(1, labels=labels(status=Status.FIXING))
    by = Attribution("alice", "GitHub")
    changed = sync.sync(tracker, chat, pager, CONFIG, 1, now=T0, attribution=by)
    assert changed.ok, changed.failed
    channel = chat.texts("inc-20261130-modest-orca")
    assert sum("fixing" in t for t in channel) == 1
    sync.sync(tracker, chat, pager, CONFIG, 1, now=T0, attribution=by)
    assert chat.texts("inc-20261130-modest-orca") == channel  # nothing said twice
    tracker.update_issue(1, labels=labels(status=Status.CLOSED), state="closed")
    closed = sync.sync(tracker, chat, pager, CONFIG, 1, now=T0, attribution=by)
    assert closed.ok, closed.failed
    assert pager.alerts == {f"{REPO}#1": "resolved"}


def test_an_outsiders_command_changes_nothing_a_members_is_run_once(
        ports: tuple[FakeTracker, FakeChat, FakePager]) -> None:
    tracker, chat, pager = ports
    tracker.add_issue("Checkout returns 502", labels())
    sync.sync(tracker, chat, pager, CONFIG, 1, now=T0)
    tracker.comment(1, "/sev 1", author="mallory", association="NONE")
    sync.sync(tracker, chat, pager, CONFIG, 1, now=T0)
    assert "sev:2" in tracker.issues[1].labels
    tracker.comment(1, "/sev 1", author="alice", association="MEMBER")
    sync.sync(tracker, chat, pager, CONFIG, 1, now=T0)
    sync.sync(tracker, chat, pager, CONFIG, 1, now=T0)
    assert "sev:1" in tracker.issues[1].labels
    assert len(chat.texts("general")) == 1  # SEV1's extra announcement, once


class FlakyChat(FakeChat):
    """Slack failing the first `fail` posts, as during an outage of its API."""

    def __init__(self, fail: int) -> None:
        super().__init__(["incidents", "general"])
        self.fail = fail

    def post(self, channel: str, text: str, **kwargs: Any) -> Any:
        if self.fail:
            self.fail -= 1
            raise ServiceError("Slack", "internal_error")
        return super().post(channel, text, **kwargs)


def test_a_failed_post_is_named_and_the_next_run_finishes_it_once() -> None:
    tracker, chat, pager = FakeTracker(REPO), FlakyChat(fail=2), FakePager()
    tracker.add_issue("Checkout returns 502", labels())
    first = sync.sync(tracker, chat, pager, CONFIG, 1, now=T0)
    assert not first.ok and any("internal_error" in f for f in first.failed)
    assert chat.by_name("inc-20261130-modest-orca") is not None  # the rest went on
    again = sync.sync(tracker, chat, pager, CONFIG, 1, now=T0)
    assert again.ok, again.failed
    assert len(chat.texts("incidents")) == 1


@pytest.mark.parametrize("on_close", ["archive", "rename"])
def test_after_the_close_comments_reach_the_channel_only_if_it_was_kept(
        ports: tuple[FakeTracker, FakeChat, FakePager], on_close: str) -> None:
    """Archived by the close: a comment stays on GitHub (seen, settled); renamed: mirrored."""
    tracker, chat, pager = ports
    config = replace(CONFIG, slack=replace(CONFIG.slack, on_close=on_close))
    tracker.add_issue("Checkout returns 502", labels())
    sync.sync(tracker, chat, pager, config, 1, now=T0)
    tracker.update_issue(1, labels=labels(status=Status.CLOSED), state="closed")
    assert sync.sync(tracker, chat, pager, config, 1, now=T0).ok
    made = tracker.comment(1, "postmortem thoughts", author="bob", association="MEMBER")
    snapshot = reading.read(tracker, 1, config)
    p = plan(snapshot, config, repository=REPO, now=T0)
    assert p.card is not None and p.card.last_comment >= made.id
    if on_close == "archive":
        assert kinds(p) == [] and "kept on GitHub" in p.settled["comments"]
    else:
        assert kinds(p) == [("post", "comments")] and p.settled == {}
