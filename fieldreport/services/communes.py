"""Point → commune, the one lookup: intake files a report under it, routing routes in it, and
the citizen map's pin shows it, so the three can never disagree (border points included).

The commune whose polygon contains the point (two: the smallest code, the others listed);
else, the simplified boundaries leaving gaps, the nearest commune within BORDER_SNAP_METERS,
with the distance and the closest point of it. A point exactly on a shared border is in no
polygon's interior, so it is the nearest (distance 0) with the smallest code.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from flask import current_app
from geoalchemy2 import Geography
from sqlalchemy import bindparam, cast, func, select

from fieldreport import geo
from fieldreport.extensions import db
from fieldreport.models import Area


class Commune(NamedTuple):
    id: int
    code: str
    full_name: str
    province_code: str | None


# The statements are built once with bind parameters: building them costs more than running
# them. Only columns are selected, never a geometry (an Area row carries a large polygon).
POINT = func.ST_SetSRID(func.ST_MakePoint(bindparam("lon"), bindparam("lat")), geo.SRID)
_COMMUNE = (Area.id, Area.code, Area.full_name, Area.province_code)
_CONTAINS = select(*_COMMUNE).where(Area.level == "commune", func.ST_Contains(Area.geom, POINT)).order_by(Area.code)
_DISTANCE = func.ST_Distance(cast(Area.geom, Geography), cast(POINT, Geography))
_CLOSEST = func.ST_ClosestPoint(Area.geom, POINT)
# A degree box first so that the GiST index is used, then the true distance in metres.
_NEAREST = (
    select(*_COMMUNE, _DISTANCE, func.ST_X(_CLOSEST), func.ST_Y(_CLOSEST))
    .where(Area.level == "commune", func.ST_DWithin(Area.geom, POINT, bindparam("degrees")))
    .order_by(_DISTANCE, Area.code)
    .limit(1)
)


def locate(lon: float, lat: float) -> tuple[Commune | None, str, float | None, tuple, tuple[float, float]]:
    """(commune, method contains|nearest|none, distance_m, other communes, point to match rules with)."""
    found = db.session.execute(_CONTAINS, {"lon": lon, "lat": lat}).all()
    if found:
        return Commune(*found[0]), "contains", None, tuple(a.code for a in found[1:]), (lon, lat)
    snap = current_app.config["BORDER_SNAP_METERS"]
    degrees = snap / (111_320 * max(math.cos(math.radians(lat)), 0.1)) * 1.01
    row = db.session.execute(_NEAREST, {"lon": lon, "lat": lat, "degrees": degrees}).first()
    if row is None or row[4] > snap:
        return None, "none", None, (), (lon, lat)
    return Commune(*row[:4]), "nearest", round(float(row[4]), 1), (), (float(row[5]), float(row[6]))
