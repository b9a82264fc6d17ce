"""Slack Web API arguments as Slack reads them (form-encoded "1"/"true", comma lists, JSON
strings, or a JSON body), cursor pagination, and the limits Slack enforces."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from incidentbot.sandbox.http import Request
from incidentbot.sandbox.slack_state import (
    SlackError,
    decode_cursor,
    encode_cursor,
)

Args = dict[str, Any]
Result = dict[str, Any]
T = TypeVar("T")

TEXT_LIMIT = 40_000  # https://api.slack.com/changelog/2018-04-truncating-really-long-messages
TOPIC_LIMIT = 250  # conversations.setTopic / setPurpose: too_long
TRIGGER_SECONDS = 3.0  # https://docs.slack.dev/interactivity/handling-user-interaction
TRUNCATED = {
    "warning": "message_truncated",
    "response_metadata": {
        "messages": ["[WARN] Your message was truncated but still posted. The `text` field "
                     "accepts up to 40,000 characters."],
        "warnings": ["message_truncated"],
    },
}


def invalid_arguments(*messages: str) -> SlackError:
    return SlackError("invalid_arguments",
                      response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})


# -- arguments: form-encoded ("1"/"true", comma lists, JSON strings) or a JSON body ----------
def parse_args(request: Request) -> Args:
    args: Args = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = request.json()
        except ValueError:
            raise SlackError("invalid_json") from None
        if body is not None and not isinstance(body, dict):
            raise SlackError("json_not_object")
        args.update(body or {})
    elif request.body:
        try:
            args.update(request.form())
        except UnicodeDecodeError:
            raise SlackError("invalid_form_data") from None
    return args


def arg_str(args: Args, name: str) -> str:
    value = args.get(name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def arg_bool(args: Args, name: str) -> bool:
    value = args.get(name)
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true"} if value is not None else False


def arg_json(args: Args, name: str, error: str) -> Any:
    value = args.get(name)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    return value


def page_of(items: Sequence[T], key: Callable[[T], str], kind: str, args: Args, *,
          default: int, most: int) -> tuple[list[T], str]:
    """One page of `items` and the next cursor ("" at the end), the way Slack paginates."""
    raw = args.get("limit")
    try:
        limit = int(raw) if raw not in (None, "") else 0
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    if limit < 0:
        raise SlackError("invalid_limit")
    limit = min(limit or default, most)
    start = 0
    cursor = arg_str(args, "cursor")
    if cursor:
        wanted = decode_cursor(kind, cursor)
        found = next((i for i, item in enumerate(items) if key(item) == wanted), None)
        if found is None:
            raise SlackError("invalid_cursor")
        start = found
    end = start + limit
    return list(items[start:end]), encode_cursor(kind, key(items[end])) if end < len(items) else ""
