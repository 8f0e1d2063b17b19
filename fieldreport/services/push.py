"""Web Push: VAPID keys, and one encrypted message to one browser's push subscription.

The deployment's VAPID key pair identifies it to the browsers' push services: the private key
is a PEM file (VAPID_PRIVATE_KEY_FILE; `make run` makes one under var/ readable by its owner
only), the public key is derived from it and handed to browsers as the applicationServerKey.
Payloads are encrypted for the subscription (RFC 8291, aes128gcm) by pywebpush; a push
service answering 404 or 410 means the subscription is gone for good.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from flask import current_app

from fieldreport.errors import NotFound

TTL_SECONDS = 7 * 24 * 3600  # a phone offline for a week still gets the message


class PushGone(Exception):
    """The push service says this subscription no longer exists (404/410)."""


class PushError(Exception):
    """The push service did not accept the message (worth retrying)."""


@lru_cache(maxsize=4)
def _public_key(path: str) -> str:
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    raw = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def configured() -> bool:
    return bool(current_app.config.get("VAPID_PRIVATE_KEY_FILE"))


def public_key() -> str:
    """The applicationServerKey browsers subscribe with (base64url, uncompressed P-256 point)."""
    if not configured():
        raise NotFound(
            "push_not_configured",
            "Web Push is not configured on this server.",
            "Máy chủ chưa bật thông báo đẩy (Web Push).",
        )
    return _public_key(current_app.config["VAPID_PRIVATE_KEY_FILE"])


def send(endpoint: str, keys: dict, payload: dict) -> None:
    """Encrypt `payload` (JSON) for the subscription and hand it to its push service."""
    from pywebpush import WebPushException, webpush  # here: it pulls in aiohttp, which only senders need
    from requests import RequestException

    cfg = current_app.config
    if not configured():
        raise PushError("VAPID_PRIVATE_KEY_FILE is not set")
    try:
        webpush(
            {"endpoint": endpoint, "keys": {"p256dh": keys.get("p256dh"), "auth": keys.get("auth")}},
            data=json.dumps(payload, ensure_ascii=False),
            vapid_private_key=cfg["VAPID_PRIVATE_KEY_FILE"],
            vapid_claims={"sub": cfg.get("VAPID_SUBJECT") or "mailto:admin@localhost"},
            content_encoding="aes128gcm",
            ttl=TTL_SECONDS,
            timeout=10,
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (404, 410):
            raise PushGone(f"push service answered HTTP {status}") from exc
        raise PushError(f"push service: {exc}") from exc
    except RequestException as exc:
        raise PushError(f"push service unreachable: {exc}") from exc
