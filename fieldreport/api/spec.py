"""The OpenAPI document's own parts: problem+json errors, links between operations, its preface.

Errors are declared once for every operation (flask-smorest's lazily registered status
responses and its DEFAULT_ERROR), so the spec says what errors.problem() sends. Links (LINKS)
say which response's values the next operations take: a new report's code and citizen token
lead to its views and the reporter's actions, a staff queue's codes to the staff actions;
clients and schemathesis' stateful tests follow them.
"""

from __future__ import annotations

import http

import flask_smorest
from apispec import BasePlugin
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields

PROBLEM_CONTENT_TYPE = "application/problem+json"

PREFACE = (
    "Errors are application/problem+json with a stable `code`. A query parameter an operation "
    "does not declare is refused (422 validation_error, named in `errors.query`), never ignored. "
    "Links on responses say which values the next operations take (a new report's `code` and "
    "`citizen_token`, a staff queue's report codes)."
)


class ProblemSchema(Schema):
    """RFC 9457 problem details plus a stable `code` and a message in the asked language."""

    class Meta:
        unknown = INCLUDE  # use cases add context: field, photo, attribute, retry_after...

    type = fields.String(required=True, metadata={"example": "https://fieldreport.example/problems/validation_error"})
    title = fields.String(required=True, metadata={"description": "English summary"})
    status = fields.Integer(required=True)
    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = fields.String(required=True, metadata={"description": "Vietnamese, or English when asked"})
    errors = fields.Dict(metadata={"description": "validation errors: location → field → messages"})


class Api(flask_smorest.Api):
    """flask-smorest's Api whose error responses are documented as problem+json, with links."""

    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, *, extra_plugins=None, info=None, **options):
        info = {"description": PREFACE, **(info or {})}
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), LinksPlugin()], info=info, **options)

    def _register_responses(self):
        # flask-smorest registers these with DEFAULT_RESPONSE_CONTENT_TYPE (application/json),
        # which is right for the successful responses but not for errors.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (problem+json)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


CODE = "$response.body#/code"
TOKEN = "$response.body#/citizen_token"
REPORTER = {"parameters": {"path.code": CODE}, "requestBody": {"citizen_token": TOKEN}}
STAFF_ACTIONS = (
    "accept transfer return request-info extend resolve reject duplicate assign reopen reassign "
    "reporter-identity erasure"
).split()


def _staff(code: str) -> dict[str, tuple[str, dict]]:
    """The staff detail and every staff action of the report whose code `code` extracts."""
    out = {"staff_detail": ("GET /api/v1/staff/reports/{code}", {"parameters": {"path.code": code}})}
    for action in STAFF_ACTIONS:
        out[f"staff_{action.replace('-', '_')}"] = (
            f"POST /api/v1/staff/reports/{{code}}/{action}",
            {"parameters": {"path.code": code}},
        )
    return out


# (method, path, status) of a response → {link name: (target "METHOD path", link fields)}.
LINKS: dict[tuple[str, str, int], dict[str, tuple[str, dict]]] = {
    ("post", "/api/v1/reports", 201): {
        "view": (
            "GET /api/v1/reports/{code}",
            {"parameters": {"path.code": CODE, "header.X-Citizen-Token": TOKEN}},
        ),
        "rate": ("POST /api/v1/reports/{code}/rating", REPORTER),
        "reopen": ("POST /api/v1/reports/{code}/reopen", REPORTER),
        "erase": ("POST /api/v1/reports/{code}/erasure", REPORTER),
        "subscribe": ("POST /api/v1/reports/{code}/subscriptions", REPORTER),
        "subscriptions": (
            "GET /api/v1/reports/{code}/subscriptions",
            {"parameters": {"path.code": CODE, "header.X-Citizen-Token": TOKEN}},
        ),
        "answer_question": (
            "POST /api/v1/reports/{code}/info",
            {"parameters": {"path.code": CODE, "header.X-Citizen-Token": TOKEN}},
        ),
        "follow": ("POST /api/v1/reports/{code}/follow", {"parameters": {"path.code": CODE}}),
        "add": ("POST /api/v1/reports/{code}/additions", {"parameters": {"path.code": CODE}}),
        "mine": ("GET /api/v1/me/reports", {"parameters": {"header.X-Citizen-Token": TOKEN}}),
        **_staff(CODE),
    },
    ("get", "/api/v1/staff/reports", 200): _staff("$response.body#/items/0/code"),
    ("get", "/api/v1/staff/triage", 200): _staff("$response.body#/items/0/code"),
    ("get", "/api/v1/staff/reports/{code}", 200): _staff(CODE),
    ("post", "/api/v1/users", 201): {
        name: (f"{method} /api/v1/users/{{user_id}}{tail}", {"parameters": {"path.user_id": "$response.body#/id"}})
        for name, method, tail in (
            ("account", "GET", ""),
            ("deactivate", "POST", "/deactivate"),
            ("reactivate", "POST", "/reactivate"),
            ("reset_password", "POST", "/password"),
        )
    },
    ("post", "/api/v1/api-keys", 201): {
        name: (f"{method} /api/v1/api-keys/{{key_id}}", {"parameters": {"path.key_id": "$response.body#/id"}})
        for name, method in (("key", "GET"), ("revoke", "DELETE"))
    },
    ("post", "/api/v1/admin/calendar-days", 201): {
        name: (f"{method} /api/v1/admin/calendar-days/{{day}}", {"parameters": {"path.day": "$response.body#/day"}})
        for name, method in (("change", "PUT"), ("remove", "DELETE"))
    },
    **{
        ("get", f"/api/v1/indicators/export.{fmt}", 202): {
            "progress": (
                "GET /api/v1/indicators/exports/{export_id}",
                {"parameters": {"path.export_id": "$response.body#/id"}},
            )
        }
        for fmt in ("csv", "xlsx")
    },
}


def operation_ref(target: str) -> str:
    """A JSON pointer to an operation of this document: "GET /api/v1/x/{id}" → #/paths/~1api~1v1~1x~1{id}/get."""
    method, path = target.split(" ", 1)
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method.lower()


class LinksPlugin(BasePlugin):
    """Adds LINKS to the responses of the operations they start from."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            for status, response in (operation.get("responses") or {}).items():
                named = LINKS.get((method, path, int(status))) if str(status).isdigit() else None
                if named and isinstance(response, dict):
                    response["links"] = {
                        name: {"operationRef": operation_ref(target), **fields}
                        for name, (target, fields) in named.items()
                    }
