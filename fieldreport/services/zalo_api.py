"""The Zalo OA HTTP adapter: send a text to a user, refresh the access token, fetch attachments.

Tokens live in Redis so that every host uses the newest pair (Zalo refresh tokens are single
use); the first pair comes from settings. A refresh happens under a Redis lock when the send
API says the access token is invalid or expired.
"""

from __future__ import annotations

import logging
import time

import requests
from flask import current_app

from fieldreport.extensions import queues

log = logging.getLogger(__name__)
EXPIRED_TOKEN_ERRORS = {-216, -124, -220}  # access token invalid / expired (Zalo OA API)


class ZaloError(Exception):
    """The OA API refused or could not be reached; the job is retried."""


class AttachmentRefused(Exception):
    """An attachment could not be fetched within the limits (size, time, status)."""


def _key(name: str) -> str:
    return f"{queues.prefix}:zalo:{name}"


def _token(name: str) -> str:
    value = queues.redis.get(_key(name))
    if isinstance(value, bytes) and value:  # the client does not decode responses
        return value.decode()
    return current_app.config["ZALO_ACCESS_TOKEN" if name == "access" else "ZALO_REFRESH_TOKEN"]


def refresh() -> str:
    """Trade the refresh token for a new pair; returns the new access token."""
    cfg = current_app.config
    with queues.redis.lock(_key("refresh-lock"), timeout=30, blocking_timeout=30):
        resp = requests.post(
            f"{cfg['ZALO_OAUTH_URL']}/v4/oa/access_token",
            headers={"secret_key": cfg["ZALO_APP_SECRET"]},
            data={"refresh_token": _token("refresh"), "app_id": cfg["ZALO_APP_ID"], "grant_type": "refresh_token"},
            timeout=10,
        )
        body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        if resp.status_code != 200 or "access_token" not in body:
            raise ZaloError(f"token refresh refused: HTTP {resp.status_code} {str(body)[:200]}")
        ttl = int(body.get("expires_in", 3600))
        queues.redis.set(_key("access"), body["access_token"], ex=max(60, ttl - 60))
        if body.get("refresh_token"):
            queues.redis.set(_key("refresh"), body["refresh_token"])
        log.info("zalo: access token refreshed (valid %ss)", ttl)
        return body["access_token"]


def send_text(user_id: str, text: str) -> dict:
    """Send one customer-service text message; refreshes the token once if it expired."""
    cfg = current_app.config
    body = {"recipient": {"user_id": user_id}, "message": {"text": text[:2000]}}
    token = _token("access")
    for attempt in range(2):
        try:
            resp = requests.post(
                f"{cfg['ZALO_API_URL']}/v3.0/oa/message/cs", json=body, headers={"access_token": token}, timeout=10
            )
            answer = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise ZaloError(f"send failed: {type(exc).__name__}: {exc}") from exc
        error = answer.get("error", 0)
        if error == 0:
            return answer
        if error in EXPIRED_TOKEN_ERRORS and attempt == 0:
            token = refresh()
            continue
        raise ZaloError(f"send refused: {error} {answer.get('message')}")
    raise ZaloError("send refused after a token refresh")


def fetch(url: str, max_bytes: int) -> bytes:
    """Download an attachment with a connect/read timeout, a total deadline and a size cap."""
    timeout = current_app.config["ZALO_FETCH_TIMEOUT"]
    if not url.startswith(("https://", "http://")):
        raise AttachmentRefused("not an http(s) URL")
    deadline = time.monotonic() + timeout * 2
    try:
        with requests.get(url, stream=True, timeout=(timeout, timeout)) as resp:
            if resp.status_code != 200:
                raise AttachmentRefused(f"HTTP {resp.status_code}")
            if int(resp.headers.get("content-length") or 0) > max_bytes:
                raise AttachmentRefused("too large")
            data = bytearray()
            for chunk in resp.iter_content(65536):
                data += chunk
                if len(data) > max_bytes:
                    raise AttachmentRefused("too large")
                if time.monotonic() > deadline:
                    raise AttachmentRefused("too slow")
            return bytes(data)
    except requests.RequestException as exc:
        raise AttachmentRefused(type(exc).__name__) from exc
