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
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from incidentbot.core import card as cards
from incidentbot.core import commands, flow, intake, markers
from incidentbot.core.card import CardState
from incidentbot.core.config import Config
from incidentbot.core.errors import Conflict, IncidentbotError, InvalidInput, ServiceError
from incidentbot.core.plan import card_rows, plan, prepare
from incidentbot.core.ports import Chat, Comment, Issue, IssueTracker, Pager
from incidentbot.core.snapshot import CHANNEL, Action, Attribution, Plan, Snapshot, snapshot_of
from incidentbot.operations import labelling, turns
from incidentbot.operations.apply import NEEDS_CHANNEL, Applier, Outcome
from incidentbot.operations.comment_commands import run_commands
from incidentbot.operations.reading import read, writers_of

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
         known: Issue | None = None, changed: bool = False, opened: str = "",
         clock: Callable[[], datetime] | None = None) -> Outcome:
    """Reconcile one incident; see the module docstring. `known`: the issue as a write just
    returned it (saves reading it again); `changed`: the caller just changed the issue, so
    there is work, and what this process's last reconcile left of its comments may stand in
    for reading them (see `_comments`); `opened`: "fresh" when the caller just created it
    (`known`), "resumed" when it found the issue an earlier attempt of its request made;
    `clock`: the time the turns are claimed by (the Connections' clock)."""
    asked = Asked(roles=roles, reporter=reporter, page=page, repair=repair,
                  postmortem=postmortem, now=now, extra_posts=tuple(extra_posts),
                  drill_scenario=drill_scenario, drill_reminders=drill_reminders,
                  opened=opened if known is not None else "",
                  clock=clock or (lambda: datetime.now(UTC)))
    with _lock(tracker.repository, number):
        issue = known if known is not None and known.number == number \
            else tracker.get_issue(number)
        with _left_guard:
            left = _left.get(tracker, {}).pop(number, None)
        comments = _comments(issue, left, changed)
        snapshot = snapshot_of(issue, tracker.comments(number) if comments is None
                               else list(comments),
                               writers_of(tracker, config), config, tracker.repository)
        if not snapshot.fields.is_incident:
            raise InvalidInput(f"#{number} is not an incident (it has no `incident` label)")
        if not _has_work(snapshot, tracker, config, attribution, asked):
            return Outcome(number, card=snapshot.card)  # nothing to do: no turn, no write
        snapshot, turn, complete = _take_turn(tracker, snapshot, config, attribution, asked)
        if turn is None:  # the run we waited for did what was asked
            return Outcome(number, card=snapshot.card)
        return _reconcile(snapshot, tracker, chat, pager, config, attribution,
                          replace(asked, turn=turn, turn_was_free=complete))


# What this process's last reconcile of an incident left its comments as (its card saved):
# a reconcile that follows a write of ours starts from them instead of reading them again.
# The turn it then takes proves the card among them current (whoever saved a card since took
# that very turn), and the issue's comment count that nobody commented since: a comment
# written meanwhile (its id above every one kept) is seen by the next run, never skipped.
_left: weakref.WeakKeyDictionary[IssueTracker, dict[int, tuple[Comment, ...]]] = \
    weakref.WeakKeyDictionary()
_left_guard = threading.Lock()
LEFT_MAX = 200  # incidents remembered, the latest reconciled


def _comments(issue: Issue, left: tuple[Comment, ...] | None,
              changed: bool) -> Sequence[Comment] | None:
    """The comments to start from without reading them, when they are known; else None."""
    if not changed or issue.comments < 0:
        return None
    if issue.comments == 0:
        return ()  # nobody has written anything yet
    return left if left is not None and len(left) == issue.comments else None


def _take_turn(tracker: IssueTracker, snapshot: Snapshot, config: Config,
               attribution: Attribution | None,
               asked: Asked) -> tuple[Snapshot, int | None, bool]:
    """The snapshot to act on, the incident's next turn (turns.py) and whether the card read
    is complete; the turn is None when, while we waited, another run did the work."""
    ttl, wait = turns.limits()
    if asked.opened and not _has_card(snapshot):
        # The opener's first turn takes no ref: nobody can have read a card of the issue, and
        # a run that reads none waits for the opener (turns.claim_unknown). The heir of an
        # opener that died acts with care, while the opener's time is not up.
        if asked.opened == "fresh":
            return snapshot, 0, True
        if snapshot.issue.created_at + ttl > asked.clock():
            return snapshot, 0, False
    who = turns.holder()
    deadline = time.monotonic() + wait.total_seconds()
    number = snapshot.issue.number
    while True:
        issue = snapshot.issue
        if _has_card(snapshot):
            turn = snapshot.card.turn
            got = turns.claim(tracker, number, turn, who=who, ttl=ttl, clock=asked.clock)
        else:  # no card to name it (a new issue, or its card deleted): meet the others
            opening = issue.created_at if markers.opened_by_us(issue.body) \
                and snapshot.writers.trusts(issue) else None
            turn, got = turns.claim_unknown(tracker, number, who=who, ttl=ttl,
                                            clock=asked.clock, opening=opening)
        if isinstance(got, turns.Taken) and got.complete:
            return snapshot, turn, True
        fresh = read(tracker, number, config)
        if isinstance(got, turns.Taken):
            if _card_body(fresh.comments) == _card_body(snapshot.comments):
                return fresh, turn, False  # a run died with this turn: act with care
            # The run we took over was alive after all and saved its card: start again.
        else:
            delay = 0.1
            while _card_body(fresh.comments) == _card_body(snapshot.comments) \
                    and asked.clock() < got.expires:
                if time.monotonic() >= deadline:
                    raise Conflict("GitHub", (
                        f"incident #{number} is being reconciled by another run (its turn is "
                        f"claimed until {got.expires.isoformat(timespec='seconds')}); it will "
                        "be picked up by the next sync"))
                time.sleep(delay)
                delay = min(delay * 1.5, 2.0)
                fresh = read(tracker, number, config)  # free while nothing changed (304s)
        snapshot = fresh
        if not _has_work(snapshot, tracker, config, attribution, asked):
            return snapshot, None, False


def _has_card(snapshot: Snapshot) -> bool:
    """Was a card read (not rebuilt from the issue)? Only such a card names the next turn."""
    return snapshot.card_comment is not None and not snapshot.rebuilt


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
    opened: str = ""  # "fresh": the caller just opened the issue; "resumed": found it again
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    turn: int = 0  # the turn this reconcile holds (turns.py)
    turn_was_free: bool = False  # the turn was free: the card read is complete


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
    if planned.actions or _settles(planned, state) or labelling.disagree(snapshot, config):
        return True
    memory = planned.card or state
    after = replace(state, last_comment=memory.last_comment, seen_status=memory.seen_status)
    return cards.render(after, card_rows(snapshot, after, config)) != snapshot.card_comment.body


def _reconcile(snapshot: Snapshot, tracker: IssueTracker, chat: Chat, pager: Pager | None,
               config: Config, attribution: Attribution | None, asked: Asked) -> Outcome:
    """In its turn: note a rebuilt card, settle the labels, adopt a form's answers, run
    commands, plan, apply, save the card."""
    if snapshot.rebuilt:
        _note_rebuilt(tracker, snapshot)
    read_issue = snapshot.issue
    labelling.resolve(snapshot, tracker, config)  # two statuses: the one added last
    intake.adopt(snapshot, tracker, config)  # opened on GitHub: the form's answers
    snapshot.made = run_commands(snapshot, tracker, config)  # who made which change
    # The labels say what the incident is, judged on the freshest labels we have.
    labelling.agree(snapshot, tracker, config, fresh=snapshot.issue is not read_issue)
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
    if attribution is None and snapshot.events is None \
            and set(_fields_changed(snapshot)) - set(snapshot.made):
        snapshot.events = tracker.label_events(snapshot.issue.number)
    planned = plan(snapshot, config, repository=tracker.repository,
                   attribution=attribution, now=asked.now, repair=asked.repair,
                   force_postmortem=asked.postmortem, extra_posts=asked.extra_posts)
    return _apply(snapshot, planned, tracker, chat, pager, config,
                  complete=asked.turn_was_free, turn=asked.turn)


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


def _fields_changed(snapshot: Snapshot) -> list[str]:
    """The fields (status, severity, services) that changed since the channel was told."""
    state, fields = snapshot.card, snapshot.fields
    if state.seen_status is None:
        return []
    return [what for what, changed in (
        ("status", state.seen_status != fields.status.value),
        ("severity", state.seen_severity != fields.severity),
        ("services", tuple(state.seen_services) != fields.services)) if changed]


def _apply(snapshot: Snapshot, planned: Plan, tracker: IssueTracker, chat: Chat,
           pager: Pager | None, config: Config, *, complete: bool = False,
           turn: int = 0) -> Outcome:
    applier = Applier(snapshot, chat, pager, config, tracker.repository, tracker)
    # A free turn means no run died holding it: either none ever acted on this incident
    # (no card, nothing rebuilt) or the last one saved its card, its last write.
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
            failed_effects[action.effect] = _advice(action, exc, snapshot.issue.number)
            outcome.failed.append(f"{action.effect}: {exc}")
    # The ledger: every effect this plan touched, with its latest outcome.
    state = applier.state
    for effect in dict.fromkeys(a.effect for a in planned.actions):
        state = state.with_effect(effect, effect not in failed_effects,
                                  failed_effects.get(effect, ""))
    for effect, detail in planned.settled.items():  # done with no action (plan.py)
        if effect not in failed_effects:
            state = state.with_effect(effect, True, detail)
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
    state = replace(state, turn=turn + 1)  # the turn the next reconcile takes
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


def _settles(planned: Plan, state: CardState) -> bool:
    """Would the plan's settled effects change the card's ledger?"""
    return any(state.effects.get(name) != cards.Effect(True, detail)
               for name, detail in planned.settled.items())


def _advice(action: Action, exc: IncidentbotError, number: int) -> str:
    text = str(exc)
    if "not_in_channel" in text and action.channel != CHANNEL:
        return f"{text} — invite the bot to {action.channel} (/invite @incidentbot)"
    if "channel_not_found" in text and action.channel != CHANNEL:
        return f"{text} — {action.channel} does not exist or is private without the bot"
    if "is_archived" in text and action.channel != CHANNEL:
        return f"{text} — {action.channel} is archived in Slack: unarchive it, or take it " \
               "out of incidentbot.yml"
    if "is_archived" in text:
        # Not archived by us: the close archives it, and after that nothing is posted there
        # (plan.py); a reopen makes a successor. Bot tokens cannot unarchive
        # (https://api.slack.com/methods/conversations.unarchive), a person can.
        return f"{text} — the incident channel was archived in Slack, not by incidentbot; " \
               f"unarchive it in Slack, then run `incidentbot sync {number} --repair`"
    return text


def save_card(tracker: IssueTracker, snapshot: Snapshot, state: CardState,
              config: Config) -> None:
    """Write the card: edited in place, or made once. The turn is held, so a card that
    appears after a failed create is the one that create made: it is edited, never doubled.
    What the comments are now is kept for this process's next reconcile (`_left`)."""
    body = cards.render(cards.bounded(state), card_rows(snapshot, state, config))
    number = snapshot.issue.number
    card = snapshot.card_comment
    if card is not None:
        if card.body != body:
            tracker.edit_comment(number, card.id, body)
        _remember(tracker, snapshot, replace(card, body=body))
        return
    for attempt in range(3):
        try:
            _remember(tracker, snapshot, tracker.comment(number, body))
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


def _remember(tracker: IssueTracker, snapshot: Snapshot, card: Comment) -> None:
    kept = tuple(c for c in snapshot.comments if c.id != card.id)
    with _left_guard:  # the dispatcher's workers reconcile other incidents meanwhile
        left = _left.setdefault(tracker, {})
        left[snapshot.issue.number] = tuple(sorted((*kept, card), key=lambda c: c.id))
        while len(left) > LEFT_MAX:  # a dispatcher that runs for months: the latest ones
            del left[next(iter(left))]


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
