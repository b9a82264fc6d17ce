"""Action items: read from a merged postmortem, each opened once as a follow-up issue."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from incidentbot.core import names
from incidentbot.core.config import Config
from incidentbot.core.errors import InvalidInput
from incidentbot.core.ports import IssueTracker
from incidentbot.core.snapshot import digest
from incidentbot.core.text import markdown, truncate
from incidentbot.operations import reading

_ITEM = re.compile(r"^- \[ \] (?P<line>.+?)\s*$", re.MULTILINE)
_DUE = re.compile(r"due (\d{4}-\d{2}-\d{2})")
TYPES = ("mitigate", "prevent", "process")


@dataclass(frozen=True, slots=True)
class ActionItem:
    what: str
    owner: str | None
    due: str | None
    type: str | None = None  # mitigate, prevent or process
    priority: str | None = None  # P0 .. P3
    problems: tuple[str, ...] = ()  # parts that look like a field but are not a valid one


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def action_item(line: str) -> ActionItem:
    """`what — type — priority — @owner — due YYYY-MM-DD`, every part after `what`
    optional and in any order; a part that is none of these stays in `what`, and one that
    looks like a field but is not a valid one (P9, due someday) is also a problem."""
    parts = [p.strip() for p in line.split(" — ")]
    what, owner, due, kind, priority = [parts[0]], None, None, None, None
    problems: list[str] = []
    for part in parts[1:]:
        if re.fullmatch(r"@[\w-]+", part) and owner is None:
            owner = part[1:]
        elif (found := _DUE.fullmatch(part)) is not None and _valid_date(found.group(1)):
            due = found.group(1)
        elif part.lower() in TYPES:
            kind = part.lower()
        elif re.fullmatch(r"[Pp][0-3]", part):
            priority = part.upper()
        else:
            what.append(part)
            if re.fullmatch(r"[Pp]\d+", part):
                problems.append(f"priority {part!r} is not one of P0, P1, P2, P3")
            elif part.lower().startswith("due"):
                problems.append(f"{part!r} is not a due date (due YYYY-MM-DD)")
            elif part.startswith("@"):
                problems.append(f"{part!r} is not a single owner (@login)")
    return ActionItem(" — ".join(what), owner, due, kind, priority, tuple(problems))


def action_items(text: str) -> list[ActionItem]:
    """Unchecked items of the Action items section (the template's example excluded)."""
    section = text.split("## Action items", 1)[-1].split("\n## ", 1)[0]
    items = []
    for m in _ITEM.finditer(section):
        line = m.group("line").strip()
        if line.startswith("_") and line.endswith("_"):
            continue
        items.append(action_item(line))
    return items


FOLLOWUP_LABEL = "incident-followup"


def open_followups(tracker: IssueTracker, config: Config, number: int) -> list[str]:
    """An issue for each unchecked action item of the postmortem on the default branch (the
    merged review), each once (found again by its marker), listed on the incident."""

    snap = reading.read(tracker, number, config)

    path = names.postmortem_path(config.postmortem.directory, snap.issue.created_at, snap.card.name)
    found = tracker.read_file(path, tracker.default_branch())
    if found is None:
        raise InvalidInput(f"{path} is not on the default branch yet: merge the review first")
    tracker.ensure_labels([(FOLLOWUP_LABEL, "0e8a16", "An action item from a postmortem")])
    lines = []
    opened = []
    known = tracker.list_labelled(FOLLOWUP_LABEL)
    for item in action_items(found[0]):
        marker = f"followup {snap.card.name} {digest(item.what)}"
        done = next((i for i in known if f"incidentbot:request {marker} " in i.body), None)
        if done is not None:
            opened.append(done)
            lines.append(f"#{done.number} {item.what} (opened before)")
            continue
        details = "".join(f"\n{label}: {value}" for label, value in (
            ("Type", item.type), ("Priority", item.priority),
            ("Owner", f"@{item.owner}" if item.owner else None), ("Due", item.due)) if value)
        problems = [markdown(p) for p in item.problems]
        if problems:
            details += "\n\nNot understood (fix it in the postmortem and here):\n" + \
                "\n".join(f"- {p}" for p in problems)
        issue = tracker.create_issue(
            truncate(item.what, 200),
            f"Action item from the postmortem of #{number} ({path}).\n{details}",
            [FOLLOWUP_LABEL], marker=marker)
        warnings = list(item.problems)
        if item.owner:
            # Assigned after the create: on create GitHub refuses the whole issue (422) for
            # one login it cannot assign; adding assignees ignores them, so we ask who is.
            assigned = tracker.assign(issue.number, [item.owner])
            if item.owner.lower() not in {a.lower() for a in assigned}:
                warnings.append(f"@{item.owner} could not be assigned (not a user with "
                                "push access here)")
        opened.append(issue)
        lines.append(f"#{issue.number} {item.what}" + "".join(
            f"\n  warning: {w}" for w in warnings))
    if opened:
        mark = "<!-- incidentbot:followups -->"
        body = mark + "\n**Action items**\n\n" + "\n".join(
            f"- [ ] #{i.number} {markdown(i.title)}" for i in opened)
        existing = [c for c in snap.comments if c.body.startswith(mark)]
        if existing:
            tracker.edit_comment(number, existing[0].id, body)
        else:
            tracker.comment(number, body)
    return lines or ["no unchecked action items"]


