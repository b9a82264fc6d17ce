"""On-call paging over PagerDuty's Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/),
and who is on call over its REST API (https://developer.pagerduty.com/api-reference/).

Every event carries the incident's dedup key, so PagerDuty itself makes a repeated trigger or
resolve harmless: retrying is always safe here. On-call lookups are reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from incidentbot.core.errors import AuthFailed, MissingSetting, RateLimited, ServiceError
from incidentbot.core.settings import PURPOSE, Settings
from incidentbot.core.text import truncate

if TYPE_CHECKING:
    import requests

    from incidentbot.core.oncall import OnCall

SERVICE = "PagerDuty"
SUMMARY_MAX = 1024


def connect(settings: Settings) -> PagerDuty:
    """A pager; raises MissingSetting if neither the routing key nor a REST key is set."""
    if not settings.pagerduty_api_key:
        settings.require("PAGERDUTY_ROUTING_KEY")
    return PagerDuty(settings.pagerduty_api_url, settings.pagerduty_routing_key or "",
                     backoff=settings.retry_backoff, rest_url=settings.pagerduty_rest_url,
                     api_key=settings.pagerduty_api_key)


class PagerDuty:
    def __init__(self, url: str, routing_key: str, *, source: str = "incidentbot",
                 backoff: float = 0.5, attempts: int = 4,
                 sleep: Callable[[float], None] = time.sleep,
                 rest_url: str = "https://api.pagerduty.com", api_key: str | None = None) -> None:
        self._url = url
        self._key = routing_key
        self._rest = rest_url.rstrip("/")
        self._api_key = api_key
        self._source = source
        self._backoff = backoff
        self._attempts = attempts
        self._sleep = sleep
        self._made: requests.Session | None = None

    @property
    def _session(self) -> requests.Session:
        """requests, imported on the first page or lookup: a sync that pages no one (the
        usual one) does not pay its import on a cold start."""
        if self._made is None:
            import requests

            self._made = requests.Session()
        return self._made

    def trigger(self, dedup_key: str, summary: str, severity: str,
                details: Mapping[str, Any]) -> None:
        self._send({
            "event_action": "trigger", "dedup_key": dedup_key,
            "payload": {"summary": truncate(summary, SUMMARY_MAX), "source": self._source,
                        "severity": severity, "custom_details": dict(details)},
        })

    def resolve(self, dedup_key: str) -> None:
        self._send({"event_action": "resolve", "dedup_key": dedup_key})

    @property
    def can_look_up(self) -> bool:
        """True when a REST API key is set: who is on call can be asked."""
        return bool(self._api_key)

    def on_call(self, policy_ids: Sequence[str]) -> list[OnCall]:
        """The first-level on-call person of each escalation policy, with their email.

        https://developer.pagerduty.com/api-reference/3a6b910f11050-list-all-of-the-on-calls
        (`include[]=users` puts each user's email in the answer: one request in all)."""
        from incidentbot.core.oncall import OnCall  # with the card: not on every start

        if not self._api_key:
            raise MissingSetting("PAGERDUTY_API_KEY", PURPOSE["PAGERDUTY_API_KEY"])
        params: list[tuple[str, str]] = [("escalation_policy_ids[]", p) for p in policy_ids]
        params += [("include[]", "users"), ("earliest", "true"), ("limit", "100")]
        data = self._get("/oncalls", params, f"on-call for {', '.join(policy_ids)}")
        found: dict[str, OnCall] = {}
        for entry in data.get("oncalls") or []:
            policy = entry.get("escalation_policy") or {}
            user = entry.get("user") or {}
            if entry.get("escalation_level") != 1 or policy.get("id") not in policy_ids:
                continue
            found.setdefault(str(policy["id"]), OnCall(
                policy=str(policy["id"]), policy_name=str(policy.get("summary", "")),
                name=str(user.get("name") or user.get("summary") or ""),
                email=str(user.get("email") or "")))
        return [found[p] for p in policy_ids if p in found]

    def _get(self, path: str, params: list[tuple[str, str]], what: str) -> dict[str, Any]:
        headers = {"Authorization": f"Token token={self._api_key}",
                   "Accept": "application/vnd.pagerduty+json;version=2"}
        import requests

        last = "no attempt made"
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(min(self._backoff * 2**attempt, 8.0))
            try:
                response = self._session.get(self._rest + path, params=params,
                                             headers=headers, timeout=10)
            except requests.RequestException as exc:
                last = type(exc).__name__
                continue
            if response.status_code == 200:
                data: dict[str, Any] = response.json()
                return data
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code in {401, 403}:
                raise AuthFailed(SERVICE, f"{what}: the REST API key was refused")
            raise ServiceError(SERVICE, f"{what}: HTTP {response.status_code}: "
                                        f"{_errors(response)}")
        if last == "HTTP 429":
            raise RateLimited(SERVICE, 60.0)
        raise ServiceError(SERVICE, f"{what}: gave up after {self._attempts} attempts ({last})")

    def _send(self, event: dict[str, Any]) -> None:
        if not self._key:
            raise MissingSetting("PAGERDUTY_ROUTING_KEY", PURPOSE["PAGERDUTY_ROUTING_KEY"])
        body = {"routing_key": self._key, **event}
        what = f"{event['event_action']} {event['dedup_key']}"
        import requests

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
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    return "; ".join(str(e) for e in data.get("errors", [])) or str(
        data.get("message") or error.get("message", ""))
