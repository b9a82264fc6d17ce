"""One routed GitHub request (`ApiCall`) and the checks GitHub applies to request bodies and
queries, in its words; `Handlers`, what every route group shares."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from incidentbot.sandbox.github_records import GitHubError, failed, invalid_request, parse_time
from incidentbot.sandbox.github_state import Store
from incidentbot.sandbox.http import Request


# -- request bodies: GitHub's schema checks, in its words ---------------------------------------
def wrong_type(key: str, value: Any, expected: str) -> GitHubError:
    return invalid_request(f"For 'properties/{key}', {json.dumps(value)} is not {expected}.")


def body_str(body: Mapping[str, Any], key: str, *, required: bool = False,
         nullable: bool = False) -> str | None:
    if key not in body:
        if required:
            raise invalid_request(f'"{key}" wasn\'t supplied.')
        return None
    value = body[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise wrong_type(key, value, "a string" + (" or null" if nullable else ""))
    return value


def body_enum(body: Mapping[str, Any], key: str, allowed: Sequence[str]) -> str | None:
    value = body_str(body, key, nullable=True)
    if value is not None and value not in allowed:
        raise invalid_request(f"For 'properties/{key}', {json.dumps(value)} is not one of "
                              f"{', '.join(allowed)}.")
    return value


def body_names(key: str, value: Any) -> list[str]:
    """Label names or logins: ["a"], [{"name": "a"}] (labels) or, for labels, "a"."""
    if isinstance(value, str) and key == "labels":
        return [value]
    if not isinstance(value, list):
        raise wrong_type(key, value, "an array")
    out = []
    for item in value:
        if isinstance(item, dict) and key == "labels" and isinstance(item.get("name"), str):
            out.append(item["name"])
        elif isinstance(item, str):
            out.append(item)
        else:
            raise invalid_request(f"For 'items', {json.dumps(item)} is not a string.")
    return out


@dataclass
class ApiCall:
    """One routed request: its parameters, the acting user and what the answer will carry."""

    request: Request
    params: dict[str, str]
    actor: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query

    def body(self) -> dict[str, Any]:
        try:
            data = self.request.json()
        except ValueError:
            raise GitHubError(400, "Problems parsing JSON") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise invalid_request(f"{json.dumps(data)[:60]} is not an object.")
        return data

    def label_names(self) -> list[str]:
        """The add/set-labels body: a bare array (PyGithub) or {"labels": [...]} (the spec)."""
        try:
            data = self.request.json()
        except ValueError:
            raise GitHubError(400, "Problems parsing JSON") from None
        if isinstance(data, dict):
            return body_names("labels", data.get("labels", []))
        return body_names("labels", data if data is not None else [])


Reply = tuple[int, Any]


def utcnow() -> datetime:
    return datetime.now(UTC)


def query_int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def query_enum(query: Mapping[str, str], key: str, allowed: Sequence[str], default: str,
                resource: str) -> str:
    value = query.get(key) or default
    if value not in allowed:
        raise failed(resource, key, "invalid", value=value)
    return value


def query_since(query: Mapping[str, str], resource: str) -> datetime | None:
    if not query.get("since"):
        return None
    moment = parse_time(query["since"])
    if moment is None:
        raise failed(resource, "since", "invalid", value=query["since"])
    return moment


def etag_matches(header: str, etag: str) -> bool:
    def bare(tag: str) -> str:
        return tag.strip().removeprefix("W/").strip('"')
    tags = [bare(t) for t in header.split(",") if t.strip()]
    return "*" in tags or bare(etag) in tags


class Handlers:
    """What the route groups share: the repository's records and GitHub's pagination."""

    store: Store

    @staticmethod
    def page(call: ApiCall, items: Sequence[Any]) -> Sequence[Any]:
        raise NotImplementedError
