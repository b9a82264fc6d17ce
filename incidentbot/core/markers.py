"""Every hidden marker incidentbot writes into issue text, each beside its parser.

A marker is an HTML comment (`<!-- incidentbot:KIND ... -->`): invisible on GitHub, read back
by the next run. Markers count only in text written by someone `trust.Writers` trusts; a
comment carrying any marker is never mirrored into Slack as something a person said.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from incidentbot.core.text import markdown, one_line

PREFIX = "<!-- incidentbot:"
CARD = "<!-- incidentbot:card"
NOTE = "<!-- incidentbot:note"
COMMAND = "<!-- incidentbot:command"
REPLY = "<!-- incidentbot:reply {id} -->"
POSTMORTEM = "<!-- incidentbot:postmortem {path} -->"
REBUILT = "<!-- incidentbot:rebuilt {id} -->"
OPENED = "<!-- incidentbot:opened {fields} -->"
PIN = "<!-- incidentbot:pin {channel}:{ts} -->"  # a Slack message pinned, copied to the issue
PIN_PREFIX = PIN.split(" {")[0]
STARTED = "<!-- incidentbot:started {at} -->"  # the first failed check of a monitor outage
_STARTED = re.compile(r"<!-- incidentbot:started (\S+) -->")
_OPENED = re.compile(r"<!-- incidentbot:opened ([^>]*?) -->")
_WORD = re.compile(r"[^\s<>]+")


def has_marker(body: str) -> bool:
    return PREFIX in body


def _word(text: str) -> str:
    """One marker word: no spaces, nothing that could end the comment."""
    found = "_".join(_WORD.findall(text)).replace("--", "-")
    return found or "someone"


# -- notes: an update typed in Slack or the CLI, posted on the issue by the bot -------------
@dataclass(frozen=True, slots=True)
class Signed:
    """Text the bot wrote on someone's behalf: who, from where, and what."""

    author: str
    source: str
    text: str


# What a person typed elsewhere is shown on GitHub as typed, and pings no one: a zero-width
# space after `@` keeps `@bob` from being a mention (GitHub notifies for mentions even in a
# code span when the comment reaches someone by email, as dependabot-core#3157 found), and
# after `<` keeps `<!channel>` or `<b>` from being HTML that GitHub would hide or format.
# What we read back loses those spaces again, so Slack and the postmortem get the text.
_ZWSP = "\u200b"
_QUIET = re.compile(r"(?<![A-Za-z0-9_.+/:-])@(?=[A-Za-z0-9])|<(?=[A-Za-z!/?])")
_BYLINE = re.compile(r"\*\*(?:\\.|[^*\\\n])+\*\* \(via [^()\n]+\):\n\n")
_SIGNATURE = re.compile(r"\n\n— (?:\\.|[^\n])+ \(via [^()\n]+\)$")


def quiet(text: str) -> str:
    """`text` for GitHub as a person typed it elsewhere: no mention, no HTML."""
    return _QUIET.sub(lambda m: m.group(0) + _ZWSP, text)


def loud(text: str) -> str:
    """What `quiet` made of a text, back as it was typed."""
    return text.replace("@" + _ZWSP, "@").replace("<" + _ZWSP, "<")


def byline(shown: str, source: str) -> str:
    """Who wrote a note and from where, as its first line: `**Alice Example** (via Slack):`."""
    return f"**{markdown(quiet(one_line(shown)))}** (via {markdown(one_line(source))}):"


def note(author: str, source: str, text: str, key: str = "", *, public: bool = False,
         shown: str = "") -> str:
    """`key` (a request's id) lets a repeated request find the note it already wrote;
    `public` publishes the note on the status page (publicupdates.py); `shown`, the
    author's name, opens the visible text (`byline`). The marker keeps the reference."""
    tail = (" public" if public else "") + (f" {_word(key)}" if key else "")
    head = f"{byline(shown, source)}\n\n" if shown else ""
    return f"{NOTE} {_word(author)} {_word(source)}{tail} -->\n{head}{quiet(text.strip())}"


def command(author: str, source: str, line: str, key: str = "", *, shown: str = "") -> str:
    """A command run from Slack or the CLI, kept on the issue so the decision outlives the
    card: the next run executes it like a typed one and attributes it to `author`. `shown`
    (the author's name) signs it below the command, which stays the comment's first line."""
    tail = f" {_word(key)}" if key else ""
    sign = f"\n\n— {byline(shown, source)[:-1]}" if shown else ""
    return f"{COMMAND} {_word(author)} {_word(source)}{tail} -->\n{line.strip()}{sign}"


def key_of(body: str) -> str:
    """The request key of a note or command comment ("" when it has none)."""
    head = body.partition("-->")[0].split()
    if len(head) < 5 or head[1] not in {"incidentbot:note", "incidentbot:command"}:
        return ""
    return next((w for w in head[4:] if w != "public"), "")


def signed(body: str, kind: str) -> Signed | None:
    """(author, source, text) of a note or command comment (`kind` is NOTE or COMMAND): the
    text as it was typed, without the byline or signature the bot showed with it."""
    if not body.startswith(kind):
        return None
    head, _, text = body.partition("-->")
    parts = head.removeprefix(kind).split()
    text = text.strip()
    if kind == NOTE and (found := _BYLINE.match(text)):
        text = text[found.end():]
    elif kind == COMMAND:
        text = _SIGNATURE.sub("", text)
    return Signed(parts[0] if parts else "someone", parts[1] if len(parts) > 1 else "GitHub",
                  loud(text.strip()))


# -- what the opener asked for, kept in the issue body -------------------------------------
def opened(reporter: str | None, page: bool,
           roles: Mapping[str, str | None] | None = None, *, by: str | None = None,
           via: str | None = None) -> str:
    """The opener's asks (reporter, paging, leads) and who opened it through what (`by`,
    `via`: CLI, Slack, monitor…), kept in the issue body; the marker also says that
    `incidentbot open` made the issue (`opened_by_us`), when nothing was asked."""
    words = [f"reporter={_word(reporter)}"] if reporter else []
    if page:
        words.append("page=1")
    words += [f"role.{_word(r)}={_word(who)}" for r, who in sorted((roles or {}).items()) if who]
    if by:
        words.append(f"by={_word(by)}")
    if via:
        words.append(f"via={_word(via)}")
    return OPENED.format(fields=" ".join(words))


def opened_by_us(body: str) -> bool:
    """Was the issue made by `incidentbot open` (whose reconcile provisions it first)?"""
    return _OPENED.search(body) is not None


@dataclass(frozen=True, slots=True)
class Opened:
    reporter: str | None = None
    page: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)
    by: str | None = None  # who opened it (a Slack id, a GitHub login); None: not said
    via: str | None = None  # through what: CLI, Slack, monitor (`_` for spaces)


def parse_opened(body: str) -> Opened:
    """What the opener asked for, from an issue body's opened marker: the last one, which is
    ours (`incidentbot open` appends it after the description; a description typed in Slack
    could hold a look-alike, which would come first)."""
    found = next(reversed(list(_OPENED.finditer(body))), None)
    if found is None:
        return Opened()
    fields = dict(w.partition("=")[::2] for w in found.group(1).split())
    roles = {k.removeprefix("role."): v for k, v in fields.items() if k.startswith("role.") and v}
    return Opened(fields.get("reporter") or None, fields.get("page") == "1", roles,
                  fields.get("by") or None, fields.get("via") or None)


# -- started: when the health checks first saw the outage the monitor opened --------------
def started_at(body: str) -> datetime | None:
    """The moment in an issue body's `started` marker (None: none, or not a time)."""
    found = _STARTED.search(body)
    if found is None:
        return None
    try:
        return datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))
    except ValueError:
        return None
