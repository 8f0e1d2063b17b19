"""Routing decisions on the real Đắk Lắk polygons: communes, border gaps and overlaps, rules."""

from __future__ import annotations

import pytest
from shapely import wkb
from sqlalchemy import func, select, text

from fieldreport.models import Area, RoutingRule
from fieldreport.services import routing
from tests import factories as f

BMT_WARDS = ("24133", "24121", "24154", "24163", "24169", "24175")


def decide(session, category_code, lon, lat):
    return routing.decide(lon, lat, f.category(session, category_code))


def test_bmt_centre_is_in_its_ward(db_session):
    d = decide(db_session, "road_damage", *f.BMT)
    assert (d.area_code, d.method, d.reason, d.unit_code) == ("24133", "contains", "rule", "UBND-24133")
    assert d.rule_note == "Mặc định: UBND xã, phường sở tại" and d.distance_m is None


def test_a_point_inside_every_commune_routes_to_that_commune(db_session):
    # A point of each commune that no other commune overlaps: all 102 must come back to it.
    rows = db_session.execute(
        text("""
        SELECT a.code, ST_X(p), ST_Y(p) FROM areas a,
        LATERAL (SELECT ST_PointOnSurface(ST_Difference(a.geom, COALESCE(
            (SELECT ST_Union(b.geom) FROM areas b
             WHERE b.level = 'commune' AND b.id <> a.id AND ST_Intersects(a.geom, b.geom)),
            'GEOMETRYCOLLECTION EMPTY'::geometry))) AS p) s
        WHERE a.level = 'commune' AND a.province_code = '66'""")
    ).all()
    assert len(rows) == 102
    wrong = []
    for code, lon, lat in rows:
        d = decide(db_session, "road_damage", lon, lat)
        if (d.area_code, d.method, d.unit_code) != (code, "contains", f"UBND-{code}"):
            wrong.append((code, d))
    assert wrong == []


def test_point_in_two_communes_goes_to_the_smallest_code(db_session):
    lon, lat = db_session.execute(
        text("""
        SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Intersection(a.geom, b.geom)) p
        FROM areas a, areas b WHERE a.code = '24412' AND b.code = '24415') s""")
    ).one()
    d = decide(db_session, "road_damage", lon, lat)
    assert (d.area_code, d.also_in, d.method) == ("24412", ("24415",), "contains")
    assert d.unit_code == "UBND-24412"


def _gap_point(session, lo_m: float, hi_m: float):
    """A point in no commune whose distance to the nearest commune is in [lo_m, hi_m]."""
    province = wkb.loads(bytes(session.scalar(select(func.ST_AsBinary(Area.geom)).where(Area.code == "P66"))))
    # Offsets just outside the province's outer border, then checked in metres by PostGIS.
    for degrees in (0.0003, 0.0006, 0.0009, 0.0012, 0.002, 0.004, 0.008):
        ring = max(province.buffer(degrees).geoms, key=lambda g: g.area).exterior
        for i in range(40):
            pt = ring.interpolate(i / 40, normalized=True)
            inside, dist = session.execute(
                text("""
                SELECT bool_or(ST_Contains(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))),
                       min(ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography))
                FROM areas WHERE level = 'commune'"""),
                {"x": pt.x, "y": pt.y},
            ).one()
            if not inside and lo_m <= dist <= hi_m:
                return pt.x, pt.y, dist
    pytest.fail("no such point found")


def test_point_in_a_gap_near_a_commune_goes_to_the_nearest(db_session):
    lon, lat, dist = _gap_point(db_session, 30, 140)
    d = decide(db_session, "road_damage", lon, lat)
    assert d.method == "nearest" and d.reason == "rule"
    assert d.distance_m == pytest.approx(dist, abs=0.2)
    assert d.unit_code == f"UBND-{d.area_code}"
    nearest = db_session.scalar(
        text("""
        SELECT code FROM areas WHERE level = 'commune' ORDER BY
        ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography) LIMIT 1"""),
        {"x": lon, "y": lat},
    )
    assert d.area_code == nearest


def test_interior_gap_between_communes_snaps_too(db_session):
    # The simplified boundaries leave slivers between communes inside the province.
    lon, lat = db_session.execute(
        text("""
        SELECT ST_X(p), ST_Y(p) FROM (
          SELECT ST_PointOnSurface(ST_MakePolygon(ST_InteriorRingN(g, n))) p
          FROM (SELECT (ST_Dump(geom)).geom g FROM areas WHERE code = 'P66') d,
               generate_series(1, ST_NumInteriorRings(g)) n) s
        WHERE NOT EXISTS (SELECT 1 FROM areas WHERE level = 'commune' AND ST_Contains(geom, p))
        LIMIT 1""")
    ).one()
    d = decide(db_session, "road_damage", lon, lat)
    assert d.method == "nearest" and 0 <= d.distance_m <= 150 and d.reason == "rule"


def test_far_from_any_commune_goes_to_the_dispatcher(db_session):
    lon, lat, _ = _gap_point(db_session, 200, 5000)
    d = decide(db_session, "road_damage", lon, lat)
    assert (d.method, d.reason, d.unit_code, d.area_code) == ("none", "outside_province", "IOC-66", None)


@pytest.mark.parametrize("lon,lat", [(105.85, 21.03), (106.70, 10.78), (0.0, 0.0)])
def test_outside_the_province_goes_to_the_dispatcher(db_session, lon, lat):
    d = decide(db_session, "road_damage", lon, lat)
    assert (d.reason, d.unit_code, d.method) == ("outside_province", "IOC-66", "none")


def test_commune_of_another_province_is_outside(db_session):
    other = Area(
        code="T9999",
        name="Elsewhere",
        full_name="Xã Elsewhere",
        level="commune",
        province_code="99",
        geom=text("ST_Multi(ST_MakeEnvelope(105.8, 21.0, 105.9, 21.1, 4326))"),
    )
    db_session.add(other)
    db_session.flush()
    d = decide(db_session, "road_damage", 105.85, 21.03)
    assert (d.reason, d.area_code, d.unit_code) == ("outside_province", "T9999", "IOC-66")


@pytest.mark.parametrize(
    "category,unit",
    [
        ("power_outage", "PC-66"),
        ("flooding", "WATER-66"),
        ("noise", "CAT"),
        ("pollution", "SNNMT"),
        ("rubbish", "URENCO-BMT"),
        ("street_light", "URENCO-BMT"),
        ("road_damage", "UBND-24133"),
    ],
)
def test_category_rules_in_the_city(db_session, category, unit):
    d = decide(db_session, category, *f.BMT)
    assert d.unit_code == unit and d.reason == "rule" and d.rule_id is not None


def test_city_contract_does_not_apply_outside_the_old_city(db_session):
    lon, lat = db_session.execute(
        text(
            "SELECT ST_X(label), ST_Y(label) FROM areas WHERE level = 'commune' AND code NOT IN :w "
            "ORDER BY code LIMIT 1"
        ).bindparams(w=BMT_WARDS)
    ).one()
    d = decide(db_session, "rubbish", lon, lat)
    assert d.unit_code == f"UBND-{d.area_code}" and d.area_code not in BMT_WARDS


def test_other_category_always_goes_to_the_dispatcher(db_session):
    d = decide(db_session, "other", *f.BMT)
    assert (d.reason, d.unit_code, d.area_code) == ("category_other", "IOC-66", "24133")


def _rule(session, category, unit, priority, *, area=None, scope_m2=None, active=True):
    a = session.scalar(select(Area).where(Area.code == area)) if area else None
    r = RoutingRule(
        category_id=f.category(session, category).id if category else None,
        area_id=a.id if a else None,
        unit_id=f.unit(session, unit).id,
        priority=priority,
        active=active,
        note=f"test {unit}",
        scope_area_m2=scope_m2
        if scope_m2 is not None
        else session.scalar(text("SELECT ST_Area(geom::geography) FROM areas WHERE id = :i"), {"i": a.id}),
    )
    session.add(r)
    session.flush()
    return r


def test_precedence_priority_then_smallest_scope_then_lowest_id(db_session):
    _rule(db_session, "noise", "SXD", 20, area="P66")
    ward = _rule(db_session, "noise", "SCT", 20, area="24133")
    assert decide(db_session, "noise", *f.BMT).rule_id == ward.id  # smaller scope wins
    first = _rule(db_session, "noise", "WATER-66", 20, area="24133", scope_m2=1000.0)
    _rule(db_session, "noise", "PC-66", 20, area="24133", scope_m2=1000.0)
    assert decide(db_session, "noise", *f.BMT).rule_id == first.id  # tie: lowest id
    top = _rule(db_session, None, "SNNMT", 30, area="P66")  # any category, higher priority
    assert decide(db_session, "noise", *f.BMT).rule_id == top.id


def test_inactive_rules_and_units_are_skipped(db_session):
    _rule(db_session, "road_damage", "SXD", 50, area="P66", active=False)
    assert decide(db_session, "road_damage", *f.BMT).unit_code == "UBND-24133"
    f.unit(db_session, "UBND-24133").active = False
    db_session.flush()
    d = decide(db_session, "road_damage", *f.BMT)
    assert (d.reason, d.unit_code, d.area_code) == ("no_rule", "IOC-66", "24133")


def test_explain_is_json_ready(db_session):
    d = decide(db_session, "rubbish", *f.BMT)
    e = d.explain()
    assert set(e) >= {
        "rule_id",
        "rule_note",
        "area_code",
        "area_name",
        "method",
        "distance_m",
        "reason",
        "unit_code",
        "also_in",
    }
    assert e["area_name"].endswith("Buôn Ma Thuột")


def test_a_point_on_a_shared_border_is_filed_routed_and_shown_in_one_commune(db_session):
    """A vertex of the border of Tân Lập (24121) and Buôn Ma Thuột (24133) is in both polygons
    and inside neither: intake, routing and the map's pin all name the same commune (intake
    had its own lookup, the first by id of those touching the point)."""
    from fieldreport.services import intake, places

    lon, lat = db_session.execute(
        text("""
        SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointN(ST_GeometryN(ST_Intersection(a.geom, b.geom), 1), 1) p
        FROM areas a, areas b WHERE a.code = '24121' AND b.code = '24133') s""")
    ).one()
    touching = db_session.scalars(
        select(Area.code)
        .where(
            Area.level == "commune", func.ST_Intersects(Area.geom, func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326))
        )
        .order_by(Area.code)
    ).all()
    inside = db_session.scalars(
        select(Area.code).where(
            Area.level == "commune", func.ST_Contains(Area.geom, func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326))
        )
    ).all()
    assert (touching, inside) == (["24121", "24133"], [])  # really on the border
    d = decide(db_session, "road_damage", lon, lat)
    assert (d.area_code, d.method, d.distance_m) == ("24121", "nearest", 0.0)
    assert db_session.get(Area, intake.service_area(lon, lat)[0]).code == d.area_code
    assert places.where(lat, lon)["commune"]["code"] == d.area_code


def _old_decide(session, lon: float, lat: float, category) -> tuple:
    """The decision as routing made it before its one prepared statement: point → commune,
    then the rule, each an ORM statement (kept here as the reference)."""
    import math

    from flask import current_app
    from geoalchemy2 import Geography
    from sqlalchemy import bindparam, cast, or_, union_all

    from fieldreport.models import Unit
    from fieldreport.services import provinces, workflow

    point = func.ST_SetSRID(func.ST_MakePoint(bindparam("lon"), bindparam("lat")), 4326)
    cols = (Area.id, Area.code, Area.full_name, Area.province_code)
    found = session.execute(
        select(*cols).where(Area.level == "commune", func.ST_Contains(Area.geom, point)).order_by(Area.code),
        {"lon": lon, "lat": lat},
    ).all()
    mlon, mlat, distance, also = lon, lat, None, ()
    if found:
        commune, method, also = found[0], "contains", tuple(a.code for a in found[1:])
    else:
        snap = current_app.config["BORDER_SNAP_METERS"]
        degrees = snap / (111_320 * max(math.cos(math.radians(lat)), 0.1)) * 1.01
        dist = func.ST_Distance(cast(Area.geom, Geography), cast(point, Geography))
        closest = func.ST_ClosestPoint(Area.geom, point)
        row = session.execute(
            select(*cols, dist, func.ST_X(closest), func.ST_Y(closest))
            .where(Area.level == "commune", func.ST_DWithin(Area.geom, point, bindparam("degrees")))
            .order_by(dist, Area.code)
            .limit(1),
            {"lon": lon, "lat": lat, "degrees": degrees},
        ).first()
        if row is None or row[4] > snap:
            commune, method = None, "none"
        else:
            commune, method, distance, mlon, mlat = row[:4], "nearest", round(float(row[4]), 1), row[5], row[6]
    rule = None
    if commune is not None and provinces.serves(commune[3]) and not category.is_other:
        snapped = method == "nearest"

        def holds(geom):
            return func.ST_DWithin(geom, point, 1e-7) if snapped else func.ST_Intersects(geom, point)

        chain = select(Area.id, Area.parent_id).where(Area.id == bindparam("commune_id")).cte("chain", recursive=True)
        chain = chain.union(select(Area.id, Area.parent_id).where(Area.id == chain.c.parent_id))
        in_chain = select(chain.c.id)
        for_category = or_(RoutingRule.category_id == category.id, RoutingRule.category_id.is_(None))
        candidates = union_all(
            select(RoutingRule.id).where(for_category, RoutingRule.area_id.in_(in_chain)),
            select(RoutingRule.id).where(for_category, RoutingRule.area_id.is_(None), holds(RoutingRule.scope)),
            select(RoutingRule.id)
            .join(Area, Area.id == RoutingRule.area_id)
            .where(for_category, Area.level != "commune", Area.id.not_in(in_chain), holds(Area.geom)),
        ).subquery()
        rule = session.execute(
            select(RoutingRule.id, Unit.code)
            .join(Unit, Unit.id == RoutingRule.unit_id)
            .where(RoutingRule.id.in_(select(candidates.c.id)), RoutingRule.active, Unit.active)
            .order_by(RoutingRule.priority.desc(), RoutingRule.scope_area_m2.asc().nulls_last(), RoutingRule.id)
            .limit(1),
            {"commune_id": commune[0], "lon": mlon, "lat": mlat},
        ).first()
    unit_code = rule[1] if rule else workflow.dispatcher_unit(commune[3] if commune else None).code
    return (commune[1] if commune else None, method, distance, also, rule[0] if rule else None, unit_code)


def test_one_statement_decides_as_the_step_by_step_lookups_did(db_session):
    """decide() (one prepared statement: commune and rule) against the ORM statements it
    replaced, for every category: points inside communes, anywhere in the province's box,
    on shared borders, in gaps near a commune (snapped), far away (none), with a drawn
    scope and an inactive rule in play."""
    import random

    from fieldreport.models import Category

    rng = random.Random(20)
    box = db_session.execute(
        text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM areas) s")
    ).one()
    points = [(rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])) for _ in range(40)]
    points += db_session.execute(
        text("SELECT ST_X(label), ST_Y(label) FROM areas WHERE level = 'commune' ORDER BY code LIMIT 20")
    ).all()
    points += db_session.execute(  # vertices of shared borders: in two polygons' boundaries, inside neither
        text("""
        SELECT ST_X(p), ST_Y(p) FROM (
          SELECT ST_PointN(ST_GeometryN(ST_Intersection(a.geom, b.geom), 1), 1) p
          FROM areas a JOIN areas b ON a.code < b.code AND ST_Intersects(a.geom, b.geom)
          WHERE a.level = 'commune' AND b.level = 'commune' AND a.code IN ('24121', '24133', '24412')) s
        WHERE p IS NOT NULL LIMIT 10""")
    ).all()
    points += [_gap_point(db_session, 30, 140)[:2], _gap_point(db_session, 200, 5000)[:2], (105.85, 21.03)]
    db_session.execute(text("UPDATE routing_rules SET active = false WHERE id = (SELECT min(id) FROM routing_rules)"))
    cats = db_session.scalars(select(Category).order_by(Category.id)).all()
    seen = set()
    for lon, lat in points:
        for cat in cats:
            d = routing.decide(lon, lat, cat)
            got = (d.area_code, d.method, d.distance_m, d.also_in, d.rule_id, d.unit_code)
            assert got == _old_decide(db_session, lon, lat, cat), (lon, lat, cat.code)
            seen.add((d.method, d.reason))
    assert {m for m, _ in seen} == {"contains", "nearest", "none"}
    assert {r for _, r in seen} >= {"rule", "category_other", "outside_province"}
