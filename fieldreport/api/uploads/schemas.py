"""Marshmallow schemas of presigned uploads."""

from marshmallow import Schema, fields


class UploadSchema(Schema):
    """An upload (the document's `Upload`, the resource POST /reports names in upload_ids)."""

    upload_id = fields.String(metadata={"description": "reference it in POST /reports upload_ids"})
    method = fields.String(metadata={"description": "always PUT"})
    url = fields.String(metadata={"description": "presigned URL: PUT the photo bytes there"})
    url_expires_at = fields.DateTime(metadata={"description": "the URL stops working after this"})
    expires_at = fields.DateTime(metadata={"description": "the upload must be used by a report before this"})
    max_bytes = fields.Integer()
