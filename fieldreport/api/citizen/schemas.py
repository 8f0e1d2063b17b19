"""Marshmallow schemas of citizen phone sign-in."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import Length, Regexp

from fieldreport.api.reports.schemas import Str

TOKENS = fields.List(Str(validate=Length(1, 200)), validate=Length(max=100), metadata={
    "description": "citizen tokens this device holds: their reports become the account's"})


class OtpRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = Str(required=True, validate=Length(1, 40), metadata={
        "description": "Vietnamese mobile number: 09xxxxxxxx, +849xxxxxxxx"})


class OtpSentSchema(Schema):
    sent = fields.Boolean()
    expires_in = fields.Integer(metadata={"description": "seconds the code stays valid"})
    resend_after = fields.Integer(metadata={"description": "seconds before a new code may be asked"})


class SessionRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = Str(required=True, validate=Length(1, 40))
    code = Str(required=True, validate=Regexp(r"^\s*\d{6}\s*$", error="The code has 6 digits."))
    citizen_tokens = TOKENS


class CitizenSchema(Schema):
    phone = fields.String()
    identity_level = fields.String(metadata={"description": "phone: proved by a one-time code"})


class SessionSchema(Schema):
    access_token = fields.String(metadata={"description": "send as `Authorization: Bearer <token>`"})
    token_type = fields.String()
    expires_at = fields.DateTime()
    citizen = fields.Nested(CitizenSchema)
    claimed = fields.List(fields.String(), metadata={"description": "codes of the reports claimed"})


class ClaimSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    citizen_tokens = fields.List(Str(validate=Length(1, 200)), required=True, validate=Length(1, 100))


class ClaimedSchema(Schema):
    claimed = fields.List(fields.String())
