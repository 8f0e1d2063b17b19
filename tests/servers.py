"""Local HTTP servers standing in for outside services (SMS gateway, Web Push service).

They record every request (method, path, headers, body) and answer with a status the test
chooses, so a test asserts what our code really sent over the wire.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class RecordingServer:
    """An HTTP server on a free local port; `status` is what it answers next (201 by default)."""

    status: int = 201
    received: list[Received] = field(default_factory=list)

    def start(self) -> RecordingServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_GET = _handle

            def log_message(self, *args):  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def texts_to(self, phone: str) -> list[str]:
        """SMS-gateway view: the texts sent to one phone, oldest first."""
        return [r.json()["text"] for r in self.received if r.path.startswith("/sms") and r.json()["to"] == phone]
