"""Sending notifications beyond Slack: webhooks over HTTPS (requests), email over SMTP
(smtplib). The edge for notify.py; each send is one attempt plus retries of what is safe."""

from __future__ import annotations

import json
import os
import smtplib
import time
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import formatdate

import requests

from incidentbot.core.config import NotifyTarget
from incidentbot.core.errors import MissingSetting, ServiceError
from incidentbot.core.settings import Settings


class Sender:
    def __init__(self, settings: Settings, *, env: Mapping[str, str] | None = None,
                 attempts: int = 3, sleep: Callable[[float], None] = time.sleep) -> None:
        self._settings = settings
        self._env = os.environ if env is None else env
        self._attempts = attempts
        self._sleep = sleep
        self._session = requests.Session()

    def send(self, target: NotifyTarget, key: str, payload: str) -> None:
        if target.kind == "email":
            self._email(target, key, json.loads(payload))
        else:
            self._post(target, key, payload)

    def _url(self, target: NotifyTarget) -> str:
        if target.url_env:
            url = self._env.get(target.url_env, "").strip()
            if not url:
                raise MissingSetting(target.url_env, f"the URL of the {target.name!r} "
                                                     "notification webhook")
            return url
        return target.url or ""

    def _post(self, target: NotifyTarget, key: str, payload: str) -> None:
        """POST the JSON; 429 and 5xx are retried (the key lets the receiver drop a repeat).
        The URL is never shown in an error: it carries the webhook's secret."""
        url = self._url(target)
        last = "no attempt made"
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(min(self._settings.retry_backoff * 2**attempt, 8.0))
            try:
                response = self._session.post(
                    url, data=payload.encode(), timeout=10,
                    headers={"Content-Type": "application/json", "Idempotency-Key": key})
            except requests.RequestException as exc:
                last = type(exc).__name__
                continue
            if 200 <= response.status_code < 300:
                return
            last = f"HTTP {response.status_code}"
            if response.status_code != 429 and response.status_code < 500:
                break
        raise ServiceError(target.name, f"the webhook refused the notification ({last})")

    def _email(self, target: NotifyTarget, key: str, message: Mapping[str, object]) -> None:
        settings = self._settings
        if not settings.smtp_host:
            raise MissingSetting("INCIDENTBOT_SMTP_HOST", "the SMTP server that sends "
                                                          "incident emails")
        mail = EmailMessage()
        mail["From"] = settings.smtp_from
        mail["To"] = ", ".join(target.to)
        mail["Subject"] = str(message["subject"])
        mail["Date"] = formatdate(usegmt=True)
        # The key as Message-ID: a repeat after a crash is the same message to mail systems.
        mail["Message-ID"] = f"<{key.replace(':', '.')}@incidentbot>"
        mail.set_content(str(message["body"]))
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise ServiceError(target.name, f"email not sent: {type(exc).__name__}") from None


def connect(settings: Settings | None = None) -> Sender:
    return Sender(settings or Settings.from_env())

