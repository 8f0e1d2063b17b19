"""Point → commune, the one lookup: intake files a report under it, routing routes in it, and
the citizen map's pin shows it, so the three can never disagree (border points included).
Also address → commune (`from_address`) for Open311 clients that send an address_string only.

The commune whose polygon contains the point (two: the smallest code, the others listed);
else, the simplified boundaries leaving gaps, the nearest commune within BORDER_SNAP_METERS,
with the distance and the closest point of it. A point exactly on a shared border is in no
polygon's interior, so it is the nearest (distance 0) with the smallest code.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import Row, func, select

from fieldreport.errors import Invalid
from fieldreport.extensions import db
from fieldreport.models import Area
from fieldreport.services import provinces


class Commune(NamedTuple):
    id: int
    code: str
    full_name: str
    province_code: str | None


# One statement, prepared once per connection (db.prepared): the commune containing the point
# ($1 lon, $2 lat) with the others that contain it, or else the nearest within a degree box
# ($3, so that the GiST index is used) and then within $4 metres, with the distance and its
# closest point. Only columns are selected, never a geometry (an Area row carries a large
# polygon). routing.decide runs it with the rule lookup in the same statement.
TYPES = ("float8", "float8", "float8", "float8")
_POINT = "ST_SetSRID(ST_MakePoint($1, $2), 4326)"
LOCATE = f"""
  inside AS (SELECT a.id, a.code, a.full_name, a.province_code FROM areas a
             WHERE a.level = 'commune' AND ST_Contains(a.geom, {_POINT})),
  nearest AS (SELECT a.id, a.code, a.full_name, a.province_code, a.geom,
                     ST_Distance(a.geom::geography, {_POINT}::geography) AS distance
              FROM areas a
              WHERE NOT EXISTS (SELECT FROM inside) AND a.level = 'commune' AND ST_DWithin(a.geom, {_POINT}, $3)
              ORDER BY distance, a.code LIMIT 1),
  here AS (
    (SELECT i.id, i.code, i.full_name, i.province_code, 'contains' AS method, NULL::float8 AS distance,
            ARRAY(SELECT o.code::text FROM inside o WHERE o.id <> i.id ORDER BY o.code) AS also_in,
            $1::float8 AS x, $2::float8 AS y
     FROM inside i ORDER BY i.code LIMIT 1)
    UNION ALL
    SELECT n.id, n.code, n.full_name, n.province_code, 'nearest', n.distance, '{{}}'::text[],
           ST_X(ST_ClosestPoint(n.geom, {_POINT})), ST_Y(ST_ClosestPoint(n.geom, {_POINT}))
    FROM nearest n WHERE n.distance <= $4)"""


def arguments(lon: float, lat: float) -> tuple[float, float, float, float]:
    """$1–$4 of LOCATE: the point, the degree box and the snap distance in metres."""
    snap = float(current_app.config["BORDER_SNAP_METERS"])
    degrees = snap / (111_320 * max(math.cos(math.radians(lat)), 0.1)) * 1.01
    return float(lon), float(lat), degrees, snap


def located(row, lon: float, lat: float) -> tuple[Commune | None, str, float | None, tuple, tuple[float, float]]:
    """locate()'s answer from the first nine columns of a LOCATE row (None: no commune)."""
    if row is None:
        return None, "none", None, (), (lon, lat)
    commune = Commune(*row[:4])
    if row[4] == "contains":
        return commune, "contains", None, tuple(row[6]), (lon, lat)
    return commune, "nearest", round(float(row[5]), 1), (), (float(row[7]), float(row[8]))


def locate(lon: float, lat: float) -> tuple[Commune | None, str, float | None, tuple, tuple[float, float]]:
    """(commune, method contains|nearest|none, distance_m, other communes, point to match rules with)."""
    rows = db.prepared("communes_locate", TYPES, f"WITH {LOCATE} SELECT * FROM here", arguments(lon, lat))
    return located(rows[0] if rows else None, lon, lat)


def listed(province: str | None = None) -> Sequence[Row]:
    """(code, full name) of the communes of `province`, else of every served province, by name:
    the commune filters of the console and the public pages."""
    where = Area.province_code == province if province else provinces.condition(Area.province_code)
    return db.session.execute(
        select(Area.code, Area.full_name).where(Area.level == "commune", where).order_by(Area.full_name)
    ).all()


def outlines(province: str, tolerance: float) -> Sequence[Row]:
    """(code, name, full name, GeoJSON geometry text) of the province's communes, simplified by
    `tolerance` degrees (5 decimals): the maps' base layer."""
    return db.session.execute(
        select(
            Area.code,
            Area.name,
            Area.full_name,
            func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(Area.geom, tolerance), 5),
        )
        .where(Area.level == "commune", Area.province_code == province)
        .order_by(Area.code)
    ).all()


def outline(area_id: int, tolerance: float) -> str | None:
    """One area's boundary as GeoJSON geometry text, simplified by `tolerance` degrees (6 decimals)."""
    return db.session.scalar(
        select(func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(Area.geom, tolerance), 6)).where(Area.id == area_id)
    )


@dataclass
class Place:
    lon: float
    lat: float
    area_code: str
    area_name: str
    accuracy_m: float | None


def normalize(text: str) -> str:
    """Lower case, no diacritics (đ → d), punctuation as spaces: "Phường Tân Lập" → "phuong tan lap"."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def from_address(address: str) -> Place:
    """The commune the address names; 400 when it names none, or two equally well.

    There is no street geocoder in the stack, so an address is resolved only as far as the
    commune/ward it names; the report gets that area's label point, marked as an address
    location with the area's rough radius as its accuracy, and staff can refine it.
    """
    addr = f" {normalize(address)} "
    rows = db.session.execute(
        select(
            Area.code,
            Area.name,
            Area.full_name,
            Area.area_km2,
            func.ST_X(func.coalesce(Area.label, func.ST_PointOnSurface(Area.geom))),
            func.ST_Y(func.coalesce(Area.label, func.ST_PointOnSurface(Area.geom))),
        ).where(Area.level == "commune", provinces.condition(Area.province_code))
    )
    best: list[tuple[int, Any]] = []
    for row in rows:
        # The full name ("phuong tan lap") is a stronger match than the bare name ("tan lap").
        for weight, cand in ((1000, normalize(row.full_name)), (0, normalize(row.name))):
            if cand and f" {cand} " in addr:
                best.append((weight + len(cand), row))
                break
    if not best:
        raise Invalid(
            "address_not_located",
            "address_string names no commune or ward of this province; send lat and long.",
            "address_string không nêu xã/phường nào của tỉnh; vui lòng gửi lat và long.",
        )
    best.sort(key=lambda x: -x[0])
    if len(best) > 1 and best[0][0] == best[1][0]:
        raise Invalid(
            "address_ambiguous",
            f"address_string could be {best[0][1].full_name} or {best[1][1].full_name}; send lat and long.",
            f"address_string có thể là {best[0][1].full_name} hoặc {best[1][1].full_name}; vui lòng gửi lat và long.",
        )
    row = best[0][1]
    radius = math.sqrt(row.area_km2 * 1e6 / math.pi) if row.area_km2 else None
    return Place(
        lon=row[4],
        lat=row[5],
        area_code=row.code,
        area_name=row.full_name,
        accuracy_m=round(radius) if radius else None,
    )
