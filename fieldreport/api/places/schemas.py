"""Marshmallow schemas of the locate endpoint."""

from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Range


class LocateQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an undeclared query parameter is a 422, not ignored (api/parsing.py)

    lat = fields.Float(required=True, validate=Range(-90, 90), metadata={"description": "WGS84 latitude"})
    lon = fields.Float(required=True, validate=Range(-180, 180), metadata={"description": "WGS84 longitude"})


class PlaceNameSchema(Schema):
    code = fields.String()
    name = fields.String(allow_none=True)


class LocateSchema(Schema):
    inside = fields.Boolean(metadata={"description": "true when this province takes reports at the point"})
    commune = fields.Nested(PlaceNameSchema, allow_none=True)
    province = fields.Nested(
        PlaceNameSchema,
        allow_none=True,
        metadata={"description": "the province of that commune (another province when inside is false)"},
    )
    service_province = fields.Nested(PlaceNameSchema, metadata={"description": "the province this service covers"})
    method = fields.String(
        metadata={"description": "contains | nearest (a border gap within the snap distance) | none"}
    )
    distance_m = fields.Float(allow_none=True, metadata={"description": "distance to the commune when nearest"})
