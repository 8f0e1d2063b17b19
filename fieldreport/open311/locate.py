"""Placing an address_string without lat/long: find the commune or ward it names.

There is no street geocoder in the stack, so an address is resolved only as far as the
commune/ward it names; the report gets that area's label point, marked as an address
location with the area's rough radius as its accuracy, and staff can refine it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select

from fieldreport.errors import Invalid
from fieldreport.extensions import db
from fieldreport.models import Area
from fieldreport.services import provinces


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


def locate(address: str) -> Place:
    """The commune the address names; 400 when it names none, or two equally well."""
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
    best: list[tuple[int, tuple]] = []
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
