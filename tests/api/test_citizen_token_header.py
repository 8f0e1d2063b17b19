"""Every operation that reads X-Citizen-Token declares it, with its format, and refuses one
that cannot be a token (session 5's finding: ten operations read the header undeclared, so the
OpenAPI did not say what they accept and a malformed token was silently ignored)."""

from __future__ import annotations

import pytest

READERS = [
    ("get", "/api/v1/reports/{code}"),
    ("get", "/api/v1/reports/{code}/photos/{photo_id}/{variant}"),
    ("post", "/api/v1/reports/{code}/rating"),
    ("post", "/api/v1/reports/{code}/erasure"),
    ("post", "/api/v1/reports/{code}/reopen"),
    ("post", "/api/v1/reports/{code}/follow"),
    ("post", "/api/v1/reports/{code}/additions"),
    ("get", "/api/v1/reports/{code}/subscriptions"),
    ("post", "/api/v1/reports/{code}/subscriptions"),
    ("put", "/api/v1/reports/{code}/subscriptions/{channel}"),
    ("get", "/api/v1/me/reports"),
    ("post", "/api/v1/reports/{code}/info"),
]


@pytest.mark.parametrize("method, path", READERS)
def test_the_header_is_declared_with_its_format(client, method, path):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    params = paths[path][method].get("parameters", [])
    header = [p for p in params if p["in"] == "header" and p["name"] == "X-Citizen-Token"]
    assert len(header) == 1, f"{method.upper()} {path} reads X-Citizen-Token without declaring it"
    assert header[0]["schema"]["pattern"] and not header[0].get("required", False)


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/api/v1/reports/ABCDEFGHJK", None),
        ("post", "/api/v1/reports/ABCDEFGHJK/follow", None),
        ("post", "/api/v1/reports/ABCDEFGHJK/rating", {"rating": 5}),
        ("get", "/api/v1/reports/ABCDEFGHJK/subscriptions", None),
        ("get", "/api/v1/me/reports", None),
    ],
)
def test_a_token_that_cannot_be_one_is_refused_with_the_header_named(client, method, path, body):
    resp = getattr(client, method)(path, json=body, headers={"X-Citizen-Token": "short"})
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "validation_error" and "X-Citizen-Token" in resp.json["errors"]["headers"]
