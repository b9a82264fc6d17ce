"""Escaping untrusted text for Slack mrkdwn, HTML and Markdown, and fitting it into limits."""

from __future__ import annotations

import html
import re
from pathlib import Path

# Control characters (NUL, ESC, ...) shown as their visible pictures (␀, ␛): Slack drops or
# rejects some, and none is meant to be read as is. Tab and newlines stay. Explicit bidi
# embeddings, overrides and isolates (U+202E RIGHT-TO-LEFT OVERRIDE, ...) would run on past
# the untrusted text and flip the bot's own words after it: each shows as U+FFFD. Arabic or
# Hebrew text needs none of them to read right.
_CONTROLS = {
    **{chr(c): chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)},
    "\x7f": "\u2421",
    **{chr(c): "\ufffd" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))},
}
_TERMINAL = str.maketrans({**_CONTROLS, "\x9b": "\ufffd"})  # and CSI, the 8-bit ESC [
_MRKDWN = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", **_CONTROLS})
# Where Slack takes text without escapes (a channel topic or purpose): look-alike brackets.
_PLAIN = str.maketrans({"<": "‹", ">": "›", **_CONTROLS})
# Characters that change the meaning of inline Markdown (emphasis, code, links and images,
# raw HTML, strikethrough, escapes) plus `|`, which ends a table cell. `(` and `)` only
# matter after `]`, which is escaped.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
# What starts a block when it opens a line: a heading, quote, list item, rule, setext line,
# or a table's delimiter row (`:-`).
_MARKDOWN_BLOCK = re.compile(r"^(\s*)([#>+=:-]|\d+[.)])", re.MULTILINE)


def slack(text: str) -> str:
    """Untrusted text for Slack mrkdwn: `<!channel>` and `<@U1>` ping no one, nothing in it
    becomes a link, control characters show as their pictures and bidi overrides cannot
    reach past it. Emphasis marks (`*`, `_`, `~`, backticks) have no escape in mrkdwn and
    still format; never wrap such text in marks of ours it could pair with.

    https://api.slack.com/reference/surfaces/formatting#escaping
    """
    return text.translate(_MRKDWN)


def slack_plain(text: str) -> str:
    """Untrusted text for a Slack field that takes no escapes (topic, purpose): one line,
    angle brackets as look-alikes (‹ ›), so nothing in it becomes a mention or a link."""
    return one_line(text).translate(_PLAIN)


def html_text(text: str) -> str:
    """Untrusted text for HTML element content and quoted attributes."""
    return html.escape(text, quote=True)


def markdown(text: str) -> str:
    """Untrusted text for Markdown prose: no formatting, links, headings or HTML from it.

    Inline specials are escaped everywhere; a character that would open a block (`#`, `>`,
    `-`, `+`, `=`, `1.`) is escaped only at the start of a line, so ordinary text keeps
    its hyphens and full stops readable in the source."""
    # Leading spaces would make an indented code block: lines start flush.
    flush = "\n".join(line.lstrip() for line in text.replace("\r", "").split("\n"))
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", flush)
    def block(m: re.Match[str]) -> str:
        marker = m.group(2)
        if marker[0].isdigit():  # "1." -> "1\.": a backslash before a digit would show
            return m.group(1) + marker[:-1] + "\\" + marker[-1]
        return m.group(1) + "\\" + marker

    return _MARKDOWN_BLOCK.sub(block, escaped)


def markdown_cell(text: str) -> str:
    """Untrusted text for one Markdown table cell: one line, escaped."""
    return markdown(" ".join(text.split()))


def terminal(text: str, *, lines: bool = False) -> str:
    """Untrusted text for a terminal, on one line (`lines`: its lines kept): an escape
    sequence in an issue title could otherwise move the cursor, clear the screen or retitle
    the window; control characters show as their pictures (␛) and bidi overrides as U+FFFD,
    as in Slack."""
    return (text if lines else one_line(text)).translate(_TERMINAL)


EMPHASIS = "*_~`"  # mrkdwn's emphasis marks, which it cannot escape


def slack_strong(escaped: str) -> str:
    """Escaped text in bold, unless it has an emphasis mark of its own: mrkdwn cannot escape
    those, and ours around it would pair with them and break."""
    return escaped if any(mark in escaped for mark in EMPHASIS) else f"*{escaped}*"


def one_line(text: str) -> str:
    """Whitespace (newlines included) folded to single spaces."""
    return " ".join(text.split())


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` characters, with an ellipsis when cut."""
    if limit < len(ellipsis):
        raise ValueError(f"limit must be at least {len(ellipsis)}")
    if len(text) <= limit:
        return text
    return text[: limit - len(ellipsis)].rstrip() + ellipsis


def truncate_escaped(text: str, limit: int) -> str:
    """Slack-escaped `text` within `limit` characters, never cutting an `&amp;` in half."""
    escaped = slack(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + "…"


def templates_dir() -> Path:
    """Where incidentbot's own templates are: inside the installed package (the build puts
    the repository's top-level `templates/` there), else in the checkout it runs from. The
    top-level folder is the one copy; a team's repository overrides it file by file."""
    package = Path(__file__).resolve().parents[1]  # incidentbot/, this file being core/text.py
    inside = package / "templates"
    return inside if inside.is_dir() else package.parent / "templates"
