"""Map data for the pages: the province's communes as simplified GeoJSON (our base layer)."""

from __future__ import annotations

import gzip
import hashlib
import json
import time

from flask import Blueprint, current_app, request

from fieldreport.services import communes as communes_service
from fieldreport.services import provinces

bp = Blueprint("maps", __name__)

# Tolerance in degrees (~50 m): small enough that borders look right at street zoom,
# large enough that the whole province is a few hundred kB.
SIMPLIFY_DEG = 0.0005
CACHE_SECONDS = 600
_cache: dict[str, tuple[float, str, bytes, bytes]] = {}  # derived data only; any process rebuilds it


def communes_geojson(province_code: str, gzipped: bool = False) -> tuple[str, bytes]:
    """(etag, body) of the province's communes, rebuilt at most every CACHE_SECONDS.

    The gzip copy is made once per rebuild: a phone on 3G without the tile server falls back
    to these polygons, and compressed they are about a quarter of the size."""
    hit = _cache.get(province_code)
    if hit and hit[0] > time.monotonic():
        return hit[1], hit[3] if gzipped else hit[2]
    rows = communes_service.outlines(province_code, SIMPLIFY_DEG)
    features = [
        {"type": "Feature", "properties": {"code": code, "name": name, "full_name": full}, "geometry": json.loads(geom)}
        for code, name, full, geom in rows
    ]
    body = json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    etag = hashlib.sha1(body).hexdigest()[:20]
    packed = gzip.compress(body, compresslevel=6, mtime=0)
    _cache[province_code] = (time.monotonic() + CACHE_SECONDS, etag, body, packed)
    return etag, packed if gzipped else body


def area_geojson(area_id: int | None) -> dict | None:
    """One area's boundary (for the report detail map), lightly simplified."""
    if area_id is None:
        return None
    geom = communes_service.outline(area_id, SIMPLIFY_DEG / 5)
    return json.loads(geom) if geom else None


@bp.get("/web/communes.geojson")
def communes():
    gzipped = "gzip" in (request.accept_encodings or {})
    province = provinces.check(request.args.get("province") or current_app.config["PROVINCE_CODE"])
    etag, body = communes_geojson(province, gzipped)
    resp = current_app.response_class(body, mimetype="application/geo+json")
    resp.vary.add("Accept-Encoding")
    if gzipped:
        resp.headers["Content-Encoding"] = "gzip"
    resp.set_etag(etag + ("-gz" if gzipped else ""))
    resp.cache_control.public = True
    resp.cache_control.max_age = 3600
    return resp.make_conditional(request)
