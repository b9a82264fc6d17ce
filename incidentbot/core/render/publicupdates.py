"""What the status page says about an incident over time: public updates and status changes,
each with the public status of its own moment and an id that never shifts.

A public update is (a) a comment starting `Public update:` by someone trusted, or (b) a note
the bot wrote for a person (Slack's update form, `incidentbot update --note`) whose marker
says `public` (`<!-- incidentbot:note AUTHOR SOURCE public -->`), or whose text starts
`Public update:`. Everything else anyone wrote is data, never published. `published_text` is
that rule, the one the postmortem's customer communication asks too (evidence.py), so the
page and the postmortem cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from incidentbot.core import publicstatus
from incidentbot.core.config import Config
from incidentbot.core.markers import NOTE, signed
from incidentbot.core.model import STATUS_PREFIX, Status
from incidentbot.core.ports import Comment, IssueEvent
from incidentbot.core.trust import Writers

PUBLIC_MARK = "public update:"
# GitHub's author_association values that mean push access (through the org or the repo).


@dataclass(frozen=True, slots=True)
class Update:
    """One incident_update: `id` comes from the comment or event it was made from."""

    id: str
    at: datetime
    word: str  # the public status at `at`
    body: str

    @property
    def html(self) -> Markup:
        """The body for a page, inside one `<p>` (see body_html)."""
        return body_html(self.body)


def body_html(body: str) -> Markup:
    """An update's text as HTML to put inside a `<p>`: everything escaped (no Markdown is
    rendered: `**` stays as typed), its lines kept as `<br>` and a blank line starting a
    new paragraph (`</p><p>`), as the person wrote it."""
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return Markup("</p><p>").join(
        Markup("<br>\n").join(escape(line.strip()) for line in p.split("\n"))
        for p in paragraphs)


def public_update(body: str) -> str | None:
    """The public text of a comment that starts `Public update:` (not a `/` command: the
    reconciler reads those as incident commands), or None."""
    text = body.strip()
    if not text.lower().startswith(PUBLIC_MARK):
        return None
    rest = text[len(PUBLIC_MARK):].strip()
    return rest or None


def note_marker(author: str, source: str, *, public: bool = False) -> str:
    """The head of a note the bot writes for a person; `public` publishes it."""
    return f"{NOTE} {author} {source}{' public' if public else ''} -->"


def published_text(comment: Comment, writers: Writers) -> str | None:
    """What the public may read of this comment, or None: only what incidentbot or people
    with push access wrote (trust.Writers) speaks for the team."""
    if not writers.trusts(comment):
        return None
    body = comment.body.strip()
    note = signed(body, NOTE)
    if note is not None:
        flags = body.partition("-->")[0].removeprefix(NOTE).split()[2:]
        if "public" in flags:
            return note.text or None
        return public_update(note.text)
    return public_update(body)


def status_at(events: Sequence[IssueEvent], moment: datetime, current: Status) -> Status:
    """The incident's status at `moment`, replayed from its label and close events (the
    current one when the events say nothing)."""
    label: Status | None = None
    closed = False
    seen = False
    for e in sorted(events, key=lambda x: (x.created_at, x.id)):
        if e.created_at > moment:
            break
        if e.kind == "labeled" and e.label.lower().startswith(STATUS_PREFIX):
            try:
                label, seen = Status(e.label[len(STATUS_PREFIX):].lower()), True
            except ValueError:
                continue
        elif e.kind == "closed":
            closed, seen = True, True
        elif e.kind == "reopened":
            closed = False
    if not seen:
        return current if not events else Status.OPEN
    if closed:
        return Status.CLOSED if label is None or label.rank < Status.POSTMORTEM.rank else label
    return label or Status.OPEN


def updates(number: int, opened: datetime, current: Status, comments: Sequence[Comment],
            events: Sequence[IssueEvent], writers: Writers,
            config: Config) -> tuple[Update, ...]:
    """Every update of one incident, newest first: a status change in public words (the
    default sentence), and each public update with the status of its time."""
    out: list[Update] = []
    last = publicstatus.word(status_at(events, opened, current) if events else Status.OPEN,
                             config)
    out.append(Update(f"{number}-opened", opened, last, publicstatus.SENTENCES[last]))
    for e in sorted(events, key=lambda x: (x.created_at, x.id)):
        if e.kind not in {"labeled", "closed", "reopened"}:
            continue
        now_word = publicstatus.word(status_at(events, e.created_at, current), config)
        if now_word != last:
            out.append(Update(f"e{e.id}", e.created_at, now_word,
                              publicstatus.SENTENCES[now_word]))
            last = now_word
    if not events and publicstatus.word(current, config) != last:
        # No history to replay: one update for the status the incident has now.
        word = publicstatus.word(current, config)
        out.append(Update(f"{number}-{current.value}", opened, word,
                          publicstatus.SENTENCES[word]))
    for c in comments:
        text = published_text(c, writers)
        if text is not None:
            word = publicstatus.word(status_at(events, c.created_at, current), config) \
                if events else publicstatus.word(current, config)
            out.append(Update(f"c{c.id}", c.created_at, word, text))
    # Newest first; at the same moment, the later-made update (the status it led to) first.
    return tuple(reversed(sorted(out, key=lambda u: u.at)))
