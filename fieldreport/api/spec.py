"""The OpenAPI document's error responses: application/problem+json with the Problem schema.

Declared once for every operation (flask-smorest's lazily registered status responses and
its DEFAULT_ERROR), so the spec says what errors.problem() sends.
"""

from __future__ import annotations

import http

import flask_smorest
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields

PROBLEM_CONTENT_TYPE = "application/problem+json"


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
    """flask-smorest's Api whose error responses are documented as problem+json."""

    ERROR_SCHEMA = ProblemSchema

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
