"""Marshmallow schemas of sign-in and the signed-in user."""

from marshmallow import Schema, fields
from marshmallow.validate import Length

from fieldreport.api.reports.schemas import Str


class LoginSchema(Schema):
    username = Str(required=True, validate=Length(1, 80))  # Str: a NUL never reaches SQL (was a 500)
    password = fields.String(required=True, validate=Length(1, 200), load_only=True)


class PasswordChangeSchema(Schema):
    current_password = Str(required=True, validate=Length(1, 200), load_only=True)
    new_password = Str(
        required=True, validate=Length(1, 200), load_only=True, metadata={"description": "at least 10 characters"}
    )


class UnitRefSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    role = fields.String(metadata={"description": "citizen | staff | dispatcher | supervisor | admin"})
    unit = fields.Nested(UnitRefSchema, allow_none=True)


class TokenSchema(Schema):
    access_token = fields.String(metadata={"description": "send as `Authorization: Bearer <token>`"})
    token_type = fields.String()
    expires_at = fields.DateTime()
    user = fields.Nested(UserSchema)
