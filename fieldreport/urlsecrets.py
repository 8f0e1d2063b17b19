"""Secrets never travel in URLs: refused in query strings, scrubbed from every logged URL.

A URL is written down by access logs, proxies and browsers' history, so citizen tokens,
Open311 API keys and bearer tokens are taken from headers and bodies only (Open311's
`api_key` is a POST form field, per GeoReport v2; its GET resources need no key). A query
string carrying one is refused with a 400 that says where to send it. Logged URLs (gunicorn's
access log, see config/gunicorn_logger.py, and our own log lines, see logs.py) have the values
of secret-looking parameters replaced, including `code` (one-time codes) and `password`.
"""

from __future__ import annotations

import re

from flask import Flask, request

from fieldreport.errors import Invalid

REFUSED = ("citizen_token", "api_key", "access_token", "token", "password")
SCRUBBED = REFUSED + ("code", "key", "apikey", "secret", "otp", "sig", "signature")
_NAMES = "|".join(SCRUBBED)
_PARAM = re.compile(rf"((?:^|[?&;])(?:[a-z0-9_.-]*_)?(?:{_NAMES})=)[^&;#\s\"']*", re.IGNORECASE)
MASK = "[scrubbed]"


def scrub(text: str) -> str:
    """`text` (a URL, a request line, a query string, a log message) with the values of
    secret parameters masked: `?citizen_token=abc&page=2` → `?citizen_token=[scrubbed]&page=2`."""
    return _PARAM.sub(lambda m: m.group(1) + MASK, text) if "=" in text else text


def refuse_in_query() -> None:
    """Before every request: a secret in the query string is a 400, never used."""
    found = [name for name in request.args if name.lower() in REFUSED]
    if found:
        raise Invalid(
            "secret_in_url",
            f"Never put {found[0]} in the URL (URLs are logged): send a citizen token as the "
            "X-Citizen-Token header, a bearer token as the Authorization header, an Open311 "
            "api_key in the POST body.",
            f"Không đặt {found[0]} trong địa chỉ URL (URL bị ghi vào nhật ký): gửi mã công dân "
            "qua header X-Citizen-Token, mã truy cập qua header Authorization, api_key của "
            "Open311 trong nội dung POST.",
            field=found[0],
        )


def init_app(app: Flask) -> None:
    app.before_request(refuse_in_query)
