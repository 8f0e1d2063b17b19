"""POST /api/v1/uploads: a presigned PUT URL for one photo, then reference it from a report."""

from flask import request
from flask.views import MethodView

from fieldreport.api.parsing import Blueprint
from fieldreport.api.uploads.schemas import UploadSchema
from fieldreport.services import intake

blp = Blueprint("uploads", __name__, description="Presigned photo uploads")


@blp.route("/uploads")
class Uploads(MethodView):
    @blp.response(201, UploadSchema)
    def post(self):
        """Get a presigned URL to PUT one photo; the report checks it like a multipart photo"""
        return intake.new_upload(request.remote_addr or "")
