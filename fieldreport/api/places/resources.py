"""GET /api/v1/locate: the commune and province under a point, from our own boundaries."""

from flask.views import MethodView

from fieldreport.api.parsing import Blueprint
from fieldreport.api.places.schemas import LocateQuerySchema, LocateSchema
from fieldreport.services import places

blp = Blueprint("places", __name__, description="Places: which commune and province a point is in")


@blp.route("/locate")
class Locate(MethodView):
    @blp.arguments(LocateQuerySchema, location="query")
    @blp.response(200, LocateSchema)
    def get(self, args):
        """The commune and province of a point, and whether the province takes reports there"""
        body = places.where(args["lat"], args["lon"])
        # Boundaries change rarely: a moved pin asking again may be answered from the cache.
        return body, 200, {"Cache-Control": "public, max-age=300"}
