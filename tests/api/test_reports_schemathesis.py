"""Schemathesis over every /api/v1 operation: the server does what its OpenAPI document says.

Every built-in check runs (no 5xx, status codes, content types, response bodies and headers
against their schemas, negative data rejected, positive data accepted...), anonymous and
signed in as staff and admin, valid and invalid inputs, on the rolled-back test session:

- one operation at a time, EXAMPLES cases per operation, mode and role;
- statefully: scenarios that follow the document's links (a new report's code and citizen
  token to its views and the reporter's and the staff's actions, a queue's codes to the staff
  actions, a new account or key to its own operations), SCENARIOS scenarios of at most STEPS
  calls per role. A random point rarely lies in the province, so a hook draws new reports'
  places inside it, their categories and attributes from the database: reports are really
  created and the links really followed (the test counts both).

The runs are seeded (SCHEMATHESIS_SEED, default 0; e.g. 1, 2, 3 for other runs) and bounded
(raise SCHEMATHESIS_EXAMPLES / _SCENARIOS / _STEPS for a longer bug hunt).

positive_data_acceptance allows a valid request's refusal by a rule of the domain (a report
in a state that does not allow the action, a unit that does not exist, a period to after
from): `refused_only_by_the_domain` then holds every refusal of a valid request to a code of
the catalogue (errors.CATALOGUE), and never `validation_error`: the schema's validation never
refuses what the schema allows.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import get_state_machine_test
from sqlalchemy import func, select

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from fieldreport.errors import CATALOGUE
from fieldreport.models import Area, Category
from fieldreport.services import provinces
from tests import factories as f

SEED = int(os.environ.get("SCHEMATHESIS_SEED", "0"))
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "4"))  # per operation, mode and role
SCENARIOS = int(os.environ.get("SCHEMATHESIS_SCENARIOS", "25"))  # stateful, per role
STEPS = int(os.environ.get("SCHEMATHESIS_STEPS", "8"))  # calls per scenario at most
ROLES = {"anonymous": None, "staff": "bmt.staff", "admin": "admin"}
# Signing out would turn the rest of a signed-in run into 401s.
SKIP_SIGNED_IN = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/logout-everywhere")}
SUBMIT = ("POST", "/api/v1/reports")

# Fields whose rule is a numbering plan or an address grammar (phonenumbers, email-validator):
# the document says so in their description, but JSON Schema cannot express the rule itself.
SEMANTIC_FIELDS = {"reporter_phone", "reporter_email"}
# A valid request may be refused by the domain (statuses of the catalogue's codes); 5xx is
# not_a_server_error's to judge.
# Stateful runs follow the document's own links only (no links inferred by schemathesis).
CONFIG = {
    "phases": {"stateful": {"inference": {"algorithms": []}}},
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", *sorted({str(e.status) for e in CATALOGUE.values()}), "5xx"]
        }
    },
}


def _positive(case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


@schemathesis.check
def refused_only_by_the_domain(ctx, response, case):
    """A request the schema allows is refused only by a rule of the domain (a catalogued code),
    never by the schema's own validation, and never by a generic HTTP error."""
    if not _positive(case) or not 400 <= response.status_code < 500:
        return
    body = response.json()
    code = body.get("code")
    if code == "validation_error":
        refused = {k for where in (body.get("errors") or {}).values() if isinstance(where, dict) for k in where}
        if refused and refused <= SEMANTIC_FIELDS:
            return
        raise AssertionError(f"valid by the OpenAPI document, refused by validation: {body.get('errors')}")
    if code not in CATALOGUE and response.status_code != 405:
        raise AssertionError(f"a valid request refused with {response.status_code} {code!r}, not a catalogued code")


def _reports_in_the_province(points, categories):
    """flatmap_case: a valid new report gets a place inside the province and a category (with
    valid attributes and, where the category needs them, contact details) of the database."""

    def attributes(specs):
        required, optional = {}, {}
        for spec in specs:
            keys = [str(v["key"]) for v in spec.get("values") or []]
            value = {
                "number": st.integers(0, 10_000),
                "singlevaluelist": st.sampled_from(keys or ["x"]),
                "multivaluelist": st.lists(st.sampled_from(keys or ["x"]), min_size=1, unique=True),
                "datetime": st.just("2026-05-04T08:30:00+07:00"),
            }.get(spec.get("datatype", "string"), st.text(max_size=50).filter(lambda t: "\x00" not in t))
            (required if spec.get("required") else optional)[spec["code"]] = value
        return st.fixed_dictionaries(required, optional=optional)

    def flatmap_case(ctx, case):
        op = ctx.operation
        if (
            op is None
            or (op.method.upper(), op.path) != SUBMIT
            or not _positive(case)
            or not isinstance(case.body, dict)
        ):
            return st.just(case)

        @st.composite
        def placed(draw):
            lat, lon = draw(st.sampled_from(points))
            category = draw(st.sampled_from(categories))
            body = {k: v for k, v in case.body.items() if k not in ("photos", "upload_ids")}
            body.update(
                category=category["code"], lat=lat, lon=lon, attributes=draw(attributes(category["attributes"]))
            )
            if "reporter_phone" in body or not category["anonymous_allowed"]:
                body["reporter_phone"] = "0912345678"
            if "reporter_email" in body:
                body["reporter_email"] = "citizen@example.vn"
            if not category["anonymous_allowed"]:
                body["reporter_name"] = body.get("reporter_name") or "Nguyễn Văn A"
            if body.get("notice_version") is not None:
                body["contact_consent"] = True
            case.body = body
            return case

        return st.one_of(st.just(case), placed(), placed(), placed())  # mostly in the province

    return flatmap_case


@pytest.fixture()
def api(app, db_session, redis_clean, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_HOUR", 100_000)  # reach the validation, not the 429
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))
    inside = func.ST_PointOnSurface(Area.geom)
    rows = db_session.execute(
        select(func.ST_Y(inside), func.ST_X(inside))
        .where(Area.level == "commune", provinces.condition(Area.province_code))
        .order_by(Area.code)
    ).all()
    points = [(round(lat, 6), round(lon, 6)) for lat, lon in rows]
    points += [f.BMT[::-1]] * max(1, len(points) // 4)  # Buôn Ma Thuột: the staff account's commune
    categories = [
        {"code": c.code, "attributes": c.attributes or [], "anonymous_allowed": c.anonymous_allowed}
        for c in db_session.scalars(select(Category).order_by(Category.code))
        if c.active and not c.photo_required and not c.signin_required
    ]
    assert len(points) > 10 and categories
    schema.hook(_reports_in_the_province(points, categories))
    return schema


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


def test_the_document_links_a_new_report_to_what_follows(api):
    links = api.raw_schema["paths"]["/api/v1/reports"]["post"]["responses"]["201"]["links"]
    assert links["rate"] == {
        "operationRef": "#/paths/~1api~1v1~1reports~1{code}~1rating/post",
        "parameters": {"path.code": "$response.body#/code"},
        "requestBody": {"citizen_token": "$response.body#/citizen_token"},
    }
    assert {"view", "reopen", "erase", "mine", "staff_detail", "staff_accept", "staff_resolve"} <= set(links)
    queue = api.raw_schema["paths"]["/api/v1/staff/reports"]["get"]["responses"]["200"]["links"]
    assert queue["staff_accept"]["parameters"] == {"path.code": "$response.body#/items/0/code"}


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

        @seed(SEED)
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=headers, additional_checks=[refused_only_by_the_domain])

        try:
            run()
            exercised += 1
        except Unsatisfiable:  # nothing to make invalid (e.g. POST /uploads takes no input)
            assert mode == GenerationMode.NEGATIVE
    assert exercised >= (len(operations) - 2 if mode == GenerationMode.POSITIVE else 20)


@pytest.mark.parametrize("role", ROLES)
def test_linked_scenarios_conform(api, db_session, redis_clean, role):
    headers = f.bearer(db_session, ROLES[role]) if ROLES[role] else {}
    seen: Counter = Counter()
    created: set[str] = set()
    failures: list[str] = []

    if role == "anonymous":  # what needs no sign-in (the rest is 401, tested one by one above)
        api = api.exclude(lambda ctx: bool(ctx.operation.definition.raw.get("security")))
    else:  # signed in all along: nothing that ends the session (they are tested one by one above)
        api = api.exclude(path_regex="^/api/v1/(auth/(logout|password)|citizen/session)")
    if role == "staff":  # not the administrators' own operations (403)
        api = api.exclude(path_regex="^/api/v1/(users|api-keys|admin)")

    connection = db_session.get_bind()  # the test's own connection (tests/conftest.py)

    class Scenarios(api.as_state_machine()):  # type: ignore[misc]
        def setup(self):  # every scenario starts from the same data: Hypothesis may run a prefix twice
            db_session.remove()
            self.savepoint = connection.begin_nested()
            redis_clean.flushdb()  # rate limits, "me too" counts

        def teardown(self):
            db_session.remove()  # the session's savepoints lie inside the scenario's
            if self.savepoint.is_active:
                self.savepoint.rollback()
            super().teardown()

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def after_call(self, response, case):
            super().after_call(response, case)
            seen["calls"] += 1
            code = (case.path_parameters or {}).get("code")
            if code in created:
                seen["followed"] += 1
            if (case.method.upper(), case.path) == SUBMIT and response.status_code == 201:
                created.add(response.json()["code"])

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Collected, not raised: a scenario changes the data, so Hypothesis' replay of a
            # failing one would not reproduce it (FlakyStrategyDefinition hides the failure).
            try:
                case.validate_response(  # as call_and_validate: the checks know the headers were ours
                    response,
                    additional_checks=[refused_only_by_the_domain],
                    headers=headers,
                    transport_kwargs=kwargs,
                    recorder=self.recorder,
                )
            except FailureGroup as group:
                failures.extend(f"{case.method} {case.formatted_path}: {failure}" for failure in group.exceptions)

    started = time.monotonic()
    test = get_state_machine_test(
        Scenarios,
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: replays would meet changed data
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
        _min_steps=2,
    )
    seed(SEED)(test)()
    print(
        f"\n{role}: {seen['calls']} calls, {len(created)} reports created, {seen['followed']} calls on them, "
        f"{time.monotonic() - started:.1f} s"
    )
    assert not failures, "\n\n".join(dict.fromkeys(failures))
    if role != "admin":  # the admin's scenarios spread over its own resources too (accounts, keys, days)
        assert len(created) >= 2 and seen["followed"] >= 2, (len(created), dict(seen))  # links really followed
