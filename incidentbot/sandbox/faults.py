"""Faults the sandbox injects on request: latency, rate limits, 5xx, dropped connections."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("latency", "rate_limit", "error", "drop")
SERVICES = ("github", "slack", "pagerduty", "pypi", "any")
WHEN = ("before", "after")


class FaultSpecError(ValueError):
    """A fault rule that cannot be understood; the message names the field."""


@dataclass(slots=True)
class Fault:
    """One rule: which calls it hits, what it does, and how many more times.

    `when="after"` lets the emulator do the work first and then fails the answer, which is
    how a real server that wrote something and then timed out looks to a client.
    """

    kind: str
    service: str = "any"
    operation: str = ".*"
    times: int | None = 1
    seconds: float = 0.0
    status: int = 500
    retry_after: int = 1
    when: str = "before"
    skip: int = 0  # let this many matching calls through first ("fail at call k+1")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FaultSpecError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.service not in SERVICES:
            raise FaultSpecError(
                f"service: expected one of {', '.join(SERVICES)}, got {self.service!r}"
            )
        if self.when not in WHEN:
            raise FaultSpecError(f"when: expected before or after, got {self.when!r}")
        if self.skip < 0:
            raise FaultSpecError(f"skip: expected 0 or more calls, got {self.skip}")
        if self.times is not None and self.times < 1:
            raise FaultSpecError(f"times: expected a positive count or null, got {self.times}")
        if not 0 <= self.seconds <= 30:
            raise FaultSpecError(f"seconds: expected 0 to 30, got {self.seconds}")
        if self.kind == "error" and not 500 <= self.status <= 599:
            raise FaultSpecError(f"status: expected 500 to 599, got {self.status}")
        try:
            re.compile(self.operation)
        except re.error as exc:
            raise FaultSpecError(f"operation: not a regular expression: {exc}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultSpecError(f"unknown field(s): {', '.join(unknown)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def matches(self, service: str, operation: str) -> bool:
        if self.service not in {"any", service}:
            return False
        return re.fullmatch(self.operation, operation) is not None


class Faults:
    """The active rules; thread-safe, each hit counted down until the rule is spent."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault | Mapping[str, Any] | None = None, **fields: Any) -> Fault:
        rule = fault if isinstance(fault, Fault) else Fault.from_dict({**(fault or {}), **fields})
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def take(self, service: str, operation: str, when: str) -> list[Fault]:
        """The rules that fire for this call at this moment, each spending one use."""
        fired: list[Fault] = []
        with self._lock:
            for rule in list(self._rules):
                if rule.when != when and rule.kind != "latency":
                    continue
                if rule.kind == "latency" and when != "before":
                    continue
                if not rule.matches(service, operation):
                    continue
                if rule.skip > 0:  # counted once per call: only in the rule's own phase
                    rule.skip -= 1
                    continue
                fired.append(rule)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
        return fired
