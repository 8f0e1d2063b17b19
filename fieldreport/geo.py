"""Geometry conversions in one place: GeoJSON/Shapely ⇄ database values, repairs, points."""

from __future__ import annotations

from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape, to_shape
from shapely import make_valid
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

SRID = 4326


def to_db(geom: BaseGeometry) -> WKBElement:
    return from_shape(geom, srid=SRID)


def from_db(value: WKBElement) -> BaseGeometry:
    return to_shape(value)


def point(lon: float, lat: float) -> WKBElement:
    return to_db(Point(lon, lat))


def lonlat(value: WKBElement) -> tuple[float, float]:
    p = to_shape(value)
    return p.x, p.y


def multipolygon(geojson_geometry: dict) -> tuple[MultiPolygon, bool]:
    """Parse a GeoJSON geometry into a valid MultiPolygon; say whether it needed repair."""
    geom = shape(geojson_geometry)
    repaired = False
    if not geom.is_valid:
        geom = make_valid(geom)
        repaired = True
    polys: list[Polygon] = []
    for part in getattr(geom, "geoms", [geom]):
        if isinstance(part, Polygon) and not part.is_empty:
            polys.append(part)
        elif isinstance(part, MultiPolygon):
            polys.extend(p for p in part.geoms if not p.is_empty)
        elif hasattr(part, "geoms"):  # GeometryCollection from make_valid: keep polygons only
            polys.extend(p for p in part.geoms if isinstance(p, Polygon))
    if not polys:
        raise ValueError("geometry has no polygonal part")
    return MultiPolygon(polys), repaired
