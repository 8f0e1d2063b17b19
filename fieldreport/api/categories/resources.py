"""GET /api/v1/categories: the active public categories."""
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from fieldreport.api.categories.schemas import CategorySchema
from fieldreport.errors import wants_vietnamese
from fieldreport.extensions import db
from fieldreport.models import Category

blp = Blueprint("categories", __name__, description="Report categories")


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategorySchema(many=True))
    def get(self):
        """List the active public categories"""
        cats = db.session.scalars(select(Category).where(Category.active, Category.public)
                                  .order_by(Category.sort_order, Category.code)).all()
        vi = wants_vietnamese()
        for c in cats:
            c.name = c.name_vi if vi else c.name_en
        return cats
