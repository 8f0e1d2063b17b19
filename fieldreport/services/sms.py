"""SMS through one small provider interface: `log` for development, `http` for an SMS gateway.

Vietnamese brand-name SMS gateways take a registered sender (brand name) and text and are
called over HTTP with a key; the `http` provider POSTs JSON {"to", "text", "brandname", "ref"}
to SMS_GATEWAY_URL with SMS_GATEWAY_AUTH as the Authorization header and treats any 2xx as
accepted. The `log` provider writes the text to the log (that is how `make run` shows a sign-in
code to a newcomer); it must not be used in production.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import urllib3
from flask import current_app

log = logging.getLogger("fieldreport.sms")
_http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=10), retries=False)


class SmsError(Exception):
    """The provider did not accept the message."""


def masked(phone: str) -> str:
    """+84912345678 → +8491****678: enough to tell numbers apart in logs, not to call them."""
    return phone[:5] + "*" * max(0, len(phone) - 8) + phone[-3:] if len(phone) > 8 else "***"


def _send_log(phone: str, text: str, ref: str) -> None:
    log.info("SMS to %s (ref %s): %s", masked(phone), ref, text)


def _send_http(phone: str, text: str, ref: str) -> None:
    cfg = current_app.config
    url = cfg.get("SMS_GATEWAY_URL")
    if not url:
        raise SmsError("SMS_GATEWAY_URL is not set")
    headers = {"Content-Type": "application/json"}
    if cfg.get("SMS_GATEWAY_AUTH"):
        headers["Authorization"] = cfg["SMS_GATEWAY_AUTH"]
    body = json.dumps(
        {"to": phone, "text": text, "brandname": cfg.get("SMS_BRANDNAME"), "ref": ref}, ensure_ascii=False
    ).encode()
    try:
        resp = _http.request("POST", url, body=body, headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        raise SmsError(f"SMS gateway unreachable: {exc}") from exc
    if not 200 <= resp.status < 300:
        raise SmsError(f"SMS gateway answered HTTP {resp.status}")


PROVIDERS: dict[str, Callable[[str, str, str], None]] = {"log": _send_log, "http": _send_http}


def send(phone: str, text: str, ref: str) -> None:
    """Send `text` to an E.164 phone; `ref` identifies the message at the gateway (idempotency)."""
    name = current_app.config.get("SMS_PROVIDER") or "log"
    provider = PROVIDERS.get(name)
    if provider is None:
        raise SmsError(f"unknown SMS_PROVIDER {name!r}")
    provider(phone, text, ref)
