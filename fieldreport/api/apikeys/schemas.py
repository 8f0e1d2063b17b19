"""Marshmallow schemas of Open311 API keys (the raw key only in the answer that creates it)."""

from marshmallow import Schema, fields, validate


class ApiKeySchema(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "client name; reports carry open311:<name>"})
    key_prefix = fields.String(metadata={"description": "first characters, to recognise a key"})
    contact = fields.String(allow_none=True)
    unit_code = fields.String(
        allow_none=True,
        metadata={"description": "unit an external tracker works for: may post request updates to its reports"},
    )
    active = fields.Boolean()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class ApiKeyCreatedSchema(ApiKeySchema):
    api_key = fields.String(metadata={"description": "the key itself: shown once, stored only hashed"})


class ApiKeyCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    contact = fields.String(load_default=None, validate=validate.Length(max=240))
    unit_code = fields.String(load_default=None, validate=validate.Length(max=40))
