"""What the dispatcher answers (HTTP replies, ephemeral messages), its bounded memory of
what it has seen, and the small text helpers its handlers share."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incidentbot.core.commands import Change
    from incidentbot.core.config import Config
    from incidentbot.core.model import LabelFields

JSON = "application/json; charset=utf-8"
MAX_BODY = 256 * 1024  # Slack's payloads are far smaller; anything bigger is not Slack
MARKER = re.compile(r"incidentbot:([\w.-]+/[\w.-]+)#(\d+)")
# The command rules speak in issue-comment words (`/sev 2`); in Slack they are `/incident sev 2`.
COMMENT_WORD = re.compile(r"(?<![\w/])/(status|sev|role|service|resolve|close|reopen)\b")


def slack_words(exc: Exception) -> str:
    return COMMENT_WORD.sub(r"/incident \1", str(exc))


def private(called: str, config: Config) -> str:
    """The refusal for someone outside a private incident: `called` is what they named it
    by (`#12` when they gave its number, else the name they typed, quoted), never its
    title, nor its number when they did not give it."""
    where = " (and in the security channel)" if config.slack.security_channel else ""
    return f"{called} is private: only the people in its channel{where} see it or change it."


def not_an_incident(number: int) -> str:
    return f":warning: #{number} is not an incident of this repository."


def closed(number: int, url: str) -> str:
    return f"#{number} is closed; the record is on <{url}|the issue>."


def reopen_advice(number: int, status: str = "investigating") -> str:
    return f"To reopen it: `/incident reopen {status} #{number}`"


def unchanged(number: int, fields: LabelFields, change: Change, config: Config) -> str:
    """What a change that changes nothing is told: what the incident already is."""
    if change.status is not None:
        now = fields.status.value
    elif change.severity is not None:
        now = config.severity(change.severity).name
    else:
        now = "on " + (", ".join(fields.services) or "no service")
    return f"#{number} is already {now}; nothing changed."


@dataclass
class Reply:
    """What the dispatcher answers over HTTP (or acks over Socket Mode)."""

    status: int = 200
    body: dict[str, Any] | str | None = None

    def encode(self) -> tuple[str, list[tuple[str, str]], bytes]:
        if self.body is None:
            return _status(self.status), [("Content-Length", "0")], b""
        if isinstance(self.body, str):
            data = self.body.encode()
            return _status(self.status), [("Content-Type", "text/plain; charset=utf-8"),
                                          ("Content-Length", str(len(data)))], data
        data = json.dumps(self.body).encode()
        return _status(self.status), [("Content-Type", JSON),
                                      ("Content-Length", str(len(data)))], data


def _status(code: int) -> str:
    return {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized",
            403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed",
            413: "413 Payload Too Large"}.get(code, f"{code} Status")


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> Reply:
    body: dict[str, Any] = {"response_type": "ephemeral", "text": text}
    if blocks:
        body["blocks"] = blocks
    return Reply(200, body)


class Seen:
    """A bounded memory of recent keys (signatures, event ids, submissions)."""

    def __init__(self, size: int = 10_000) -> None:
        self._items: OrderedDict[str, float] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """True the first time `key` is seen."""
        with self._lock:
            if key in self._items:
                return False
            self._items[key] = time.monotonic()
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return True


def typed(values: Mapping[str, Any], block: str) -> str | None:
    """A text input's value; None when the form has no such block."""
    if block not in values:
        return None
    return str(((values.get(block) or {}).get("value") or {}).get("value") or "")


def bind(work: Callable[[dict[str, str], str], None], request: dict[str, str],
          value: str) -> Callable[[], None]:
    return lambda: work(request, value)


def markdown_inline(text: str) -> str:
    from incidentbot.core.text import markdown

    return markdown(text)


# Commands that act on one incident, and may name it by number from any channel.
TAKES_NUMBER = {"close", "resolve", "reopen", "update"}


def split_target(verb: str, rest: str) -> tuple[int | None, str]:
    """The incident a command names (`close 12`, `status fixing #12`) and the rest of it."""
    words = rest.split()
    if not words:
        return None, rest
    last = words[-1]
    if (last.startswith("#") and last[1:].isdigit()) or (verb in TAKES_NUMBER
                                                       and last.isdigit() and len(words) == 1):
        return int(last.lstrip("#")), " ".join(words[:-1])
    return None, rest


def number_of(ref: str) -> int | None:
    ref = ref.strip().lstrip("#")
    return int(ref) if ref.isdigit() else None


def plain(text: str) -> str:
    from incidentbot.core.text import one_line, truncate_escaped

    return truncate_escaped(one_line(text), 200)


def code(text: str) -> str:
    """Typed text inside a code span: shown literally, `<!here>` pings no one."""
    from incidentbot.core.text import one_line, slack

    return slack(one_line(text).replace("`", "ˋ")[:40])


def mention(ref: str) -> str:
    from incidentbot.core.render.messages import person

    return person(ref)
