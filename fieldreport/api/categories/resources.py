"""GET /api/v1/categories: the active public categories."""

from flask.views import MethodView

from fieldreport.api.categories.schemas import CategorySchema
from fieldreport.api.parsing import Blueprint
from fieldreport.errors import wants_vietnamese
from fieldreport.services import categories

blp = Blueprint("categories", __name__, description="Report categories")


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategorySchema(many=True))
    def get(self):
        """List the active public categories"""
        cats = categories.public_categories()
        vi = wants_vietnamese()
        for c in cats:
            c.name = c.name_vi if vi else c.name_en
        return cats
