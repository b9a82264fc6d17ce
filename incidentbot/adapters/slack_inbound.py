"""What comes from Slack: its request signatures verified (and made, for the preflight), and
Socket Mode's connection relaying requests to the dispatcher's handlers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

def verify(signing_secret: str, body: bytes, timestamp: str | None, signature: str | None,
           now: float | None = None) -> bool:
    """Slack's request signature (v0, HMAC-SHA256, compared in constant time) and a timestamp
    within five minutes (https://api.slack.com/authentication/verifying-requests-from-slack)."""
    from slack_sdk.signature import SignatureVerifier

    if not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit():
        return False
    clock = (lambda: now) if now is not None else time.time
    verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))  # type: ignore[arg-type]
    try:
        return bool(verifier.is_valid(body=body, timestamp=timestamp, signature=signature))
    except (UnicodeDecodeError, ValueError):
        return False


def sign(signing_secret: str, body: bytes, timestamp: str) -> str:
    """The signature Slack would send (for the sandbox, tests and `doctor`), computed here
    from Slack's documented recipe rather than by the verifier it is checked with."""
    import hashlib
    import hmac

    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class _Clock:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def run_socket_mode(app_token: str, bot_token: str, handle: Callable[[str, Any], Any],
                    *, base_url: str | None = None) -> None:
    """Serve the dispatcher's handlers over Socket Mode until interrupted.

    `handle(kind, payload)` returns a Reply; its body becomes the acknowledgement's payload
    (for a slash command, the ephemeral answer; for a modal, its errors).
    """
    from slack_sdk import WebClient
    from slack_sdk.socket_mode.builtin import SocketModeClient
    from slack_sdk.socket_mode.client import BaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse

    web = WebClient(token=bot_token, base_url=base_url or "https://slack.com/api/")
    client = SocketModeClient(app_token=app_token, web_client=web)

    def listener(sm: BaseSocketModeClient, request: SocketModeRequest) -> None:
        reply = handle(request.type, request.payload)
        body = reply.body if isinstance(reply.body, dict) else None
        sm.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id,
                                                        payload=body))

    client.socket_mode_request_listeners.append(listener)
    client.connect()
    try:
        while True:
            time.sleep(3600)
    finally:
        client.close()
