"""Where a point is: its commune and province from our own boundaries (the citizen map's pin)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from fieldreport.extensions import db
from fieldreport.models import Area
from fieldreport.services import communes, provinces


def where(lat: float, lon: float) -> dict:
    """The commune under the pin (or within the border snap), and whether the deployment takes it.

    Uses the one point → commune lookup (communes.locate), so the name shown under the pin is the
    commune the report will be routed in; "inside" is false for a point the intake refuses.
    `service_province` is the province that takes the point (the home province when none does).
    """
    commune, method, distance_m, _, _ = communes.locate(lon, lat)
    theirs = commune.province_code if commune is not None else None
    inside = provinces.serves(theirs)
    province: str = theirs if inside and theirs else current_app.config["PROVINCE_CODE"]
    names = dict(
        db.session.execute(
            select(Area.code, Area.full_name).where(
                Area.code.in_(["P" + province] + (["P" + theirs] if theirs else []))
            )
        ).all()
    )
    return {
        "inside": inside,
        "commune": {"code": commune.code, "name": commune.full_name} if commune else None,
        "province": {"code": theirs, "name": names.get("P" + theirs)} if theirs else None,
        "service_province": {"code": province, "name": names.get("P" + province)},
        "method": method,
        "distance_m": distance_m,
    }
