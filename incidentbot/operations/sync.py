"""The reconciler: make Slack (and paging) match the GitHub issue, idempotently.

`sync(number)` reads the issue, its comments and the incident card (the bot's own comment,
its memory), runs commands people typed in comments, then `plan()` — pure — lists the
actions that bring Slack in line, and `apply()` runs them one by one, recording each outcome
in the card's ledger. One failed action never stops the others; the card is saved at the end.

Safe to repeat, to run concurrently and to resume after a crash:
- the channel is found again by its name and the incident marker in its purpose;
- every post carries a key in Slack message metadata; before posting a key the card does not
  know, the channel's history is read once to adopt a post an interrupted run already made;
- edits (topic, announcements) are compared with what the card remembers, so an unchanged
  incident costs no Slack call at all;
- GitHub writes are either idempotent (labels, edits) or found again by a marker (replies).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from incidentbot.core import card as cards
from incidentbot.core import commands, flow, intake, markers
from incidentbot.core.card import CardState
from incidentbot.core.config import Config
from incidentbot.core.errors import IncidentbotError, InvalidInput, ServiceError
from incidentbot.core.plan import card_rows, plan, prepare
from incidentbot.core.ports import Chat, Comment, Issue, IssueTracker, Pager
from incidentbot.core.snapshot import CHANNEL, Action, Attribution, Plan, Snapshot, snapshot_of
from incidentbot.operations import lease
from incidentbot.operations.apply import NEEDS_CHANNEL, Applier, Outcome
from incidentbot.operations.comment_commands import run_commands
from incidentbot.operations.reading import read

_locks: dict[tuple[str, int], threading.Lock] = {}
_locks_guard = threading.Lock()


@contextmanager
def _lock(repository: str, number: int) -> Iterator[None]:
    """One sync per issue at a time in this process (Actions serialise across processes
    with `concurrency:` keyed by the issue number)."""
    with _locks_guard:
        lock = _locks.setdefault((repository, number), threading.Lock())
    with lock:
        yield


def sync(tracker: IssueTracker, chat: Chat, pager: Pager | None, config: Config,
         number: int, *, attribution: Attribution | None = None,
         roles: Mapping[str, str | None] | None = None, reporter: str | None = None,
         page: bool = False, repair: bool = False, postmortem: bool = False,
         now: datetime | None = None, extra_posts: Sequence[tuple[str, str]] = (),
         drill_scenario: str | None = None, drill_reminders: bool = False,
         known: Issue | None = None, changed: bool = False) -> Outcome:
    """Reconcile one incident; see the module docstring. `known`: the issue as a write just
    returned it (saves reading it again); `changed`: the caller just changed the issue, so
    there is work: its comments are read once, under the lease."""
    asked = Asked(roles=roles, reporter=reporter, page=page, repair=repair,
                  postmortem=postmortem, now=now, extra_posts=tuple(extra_posts),
                  drill_scenario=drill_scenario, drill_reminders=drill_reminders)
    with _lock(tracker.repository, number):
        snapshot = read(tracker, number, config, known=known, fresh=changed)
        if not snapshot.fields.is_incident:
            raise InvalidInput(f"#{number} is not an incident (it has no `incident` label)")
        if not _has_work(snapshot, tracker, config, attribution, asked):
            return Outcome(number, card=snapshot.card)  # nothing to do: no lease, no write
        ttl, wait = lease.limits()
        with lease.held(tracker, number, who=lease.holder(), ttl=ttl, wait=wait) as waited:
            # Another run may have finished between our read and the lease: read again what
            # it would have changed (its card, new comments; the issue too if it waited).
            latest = tracker.comments(number)
            if waited or (not changed
                          and _card_body(snapshot.comments) != _card_body(latest)):
                snapshot = read(tracker, number, config)
            else:
                snapshot = snapshot_of(snapshot.issue, latest, snapshot.writers, config,
                                       tracker.repository)
            return _reconcile(snapshot, tracker, chat, pager, config, attribution,
                              replace(asked, lease_was_free=not waited))


def _card_body(comments: Sequence[Comment]) -> tuple[str, ...]:
    return tuple(c.body for c in comments if cards.is_card(c.body))


@dataclass(frozen=True, slots=True)
class Asked:
    """What the caller of `sync` asks for beyond "match the issue"."""

    roles: Mapping[str, str | None] | None = None
    reporter: str | None = None
    page: bool = False
    repair: bool = False
    postmortem: bool = False
    now: datetime | None = None
    extra_posts: tuple[tuple[str, str], ...] = ()
    drill_scenario: str | None = None
    drill_reminders: bool = False
    lease_was_free: bool = False  # the last run released the lease: its card is complete


def _has_work(snapshot: Snapshot, tracker: IssueTracker, config: Config,
              attribution: Attribution | None, asked: Asked) -> bool:
    """Would reconciling write anything? Planned without side effects, on what was read."""
    state = snapshot.card
    if snapshot.rebuilt or snapshot.card_comment is None or asked.roles or asked.postmortem \
            or asked.repair or (asked.page and not state.page_requested) \
            or (asked.reporter and not state.reporter) \
            or (asked.drill_scenario and state.drill_scenario is None):
        return True
    writers = snapshot.writers
    for c in snapshot.comments:
        if c.id > state.last_comment and commands.first_command(c.body) is not None \
                and not writers.is_bot(c):
            return True
        if c.id > state.last_comment and markers.signed(c.body, markers.COMMAND):
            return True
    dry = replace(snapshot, card=prepare(state, snapshot.issue.state, config))
    planned = plan(dry, config, repository=tracker.repository, attribution=attribution,
                   now=asked.now, extra_posts=asked.extra_posts)
    if planned.actions:
        return True
    memory = planned.card or state
    after = replace(state, last_comment=memory.last_comment, seen_status=memory.seen_status)
    return cards.render(after, card_rows(snapshot, after, config)) != snapshot.card_comment.body


def _reconcile(snapshot: Snapshot, tracker: IssueTracker, chat: Chat, pager: Pager | None,
               config: Config, attribution: Attribution | None, asked: Asked) -> Outcome:
    """Under the lease: note a rebuilt card, adopt a form's answers, run commands, plan,
    apply, save the card."""
    if snapshot.rebuilt:
        _note_rebuilt(tracker, snapshot)
    intake.adopt(snapshot, tracker, config)  # opened on GitHub: the form's answers
    ran = run_commands(snapshot, tracker, config)
    if ran and attribution is None:
        attribution = ran[-1]
    card = snapshot.card
    if asked.drill_scenario and card.drill_scenario is None:
        card = replace(card, drill_scenario=asked.drill_scenario,
                       drill_reminders=asked.drill_reminders)
    if asked.roles or asked.reporter or asked.page:
        updated = dict(card.roles)
        for role, who in (asked.roles or {}).items():
            if who is None:
                updated.pop(role, None)
            else:
                updated[role] = who
        card = replace(card, roles=updated, reporter=card.reporter or asked.reporter,
                       page_requested=card.page_requested or asked.page)
    snapshot.card = prepare(card, snapshot.issue.state, config)
    snapshot.card = flow.gather(snapshot, config, chat, pager)
    if attribution is None and _fields_changed(snapshot):
        snapshot.events = tracker.label_events(snapshot.issue.number)
    planned = plan(snapshot, config, repository=tracker.repository,
                   attribution=attribution, now=asked.now, repair=asked.repair,
                   force_postmortem=asked.postmortem, extra_posts=asked.extra_posts)
    return _apply(snapshot, planned, tracker, chat, pager, config,
                  complete=asked.lease_was_free)


def _note_rebuilt(tracker: IssueTracker, snapshot: Snapshot) -> None:
    """Say once on the issue that the card was rebuilt, and what that means."""
    card_id = snapshot.card_comment.id if snapshot.card_comment is not None else 0
    mark = markers.REBUILT.format(id=card_id)
    if any(mark in c.body for c in snapshot.comments if snapshot.writers.is_bot(c)):
        return
    tracker.comment(snapshot.issue.number, (
        f"{mark}\n:wrench: The incident card was rebuilt from this issue: "
        f"{snapshot.rebuilt}. Status, severity and services come from the labels, roles from "
        "the `/role` commands above; comments and commands written before now were not run "
        "or mirrored to Slack again."))


def _fields_changed(snapshot: Snapshot) -> bool:
    state, fields = snapshot.card, snapshot.fields
    return state.seen_status is not None and (
        state.seen_status != fields.status.value or state.seen_severity != fields.severity
        or tuple(state.seen_services) != fields.services)


def _apply(snapshot: Snapshot, planned: Plan, tracker: IssueTracker, chat: Chat,
           pager: Pager | None, config: Config, *, complete: bool = False) -> Outcome:
    applier = Applier(snapshot, chat, pager, config, tracker.repository, tracker)
    # A free lease means no run died holding it: either none ever acted on this incident
    # (no card, nothing rebuilt) or the last one saved its card before letting go.
    applier.complete = complete and not snapshot.rebuilt \
        and all(e.ok for e in snapshot.card.effects.values())
    if planned.card is not None:
        applier.history = planned.card.history
    outcome = Outcome(snapshot.issue.number)
    failed_effects: dict[str, str] = {}
    for action in planned.actions:
        if action.effect in failed_effects and action.kind != "post":
            continue
        if action.kind in NEEDS_CHANNEL | {"post", "update"} and action.channel == CHANNEL \
                and applier.state.channel_id is None and action.kind != "create_channel":
            failed_effects.setdefault(action.effect, "waiting for the channel")
            continue
        try:
            applier.run(action)
            outcome.done.append(f"{action.kind} {action.effect}")
        except IncidentbotError as exc:
            failed_effects[action.effect] = _advice(action, exc)
            outcome.failed.append(f"{action.effect}: {exc}")
    # The ledger: every effect this plan touched, with its latest outcome.
    state = applier.state
    for effect in dict.fromkeys(a.effect for a in planned.actions):
        state = state.with_effect(effect, effect not in failed_effects,
                                  failed_effects.get(effect, ""))
    if planned.card is None:
        raise ValueError(f"#{snapshot.issue.number}: a plan with actions carries the card's "
                         "new memory; this one has none (a bug in sync.plan)")
    # What the channel was told only counts as told when the post went through.
    if "changes" in failed_effects:
        state = replace(state, seen_status=snapshot.card.seen_status,
                        seen_severity=snapshot.card.seen_severity,
                        seen_services=snapshot.card.seen_services,
                        seen_roles=snapshot.card.seen_roles)
    else:
        state = replace(state, seen_status=planned.card.seen_status,
                        seen_severity=planned.card.seen_severity,
                        seen_services=planned.card.seen_services,
                        seen_roles=planned.card.seen_roles, seq=planned.card.seq,
                        history=planned.card.history)
    if applier.logged:
        state = replace(state, history=(*state.history, *applier.logged)[-200:])
    if "comments" not in failed_effects:
        state = replace(state, last_comment=planned.card.last_comment)
    else:
        state = replace(state, last_comment=_last_mirrored(snapshot, state))
    outcome.card = state
    save_card(tracker, snapshot, state, config)
    return outcome


def _last_mirrored(snapshot: Snapshot, state: CardState) -> int:
    """The highest comment id such that it and every earlier one was handled."""
    last = snapshot.card.last_comment
    for c in sorted(snapshot.comments, key=lambda c: c.id):
        if c.id <= last:
            continue
        if f"comment:{c.id}" in state.messages or markers.has_marker(c.body) \
                or commands.first_command(c.body) is not None:
            last = c.id
        else:
            break
    return last


def _advice(action: Action, exc: IncidentbotError) -> str:
    text = str(exc)
    if "not_in_channel" in text and action.channel != CHANNEL:
        return f"{text} — invite the bot to {action.channel} (/invite @incidentbot)"
    if "channel_not_found" in text and action.channel != CHANNEL:
        return f"{text} — {action.channel} does not exist or is private without the bot"
    if "is_archived" in text:
        return f"{text} — the channel was archived by hand; reopen the issue to get a new one"
    return text


def save_card(tracker: IssueTracker, snapshot: Snapshot, state: CardState,
              config: Config) -> None:
    """Write the card: edited in place, or made once. The lease is held, so a card that
    appears after a failed create is the one that create made: it is edited, never doubled."""
    body = cards.render(cards.bounded(state), card_rows(snapshot, state, config))
    number = snapshot.issue.number
    if snapshot.card_comment is not None:
        if snapshot.card_comment.body != body:
            tracker.edit_comment(number, snapshot.card_comment.id, body)
        return
    for attempt in range(3):
        try:
            tracker.comment(number, body)
            return
        except ServiceError:
            if attempt == 2:
                raise
            made = [c for c in tracker.comments(number)
                    if cards.is_card(c.body) and snapshot.writers.trusts(c)]
            if made:
                if made[0].body != body:
                    tracker.edit_comment(number, made[0].id, body)
                return


def sync_all(tracker: IssueTracker, chat: Chat, pager: Pager | None, config: Config, *,
             since: datetime | None) -> list[Outcome]:
    """Every incident updated since `since` (every one when None)."""
    outcomes = []
    for issue in tracker.list_incidents(since=since):
        try:
            outcomes.append(sync(tracker, chat, pager, config, issue.number))
        except IncidentbotError as exc:
            outcomes.append(Outcome(issue.number, failed=[str(exc)]))
    return outcomes
