"""On-call paging over PagerDuty's Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/).

Every event carries the incident's dedup key, so PagerDuty itself makes a repeated trigger or
resolve harmless: retrying is always safe here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from incidentbot.errors import AuthFailed, RateLimited, ServiceError
from incidentbot.settings import Settings
from incidentbot.text import truncate

SERVICE = "PagerDuty"
SUMMARY_MAX = 1024


def connect(settings: Settings) -> PagerDuty:
    """A pager; raises MissingSetting if the routing key is unset."""
    settings.require("PAGERDUTY_ROUTING_KEY")
    return PagerDuty(settings.pagerduty_api_url, settings.pagerduty_routing_key or "",
                     backoff=settings.retry_backoff)


class PagerDuty:
    def __init__(self, url: str, routing_key: str, *, source: str = "incidentbot",
                 backoff: float = 0.5, attempts: int = 4,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._url = url
        self._key = routing_key
        self._source = source
        self._backoff = backoff
        self._attempts = attempts
        self._sleep = sleep
        self._session = requests.Session()

    def trigger(self, dedup_key: str, summary: str, severity: str,
                details: Mapping[str, Any]) -> None:
        self._send({
            "event_action": "trigger", "dedup_key": dedup_key,
            "payload": {"summary": truncate(summary, SUMMARY_MAX), "source": self._source,
                        "severity": severity, "custom_details": dict(details)},
        })

    def resolve(self, dedup_key: str) -> None:
        self._send({"event_action": "resolve", "dedup_key": dedup_key})

    def _send(self, event: dict[str, Any]) -> None:
        body = {"routing_key": self._key, **event}
        what = f"{event['event_action']} {event['dedup_key']}"
        last = "no attempt made"
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(min(self._backoff * 2**attempt, 8.0))
            try:
                response = self._session.post(self._url, json=body, timeout=10)
            except requests.RequestException as exc:
                reason = getattr(exc.args[0] if exc.args else None, "reason", None)
                if isinstance(exc, requests.ConnectionError) and \
                        type(reason).__name__ in {"NewConnectionError", "NameResolutionError"}:
                    # Nothing was sent (refused, no such host): another try only waits.
                    raise ServiceError(SERVICE, f"{what}: cannot connect: {self._url}: check "
                                       "PAGERDUTY_API_URL and the network") from None
                last = f"{type(exc).__name__}"
                continue
            if response.status_code == 202:
                return
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            errors = _errors(response)
            if "routing_key" in errors:
                raise AuthFailed(SERVICE, f"{what}: the routing key was refused")
            raise ServiceError(SERVICE, f"{what}: HTTP {response.status_code}: {errors}")
        if last == "HTTP 429":
            raise RateLimited(SERVICE, 60.0)
        raise ServiceError(SERVICE, f"{what}: gave up after {self._attempts} attempts ({last}) "
                           f"for {self._url}; try again later (https://status.pagerduty.com)")


def _errors(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    return "; ".join(str(e) for e in data.get("errors", [])) or str(data.get("message", ""))
