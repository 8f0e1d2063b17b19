"""Local HTTP servers standing in for outside services (SMS gateway, Web Push service), and the
environment a real gunicorn of ours runs with in the API tests (gunicorn_env).

The servers record every request (method, path, headers, body) and answer with a status the test
chooses, so a test asserts what our code really sent over the wire.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: object  # an http.client.HTTPMessage: names are case-insensitive
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
                outer.received.append(Received(self.command, self.path, self.headers, body))  # case-insensitive
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


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class Browser:
    """What a browser holds for one Web Push subscription: a P-256 key pair and an auth secret.

    `subscription(endpoint)` is what PushSubscription.toJSON() would give the page;
    `read(received)` decrypts a message the push service was handed (RFC 8291, aes128gcm),
    exactly as the browser would."""

    private_key: object = None
    auth: bytes = b""

    def __post_init__(self):
        from cryptography.hazmat.primitives.asymmetric import ec

        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self, endpoint: str) -> dict:
        from cryptography.hazmat.primitives import serialization

        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def read(self, received: Received) -> dict:
        import http_ece

        assert received.headers.get("Content-Encoding") == "aes128gcm"
        return json.loads(
            http_ece.decrypt(received.body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        )


def vapid_key_file(directory) -> str:
    """A fresh VAPID private key (PEM) in `directory`, as `make run` makes one under var/."""
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = Path(directory) / "vapid_private.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(path)


def gunicorn_env(config, s3_server, port: int, name: str, workers: int, **extra: str) -> dict:
    """The environment of a real gunicorn (config/gunicorn.conf.py) on the session's database,
    Redis and S3 server, with its own queue prefix; `extra` adds or overrides variables."""
    env = dict(
        os.environ,
        FIELDREPORT_DATABASE_URL=config.DATABASE_URL,
        FIELDREPORT_REDIS_URL=config.REDIS_URL,
        FIELDREPORT_QUEUE_PREFIX=f"fieldreport-{name}-{port}",
        FIELDREPORT_S3_ENDPOINT=s3_server.endpoint,
        FIELDREPORT_S3_PUBLIC_ENDPOINT=s3_server.endpoint,
        FIELDREPORT_S3_ACCESS_KEY=s3_server.key,
        FIELDREPORT_S3_SECRET_KEY=s3_server.secret,
        FIELDREPORT_S3_BUCKET=config.S3_BUCKET,
        FIELDREPORT_SECRET_KEY="gunicorn-test-secret",
        FIELDREPORT_LOG_JSON="0",
        PORT=str(port),
        HOST="127.0.0.1",
        WEB_CONCURRENCY=str(workers),
        GUNICORN_THREADS="2",
    )
    env.update(extra)  # a keyword of dict() given twice would be a TypeError, not an override
    return env
