"""Map data for the pages: the province's communes as simplified GeoJSON (our base layer)."""
from __future__ import annotations

import hashlib
import json
import time

from flask import Blueprint, current_app, request
from sqlalchemy import func, select

from fieldreport.extensions import db
from fieldreport.models import Area

bp = Blueprint("maps", __name__)

# Tolerance in degrees (~50 m): small enough that borders look right at street zoom,
# large enough that the whole province is a few hundred kB.
SIMPLIFY_DEG = 0.0005
CACHE_SECONDS = 600
_cache: dict[str, tuple[float, str, bytes]] = {}  # derived data only; any process rebuilds it


def communes_geojson(province_code: str) -> tuple[str, bytes]:
    """(etag, body) of the province's communes, rebuilt at most every CACHE_SECONDS."""
    hit = _cache.get(province_code)
    if hit and hit[0] > time.monotonic():
        return hit[1], hit[2]
    rows = db.session.execute(
        select(Area.code, Area.name, Area.full_name,
               func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(Area.geom, SIMPLIFY_DEG), 5))
        .where(Area.level == "commune", Area.province_code == province_code)
        .order_by(Area.code)).all()
    features = [{"type": "Feature", "properties": {"code": code, "name": name, "full_name": full},
                 "geometry": json.loads(geom)} for code, name, full, geom in rows]
    body = json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode()
    etag = hashlib.sha1(body).hexdigest()[:20]
    _cache[province_code] = (time.monotonic() + CACHE_SECONDS, etag, body)
    return etag, body


def area_geojson(area_id: int | None) -> dict | None:
    """One area's boundary (for the report detail map), lightly simplified."""
    if area_id is None:
        return None
    geom = db.session.scalar(select(func.ST_AsGeoJSON(
        func.ST_SimplifyPreserveTopology(Area.geom, SIMPLIFY_DEG / 5), 6)).where(Area.id == area_id))
    return json.loads(geom) if geom else None


@bp.get("/web/communes.geojson")
def communes():
    etag, body = communes_geojson(current_app.config["PROVINCE_CODE"])
    resp = current_app.response_class(body, mimetype="application/geo+json")
    resp.set_etag(etag)
    resp.cache_control.public = True
    resp.cache_control.max_age = 3600
    return resp.make_conditional(request)
