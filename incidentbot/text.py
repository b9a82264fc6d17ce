"""Escaping untrusted text for Slack mrkdwn, HTML and Markdown, and fitting it into limits."""

from __future__ import annotations

import html
import re

_MRKDWN = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Characters that change the meaning of Markdown text (CommonMark's punctuation that can start
# or end a construct), plus `|` which ends a table cell.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def slack(text: str) -> str:
    """Untrusted text for Slack mrkdwn: shown literally; `<!channel>` and `<@U1>` ping no one.

    https://api.slack.com/reference/surfaces/formatting#escaping
    """
    return text.translate(_MRKDWN)


def slack_code(text: str) -> str:
    """Untrusted text inside inline code in Slack (backticks cannot be escaped, so swapped)."""
    return "`" + slack(text).replace("`", "ˋ") + "`"


def html_text(text: str) -> str:
    """Untrusted text for HTML element content and quoted attributes."""
    return html.escape(text, quote=True)


def markdown(text: str) -> str:
    """Untrusted text for Markdown prose: no formatting, links, headings or HTML from it."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\r", ""))


def markdown_cell(text: str) -> str:
    """Untrusted text for one Markdown table cell: one line, escaped."""
    return markdown(" ".join(text.split()))


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
