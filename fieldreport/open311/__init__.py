"""Open311 GeoReport v2 at /open311/v2: an adapter over the same services as the mobile API."""

from flask import Blueprint

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

from fieldreport.open311 import views  # noqa: E402,F401  (routes attach themselves to bp)
