"""Schemathesis over every /api/v1 operation: the server does what its OpenAPI document says.

Every built-in check runs (no 5xx, status codes, content types, response bodies and headers
against their schemas, negative data rejected...), anonymous and signed in as staff and
admin, valid and invalid inputs, on the rolled-back test session. Budget: EXAMPLES per
operation, mode and role, which keeps the run to a couple of minutes.

One built-in check is replaced. positive_data_acceptance wants every schema-valid request
accepted, but a valid request may still break a rule of the domain (a point outside the
province, an unknown category code, a report in the wrong state): those answer with their
own `code`. What must never happen is the schema validation refusing what the schema
allows: `spec_is_the_validation` fails any valid request answered `validation_error`.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests import factories as f

# Per operation, mode and role; raise it (e.g. 200) for a longer bug hunt.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
ROLES = {"anonymous": None, "staff": "bmt.staff", "admin": "admin"}
# Signing out would turn the rest of a signed-in run into 401s.
SKIP_SIGNED_IN = {("POST", "/api/v1/auth/logout")}


# Fields whose rule is a numbering plan or an address grammar (phonenumbers, email-validator):
# the document says so in their description, but JSON Schema cannot express the rule itself.
SEMANTIC_FIELDS = {"reporter_phone", "reporter_email"}


@schemathesis.check
def spec_is_the_validation(ctx, response, case):
    """A request the schema allows is never refused by the schema's own validation."""
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and response.status_code == 422 and response.json().get("code") == "validation_error":
        refused = {
            k for where in (response.json().get("errors") or {}).values() if isinstance(where, dict) for k in where
        }
        if refused and refused <= SEMANTIC_FIELDS:
            return
        raise AssertionError(f"valid by the OpenAPI document, refused by validation: {response.json().get('errors')}")


@pytest.fixture()
def api(app, db_session, redis_clean, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_HOUR", 100_000)  # reach the validation, not the 429
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_the_document_declares_problem_json_errors(api):
    raw = api.raw_schema
    for name in ("DEFAULT_ERROR", "UNPROCESSABLE_ENTITY"):
        assert list(raw["components"]["responses"][name]["content"]) == ["application/problem+json"]
    assert raw["components"]["schemas"]["Problem"]["required"] == ["code", "message", "status", "title", "type"]
    for path, item in raw["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                for status, response in op["responses"].items():
                    if status.startswith(("4", "5")) or status == "default":
                        content = response.get("content") or {}
                        assert "application/json" not in content, (method, path, status)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms(api, db_session, role, mode):
    headers = f.bearer(db_session, ROLES[role]) if ROLES[role] else {}
    operations = [r.ok() for r in api.get_all_operations()]
    assert len(operations) >= 40
    exercised = 0
    for operation in operations:
        if role != "anonymous" and (operation.method.upper(), operation.path) in SKIP_SIGNED_IN:
            continue

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(
                headers=headers, excluded_checks=[positive_data_acceptance], additional_checks=[spec_is_the_validation]
            )

        try:
            run()
            exercised += 1
        except Unsatisfiable:  # nothing to make invalid (e.g. POST /uploads takes no input)
            assert mode == GenerationMode.NEGATIVE
    assert exercised >= (len(operations) - 1 if mode == GenerationMode.POSITIVE else 20)
