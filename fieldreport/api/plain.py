"""JSON answers sent without marshmallow's per-field walk, for hot list pages.

flask-smorest dumps a view's return value through its response schema field by field (at
50 items a page, about 40% of a public listing's CPU: issue 20). A few services already
build exactly the schema's shape from plain values; their views return `plain.send(data)`
and keep `@blp.response(..., Schema)` for the OpenAPI document. The body is what the schema
dump would have produced, byte for byte: the same keys, datetimes as ISO 8601 (marshmallow's
DateTime), then Flask's own JSON settings (sorted keys, compact, Vietnamese unescaped).
Tests hold each such view to what its schema would send (tests/api/test_reports_queries.py,
tests/api/test_staff.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from flask import Response, current_app
from flask.json.provider import DefaultJSONProvider


def _default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return current_app.json.default(value)


def send(data, status: int = 200) -> Response:
    """Flask's JSON response of `data` (DefaultJSONProvider.response), datetimes in ISO 8601."""
    provider = cast(DefaultJSONProvider, current_app.json)  # create_app keeps Flask's default provider
    pretty = provider.compact is False or (provider.compact is None and current_app.debug)
    layout = {"indent": 2} if pretty else {"separators": (",", ":")}
    body = provider.dumps(data, default=_default, **layout)
    return current_app.response_class(f"{body}\n", status=status, mimetype=provider.mimetype)
