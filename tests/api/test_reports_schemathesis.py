"""Schemathesis over the citizen endpoints' OpenAPI: whatever it sends, no answer is a 5xx.

Driven with plain Hypothesis `@given` per operation (valid and invalid inputs), on the
rolled-back test session, with a budget that keeps the run well under a minute.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402

CITIZEN_PATHS = r"^/api/v1/(reports|me/reports|uploads)"
# Per operation and mode; raise it (e.g. 500) for a longer bug hunt.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20"))


@pytest.fixture()
def citizen_api(app, db_session, redis_clean, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_HOUR", 100_000)  # reach the validation, not the 429
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex=CITIZEN_PATHS)


def _check(case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code,
                                         response.text[:400])
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json")
        assert response.json()["code"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(citizen_api, mode):
    operations = [r.ok() for r in citizen_api.get_all_operations()]
    assert len(operations) >= 9  # list, submit, nearby, view, rating, reopen, follow, mine, uploads
    exercised = 0
    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            _check(case)
        try:
            run()
            exercised += 1
        except Unsatisfiable:  # nothing to make invalid (e.g. POST /uploads takes no input)
            assert mode == GenerationMode.NEGATIVE
    assert exercised == len(operations) if mode == GenerationMode.POSITIVE else exercised >= 5
