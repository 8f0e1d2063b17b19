"""/api/v1 query parameters: what the document does not declare is refused, and the rules
between parameters are the query schemas' own (their validation is the document's).

Open311 stays lenient: GeoReport v2 clients send parameters of their own, which it ignores.
"""

from __future__ import annotations

import importlib
from datetime import date

import pytest

from fieldreport.api import RESOURCES, parsing
from fieldreport.api.indicators.schemas import ExportQuerySchema, IndicatorQuerySchema
from fieldreport.api.reports.schemas import ListQuerySchema
from fieldreport.errors import DomainError
from tests import factories as f

# Every /api/v1 operation with a query schema, the role that reaches its parsing, and a valid query.
QUERY_OPERATIONS = [
    ("/api/v1/reports", None, "status=open"),
    ("/api/v1/reports/nearby", None, "lat=12.68&lon=108.04&category=flooding"),
    ("/api/v1/locate", None, "lat=12.68&lon=108.04"),
    ("/api/v1/staff/reports", "bmt.staff", "page=1"),
    ("/api/v1/staff/triage", "dispatcher", "page=1"),
    ("/api/v1/staff/identity-views", "admin", "page=1"),
    ("/api/v1/indicators", "admin", "period=month"),
    ("/api/v1/indicators/export.csv", "admin", "period=month"),
    ("/api/v1/admin/calendar-days", "admin", "year=2026"),
    ("/api/v1/users", "admin", "page=1"),
    ("/api/v1/users/acts", "admin", "page=1"),
]


@pytest.mark.parametrize("path, role, query", QUERY_OPERATIONS)
def test_an_undeclared_query_parameter_is_refused(client, db_session, path, role, query):
    headers = f.bearer(db_session, role) if role else {}
    assert client.get(f"{path}?{query}", headers=headers).status_code == 200
    r = client.get(f"{path}?{query}&stauts=new", headers=headers)  # a misspelt filter, not "everything"
    assert r.status_code == 422 and r.mimetype == "application/problem+json", r.get_data(as_text=True)
    assert r.json["code"] == "validation_error"
    assert r.json["errors"]["query"] == {"stauts": ["Unknown field."]}


def test_every_api_blueprint_parses_with_the_strict_parser():
    for name in RESOURCES:
        blp = importlib.import_module(f"fieldreport.api.{name}.resources").blp
        assert isinstance(blp, parsing.Blueprint), name
        assert isinstance(blp.ARGUMENTS_PARSER, parsing.Parser), name


def test_open311_ignores_parameters_of_its_own(client):
    r = client.get("/open311/v2/requests.json?status=open&jurisdiction_id=x&client_extra=1")
    assert r.status_code == 200


@pytest.mark.parametrize("schema", [IndicatorQuerySchema, ExportQuerySchema])
@pytest.mark.parametrize(
    "query, code",
    [
        ({"period": "month", "to": "2026-02-01"}, "to_needs_custom"),
        ({"period": "custom", "from": "2026-02-01"}, "custom_period_needs_dates"),
        ({"period": "custom", "from": "2026-02-10", "to": "2026-02-01"}, "bad_period_range"),
        ({"period": "custom", "from": "2020-01-01", "to": "2026-02-01"}, "period_too_long"),
    ],
)
def test_the_indicator_query_schema_holds_the_period_rules(app, schema, query, code):
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        schema().load(query)
    assert refused.value.code == code
    loaded = schema().load({"period": "custom", "from": "2026-02-01", "to": "2026-02-28"})
    assert (loaded["from_"], loaded["to"]) == (date(2026, 2, 1), date(2026, 2, 28))


def test_the_document_describes_the_period_rules(client):
    params = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/indicators"]["get"]["parameters"]
    to = next(p for p in params if p["name"] == "to")
    assert "only with period=custom" in to["description"] and "to_needs_custom" in to["description"]


def test_the_listing_schema_refuses_a_cursor_it_did_not_give(app):
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        ListQuerySchema().load({"cursor": "bm9wZQ"})  # URL-safe base64 of "nope": the right alphabet
    assert refused.value.code == "invalid_cursor"


def test_the_document_bounds_every_id_in_a_path(client, db_session):
    doc = client.get("/api/v1/openapi.json").json
    ids = [
        (path, p["schema"])
        for path, item in doc["paths"].items()
        for p in item.get("parameters", [])
        if p["in"] == "path" and p["schema"]["type"] == "integer"
    ]
    assert len(ids) >= 3
    assert all(schema["maximum"] == 2**31 - 1 for _, schema in ids), ids
    r = client.get("/api/v1/users/2147483648", headers=f.bearer(db_session, "admin"))  # past it: no such route
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/me/claims", {"citizen_tokens": ["not a token!" * 4]}),
        ("/api/v1/citizen/session", {"phone": "0912345678", "code": "123456", "citizen_tokens": ["short"]}),
        ("/api/v1/reports/{code}/subscriptions", {"channel": "sms", "citizen_token": "x" * 20 + "!" * 20}),
    ],
)
def test_citizen_tokens_have_one_shape_in_every_body(client, db_session, path, body):
    """The citizen token is 32–128 URL-safe characters wherever a body carries one (the claim,
    sign-in and subscription bodies said only "1–200 characters", unlike the report actions)."""
    report = f.make_report(db_session, "street_light", *f.BMT)
    r = client.post(path.format(code=report.code), json=body)
    assert r.status_code == 422, r.json
    assert r.json["code"] == "validation_error"
    assert "citizen_token" in str(r.json["errors"])
