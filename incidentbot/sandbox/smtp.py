"""A small SMTP receiver for the sandbox (RFC 5321's core: HELO/EHLO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT), keeping every message it accepts. Python 3.12 dropped `smtpd`; this needs none."""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes, policy
from typing import Any, cast

# How often a serving loop looks for a stop request: stop() waits up to this long, once per
# server (socketserver's default, 0.5 s, made every sandbox stop take a second).
POLL_INTERVAL = 0.02


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        server = cast(SmtpSink, self.server)
        self.reply("220 sandbox ESMTP incidentbot")
        sender, recipients = "", list[str]()
        for _ in range(10_000):  # bounded: a client that never quits is dropped
            raw = self.rfile.readline(65_536)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in {"HELO", "EHLO"}:
                self.reply("250-sandbox" if verb == "EHLO" else "250 sandbox")
                if verb == "EHLO":
                    self.reply("250 8BITMIME")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].strip().strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                if not sender:
                    self.reply("503 need MAIL first")
                    continue
                recipients.append(line.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                if not recipients:
                    self.reply("503 need RCPT first")
                    continue
                self.reply("354 end with <CRLF>.<CRLF>")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline(65_536)
                    if not chunk or chunk in {b".\r\n", b".\n"}:
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                server.accept(sender, recipients, bytes(data))
                sender, recipients = "", []
                self.reply("250 OK: queued")
            elif verb == "RSET":
                sender, recipients = "", []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")


class SmtpSink(socketserver.ThreadingTCPServer):
    """Listens on 127.0.0.1:`port` (0: any free port); `messages` holds what it accepted."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def accept(self, sender: str, recipients: list[str], data: bytes) -> None:
        parsed = message_from_bytes(data, policy=policy.default)
        with self._lock:
            self.messages.append({"from": sender, "to": list(recipients), "message": parsed})

    def start(self) -> SmtpSink:
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name="sandbox-smtp",
                                            kwargs={"poll_interval": POLL_INTERVAL},
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
