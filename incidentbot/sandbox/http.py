"""The request and response records the sandbox's API emulators exchange with its server."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as an emulator sees it; header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_url: str
    # The query string as sent: repeated keys (`ids[]=a&ids[]=b`) are all here.
    raw_query: str = ""

    def json(self) -> Any:
        """The body parsed as JSON, or None when empty; ValueError when malformed."""
        if not self.body.strip():
            return None
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body parsed as application/x-www-form-urlencoded (last value wins)."""
        pairs = urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)
        return dict(pairs)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def bearer_token(self) -> str | None:
        """The token from `Authorization: Bearer|token X`, if any."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() in {"bearer", "token"} and token.strip():
            return token.strip()
        return None


@dataclass(frozen=True, slots=True)
class Response:
    """What an emulator answers; `drop` closes the connection without an answer."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> Response:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode("utf-8"), merged)

    @classmethod
    def empty(cls, status: int, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status, b"", dict(headers or {}))

    def with_headers(self, extra: Mapping[str, str]) -> Response:
        return Response(self.status, self.body, {**self.headers, **extra}, self.drop)
