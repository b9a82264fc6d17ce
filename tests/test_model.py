"""The status workflow, and labels <-> fields with a defined answer for every conflict."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentbot.core.config import DEFAULT_SEVERITIES
from incidentbot.core.errors import TransitionNotAllowed
from incidentbot.core.model import (
    TRANSITIONS,
    LabelFields,
    Severity,
    Status,
    allowed_moves,
    check_move,
    conflicting,
    is_ours,
    labels_for,
    read_labels,
    relabel,
    status_and_severity,
)

SEV = DEFAULT_SEVERITIES
P_SCALE = (Severity(1, "P1", "P1"), Severity(2, "P2", "P2"), Severity(3, "P3", "P3"))


# -- workflow --------------------------------------------------------------------------------
def test_the_happy_path_is_allowed_step_by_step() -> None:
    path = [Status.OPEN, Status.INVESTIGATING, Status.FIXING, Status.FIXED, Status.POSTMORTEM,
            Status.CLOSED]
    for current, target in itertools.pairwise(path):
        check_move(current, target)


@pytest.mark.parametrize(("current", "target"), [
    (Status.OPEN, Status.FIXED),            # a quick fix skips ahead
    (Status.FIXED, Status.FIXING),          # the fix did not hold
    (Status.FIXING, Status.INVESTIGATING),  # the theory was wrong
    (Status.CLOSED, Status.INVESTIGATING),  # reopened
    (Status.CLOSED, Status.POSTMORTEM),     # closed, but the postmortem is still owed
    (Status.FIXING, Status.FIXING),         # no move is always fine
])
def test_moves_real_incidents_make(current: Status, target: Status) -> None:
    check_move(current, target)


@pytest.mark.parametrize(("current", "target"), [
    (Status.INVESTIGATING, Status.OPEN),
    (Status.OPEN, Status.POSTMORTEM),
    (Status.POSTMORTEM, Status.FIXING),
    (Status.CLOSED, Status.OPEN),
])
def test_forbidden_moves_say_where_the_incident_can_go(current: Status, target: Status) -> None:
    with pytest.raises(TransitionNotAllowed) as err:
        check_move(current, target)
    for allowed in allowed_moves(current):
        assert allowed.value in str(err.value)


def test_every_status_can_reach_closed_and_closed_can_reopen() -> None:
    for status in Status:
        if status is not Status.CLOSED:
            assert Status.CLOSED in TRANSITIONS[status]
    assert TRANSITIONS[Status.CLOSED]


# -- labels -> fields --------------------------------------------------------------------------
def test_a_plain_incident() -> None:
    fields = read_labels(["incident", "status:fixing", "sev:2", "service:api", "public", "bug"],
                         SEV)
    assert fields == LabelFields(is_incident=True, status=Status.FIXING, severity=2,
                                 services=("api",), public=True)
    assert fields.on_status_page


def test_no_labels_means_an_open_incident_without_severity() -> None:
    fields = read_labels([], SEV)
    assert (fields.is_incident, fields.status, fields.severity) == (False, Status.OPEN, None)


def test_two_status_labels_without_history_pick_the_earlier_status() -> None:
    fields = read_labels(["status:fixed", "status:fixing"], SEV)
    assert fields.status is Status.FIXING
    assert any("several status labels" in p for p in fields.problems)


def test_two_status_labels_with_history_pick_the_one_added_last() -> None:
    fields = read_labels(["status:fixed", "status:fixing"], SEV,
                         newest_last=["status:fixing", "status:fixed"])
    assert fields.status is Status.FIXED


def test_two_severities_pick_the_most_severe_unless_history_says() -> None:
    assert read_labels(["sev:3", "sev:1"], SEV).severity == 1
    assert read_labels(["sev:3", "sev:1"], SEV, newest_last=["sev:1", "sev:3"]).severity == 3


def test_an_unknown_severity_is_ignored_and_reported() -> None:
    fields = read_labels(["sev:9", "sev:2"], SEV)
    assert fields.severity == 2
    assert any("'sev:9' is not a configured severity" in p for p in fields.problems)
    assert read_labels(["P7"], P_SCALE).severity is None
    assert is_ours("P7", P_SCALE)
    assert not is_ours("sev:1", P_SCALE)


def test_labels_in_another_case_are_understood_and_flagged_for_rewriting() -> None:
    fields = read_labels(["Incident", "Status:Fixing", "SEV:1", "Service:API", "Public"], SEV)
    assert (fields.is_incident, fields.status, fields.severity, fields.services,
            fields.public) == (True, Status.FIXING, 1, ("api",), True)
    assert "label 'SEV:1' will be written as 'sev:1'" in fields.problems
    add, remove = relabel(["Incident", "Status:Fixing", "SEV:1", "Service:API", "Public"],
                          fields, SEV)
    assert add == ["incident", "public", "service:api", "sev:1", "status:fixing"]
    assert remove == ["Incident", "Public", "SEV:1", "Service:API", "Status:Fixing"]


def test_the_issue_state_is_the_truth_for_closed() -> None:
    assert read_labels(["status:fixing"], SEV, issue_closed=True).status is Status.CLOSED
    reopened = read_labels(["status:closed"], SEV, issue_closed=False)
    assert reopened.status is Status.INVESTIGATING
    assert any("treated as reopened" in p for p in reopened.problems)


def test_private_beats_public_and_drills_never_reach_the_page() -> None:
    both = read_labels(["public", "private"], SEV)
    assert (both.public, both.private, both.on_status_page) == (False, True, False)
    assert not read_labels(["public", "drill"], SEV).on_status_page


def test_an_unknown_status_label_is_reported() -> None:
    fields = read_labels(["status:banana"], SEV)
    assert fields.status is Status.OPEN
    assert any("'status:banana' is not a status" in p for p in fields.problems)


def test_relabel_leaves_other_peoples_labels_alone() -> None:
    fields = LabelFields(is_incident=True, status=Status.FIXED, severity=2)
    add, remove = relabel(["incident", "status:fixing", "sev:2", "bug", "customer:big"],
                          fields, SEV)
    assert (add, remove) == (["status:fixed"], ["status:fixing"])


# -- fields -> labels -> fields: a round trip ----------------------------------------------
fields_strategy = st.builds(
    LabelFields,
    is_incident=st.just(True),
    status=st.sampled_from([s for s in Status if s is not Status.CLOSED]),
    severity=st.none() | st.integers(1, 5),
    services=st.lists(st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True), max_size=3,
                      unique=True).map(lambda xs: tuple(sorted(xs))),
    public=st.booleans(),
    private=st.just(False),
    drill=st.booleans(),
    auto=st.booleans(),
)


@given(fields_strategy, st.sampled_from([SEV, P_SCALE]))
def test_labels_round_trip(fields: LabelFields, scale: tuple[Severity, ...]) -> None:
    if fields.severity is not None and fields.severity > len(scale):
        fields = LabelFields(**{**{f: getattr(fields, f) for f in fields.__slots__},
                                "severity": len(scale)})
    labels = labels_for(fields, scale)
    assert read_labels(sorted(labels), scale) == fields
    assert relabel(labels, fields, scale) == ([], [])


@given(fields_strategy, st.lists(st.sampled_from(["bug", "sev:9", "Status:Fixed", "sev:1",
                                                  "status:open", "public", "triage"]),
                                 max_size=5))
def test_relabel_always_converges(fields: LabelFields, noise: list[str]) -> None:
    current = set(labels_for(fields, SEV)) | set(noise)
    add, remove = relabel(current, fields, SEV)
    after = (current - set(remove)) | set(add)
    assert read_labels(sorted(after), SEV) == fields
    assert {"bug", "triage"} & set(noise) <= after


def test_conflicts_are_two_statuses_or_two_severities_whatever_their_case() -> None:
    assert conflicting(["status:open", "Status:Fixing"], SEV)
    assert conflicting(["sev:2", "sev:4"], SEV)
    assert not conflicting(["status:open", "sev:2", "sev:9", "status:bogus"], SEV)
    assert not conflicting(["status:open", "Status:Open"], SEV)  # one status, twice


def test_only_status_and_severity_labels_are_set_right_and_others_stay() -> None:
    fields = read_labels(["incident", "status:open", "status:fixing", "sev:2"], SEV,
                         newest_last=["status:open", "status:fixing"])
    assert status_and_severity(["incident", "status:open", "status:fixing", "sev:2", "sev:9",
                                "team:payments"], fields, SEV) == ([], ["status:open"])
    closed = read_labels(["status:open"], SEV, issue_closed=True)
    assert status_and_severity(["status:open"], closed, SEV) == (["status:closed"],
                                                                  ["status:open"])
    by_hand = read_labels(["incident", "sev:3"], SEV)
    assert status_and_severity(["incident", "sev:3"], by_hand, SEV) == (["status:open"], [])
    # A label in another case says the same thing: left as it is.
    assert status_and_severity(["Status:Open", "SEV:3"], by_hand, SEV) == ([], [])
