"""Marshmallow schemas of categories."""

from marshmallow import Schema, fields


class CategorySchema(Schema):
    code = fields.String()
    name = fields.String(metadata={"description": "name in the request's language"})
    name_vi = fields.String()
    name_en = fields.String()
    group = fields.String()
    urgency = fields.String()
    deadline_amount = fields.Float()
    deadline_unit = fields.String(metadata={"description": "working 'hours' or 'days'"})
    photo_required = fields.Boolean()
    anonymous_allowed = fields.Boolean()
    signin_required = fields.Boolean(metadata={"description": "only a citizen signed in by phone may report"})
    attributes = fields.List(
        fields.Dict(),
        metadata={"description": "Open311 attributes: code, datatype, required, description, order, values"},
    )
