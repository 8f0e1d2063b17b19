"""Hostile input on every route (API, Open311, console forms, citizen pages): never a 5xx.

The route list comes from app.url_map, so a route added later is fuzzed too. Each route gets
the values an outside review found to crash the service (NUL bytes, lone surrogates, JSON
nested 2,000 deep, a 5,000-digit number, a page number past any integer column) in its query,
form, JSON body and path, anonymously and as signed-in staff and admin (API bearer tokens and
the console's own session with its CSRF token).
"""

from __future__ import annotations

import json
import re

import pytest

from tests import factories as f

NUL = "a\x00b"
HUGE_PAGE = "99999999999999999999"
LONG_NUMBER = "9" * 5000
DEEP = "[" * 2000 + "]" * 2000
# Query and form names the routes read (the API's come from its OpenAPI spec as well).
NAMES = [
    "page",
    "page_size",
    "status",
    "category",
    "area",
    "unit",
    "q",
    "lat",
    "long",
    "lon",
    "radius",
    "bbox",
    "start_date",
    "end_date",
    "updated_after",
    "updated_before",
    "service_request_id",
    "service_code",
    "lang",
    "locale",
    "next",
    "overdue",
    "extensions",
    "from",
    "to",
    "year",
    "month",
    "zoom",
    "commune",
    "code",
    "token",
    "phone",
    "username",
    "password",
    "reason",
    "question",
    "new_due_at",
    "apology",
    "answer",
    "note",
    "duplicate_of",
    "back",
    "description",
    "email",
    "first_name",
    "last_name",
    "address_string",
    "media_url",
    "updated_datetime",
    "attribute[size]",
    "format",
]
TEXT_VALUES = [NUL, HUGE_PAGE, LONG_NUMBER]
# JSON texts sent raw: a lone surrogate escape, deep nesting, a 5,000-digit literal.
JSON_BODIES = [
    '{"x": "\\ud800"}',
    DEEP,
    '{"a": ' + DEEP + "}",
    '{"n": ' + LONG_NUMBER + "}",
    '{"n": 1' + "0" * 5000 + ".5}",
    '{"k\\u0000": 1}',
]


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def _paths(rule, code: str) -> list[str]:
    """The rule with real values, then with the path variables themselves hostile."""

    def fill(text_value: str, int_value: str) -> str:
        def one(m):
            conv, name = (m.group(1) or ""), m.group(2)
            if conv.startswith("int"):
                return int_value
            if conv.startswith("any("):
                return conv[4:].split(",")[0].strip(" )")
            if name == "fmt":
                return "json"
            if name in ("code", "service_request_id", "token"):
                return code if text_value == "ok" else text_value
            if name in ("rest", "filename"):
                return "x"
            return "x" if text_value == "ok" else text_value

        return re.sub(r"<(?:([a-z]+(?:\([^)]*\))?):)?([a-z_]+)>", one, rule.rule)

    paths = [fill("ok", "1")]
    if rule.arguments - {"fmt"}:
        paths += [fill("%00", "1"), fill("ok", HUGE_PAGE)]
    return list(dict.fromkeys(paths))


def _json_fields(spec: dict, rule, method: str) -> list[str]:
    """The properties of the route's JSON request body in the OpenAPI spec (empty if none)."""
    path = re.sub(r"<(?:[^:>]+:)?([a-z_]+)>", r"{\1}", rule.rule)
    op = spec["paths"].get(path, {}).get(method.lower(), {})
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return sorted(schema.get("properties", {}))


def _requests(rule, method, code, api_key, fields):
    for path in _paths(rule, code):
        for value in TEXT_VALUES:
            query = dict.fromkeys(NAMES, value)
            if method == "GET":
                yield method, path, {"query_string": query}
            else:
                form = dict(query, api_key=api_key, service_code="road_damage")
                yield method, path, {"data": form}
        if method == "GET":
            for name in ("page", "page_size"):  # alone, so no other argument is refused first
                yield method, path, {"query_string": {name: HUGE_PAGE}}
            continue
        names = fields or NAMES
        for value in (NUL, "\ud800", LONG_NUMBER):  # json.dumps escapes the surrogate
            yield method, path, {"data": json.dumps(dict.fromkeys(names, value)), "content_type": "application/json"}
        numbers = ", ".join(f'"{n}": {LONG_NUMBER}' for n in names)
        for body in JSON_BODIES + ["{" + numbers + "}"]:
            yield method, path, {"data": body, "content_type": "application/json"}


def _csrf(client, path: str = "/console/login") -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the page carries its CSRF token"
    return m.group(1)


def console_login(client, username: str) -> str:
    """Sign in to the console as a browser does; returns the session's CSRF token."""
    r = client.post(
        "/console/login", data={"username": username, "password": "demo-password", "csrf_token": _csrf(client)}
    )
    assert r.status_code == 302 and "/login" not in r.headers["Location"], r.headers
    return _csrf(client, "/console/triage" if username != "bmt.staff" else "/console/")


@pytest.mark.parametrize("actor", ["anonymous", "bmt.staff", "admin"])
def test_no_route_answers_5xx_to_hostile_input(app, client, db_session, demo, actor):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    f.assign(db_session, report, "UBND-24133")
    headers, csrf = {}, None
    if actor != "anonymous":
        csrf = console_login(client, actor)
        headers = f.bearer(db_session, actor)
    spec = client.get("/api/v1/openapi.json").json
    failures = []
    # Signing out comes last: it would end the session the other routes are fuzzed with.
    routes = sorted(_routes(app), key=lambda rm: "logout" in rm[0].rule or "session" in rm[0].rule)
    for rule, method in routes:
        for verb, path, kwargs in _requests(rule, method, report.code, demo.api_key, _json_fields(spec, rule, method)):
            if csrf and "data" in kwargs and isinstance(kwargs["data"], dict):
                kwargs["data"]["csrf_token"] = csrf
            resp = client.open(path, method=verb, headers=headers, **kwargs)
            resp.get_data()  # a streamed body runs its generator now, inside this request
            resp.close()
            if resp.status_code >= 500:
                failures.append(f"{resp.status_code} {verb} {path} {str(kwargs)[:80]}")
            db_session.rollback()
    assert not failures, f"{len(failures)} requests answered 5xx:\n" + "\n".join(failures[:60])


def test_refusals_are_clear_and_in_each_surface_s_own_shape(client, demo):
    """The API answers problem+json in both languages, Open311 its own error list, the console a page."""
    r = client.post("/api/v1/reports", json={"description": NUL})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json["code"] == "invalid_text" and "NUL" in r.json["title"]
    r = client.post(
        "/api/v1/reports",
        data='{"description": "\\udc80"}',
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 422 and r.json["code"] == "invalid_text" and "surrogate" in r.json["message"]
    r = client.post("/api/v1/auth/login", data=DEEP, content_type="application/json")
    assert r.status_code == 400 and r.json["code"] == "json_too_deep"
    r = client.post("/api/v1/auth/login", data='{"username": ' + LONG_NUMBER + "}", content_type="application/json")
    assert r.status_code == 400 and r.json["code"] == "number_too_long"
    r = client.get("/open311/v2/requests.json", query_string={"page": HUGE_PAGE})
    assert r.status_code == 400 and r.json[0]["code"] == 400 and "page" in r.json[0]["description"]
    r = client.get("/open311/v2/servicerequestupdates.xml", query_string={"page": HUGE_PAGE})
    assert r.status_code == 400 and b"<errors>" in r.data
    r = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": demo.api_key,
            "service_code": "road_damage",
            "lat": "12.667",
            "long": "108.038",
            "description": NUL,
        },
    )
    assert r.status_code == 400 and r.json[0]["code"] == 400
    r = client.post("/console/login", data={"username": NUL, "password": "x", "csrf_token": _csrf(client)})
    assert r.status_code == 422 and r.mimetype == "text/html" and "NUL" in r.get_data(as_text=True)


def test_a_nameless_multipart_part_is_no_crash(client):
    body = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\x00\r\n--b--\r\n"
    r = client.post("/api/v1/reports", data=body, content_type="multipart/form-data; boundary=b")
    assert r.status_code == 422 and r.json["code"] == "invalid_text"


def test_console_page_number_past_any_offset(client, db_session):
    console_login(client, "dispatcher")
    for path in ("/console/", "/console/triage"):
        r = client.get(path, query_string={"page": HUGE_PAGE})
        assert r.status_code == 400 and r.mimetype == "text/html", (path, r.headers.get("Location"))


def test_export_status_of_a_job_that_is_not_an_export_is_404_for_admins(client, db_session):
    """Admins may read any export's status; another job's id (here a finished routing job, its
    result a string: a 500 for them when the status came from RQ) or no job at all is a 404."""
    from fieldreport.extensions import queues

    report = f.make_report(db_session, "road_damage", *f.BMT)
    db_session.commit()
    job = queues.enqueue("routing", "workers.jobs.route_report", report.id, job_id=f"route-{report.id}")
    assert job.get_status(refresh=True) == "finished"  # inline in tests: a real finished job
    admin = f.bearer(db_session, "admin")
    for export_id in (job.id, "export-" + "0" * 32, "no-such-job"):
        r = client.get(f"/api/v1/indicators/exports/{export_id}", headers=admin)
        assert r.status_code == 404 and r.json["code"] == "export_not_found", (export_id, r.data)
