"""The provinces one deployment serves (setting PROVINCES), and loading them.

PROVINCES empty (the default): the one province PROVINCE_CODE, the Đắk Lắk demo of `make run`.
A list of codes ("66,56") or "all": one deployment for several provinces or the country.
Each province has its own unit tree (UBND-<p> over its communes' committees, departments,
utilities) and dispatcher (IOC-<p>); a unit's `province_code` scopes its people (services/policy.py),
and a report's is the province its point falls in. The boundaries ship in data/ (national,
compressed, see data/SOURCE.md); `load()` imports those of the served provinces and gives
every province without a tree the generated one (the national benchmark uses the same).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import current_app, g, has_app_context
from sqlalchemy import ColumnElement, select, text, update

from fieldreport.errors import Unprocessable
from fieldreport.extensions import db
from fieldreport.models import Area, Unit
from fieldreport.services import uow
from fieldreport.services.areas import import_areas

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
COMMUNES_FILE = DATA_DIR / "vn_communes_2025.geojson.gz"
PROVINCES_FILE = DATA_DIR / "vn_provinces_2025.geojson.gz"

# The generated tree of a province: (code prefix, name, kind, parent prefix or None = UBND).
DEPARTMENTS = [
    ("SXD", "Sở Xây dựng", "department", None),
    ("SCT", "Sở Công Thương", "department", None),
    ("SNNMT", "Sở Nông nghiệp và Môi trường", "department", None),
    ("CAT", "Công an tỉnh", "police", None),
    ("PC", "Công ty Điện lực", "utility", "SCT"),
    ("WATER", "Công ty Cấp thoát nước", "utility", "SXD"),
    ("IOC", "Trung tâm điều hành (IOC)", "dispatcher", None),
]
# Categories a province-wide unit owns (priority over the commune's committee).
OWNERS = {"power_outage": "PC", "flooding": "WATER", "traffic_signal": "SXD", "noise": "CAT", "pollution": "SNNMT"}


def parse(setting: str | None, default: str) -> tuple[str, ...] | None:
    """ "" → (default,); "all" → None (every province loaded); "66, 56" → ("66", "56")."""
    raw = (setting or "").strip()
    if not raw:
        return (default,)
    if raw.lower() == "all":
        return None
    codes = tuple(dict.fromkeys(c.strip() for c in raw.split(",") if c.strip()))
    bad = [c for c in codes if not (c.isdigit() and len(c) == 2)]
    if bad:
        raise ValueError(f"PROVINCES: {', '.join(bad)} is not a 2-digit province code (or 'all')")
    return codes


def served() -> tuple[str, ...] | None:
    """The province codes this deployment serves; None: every province whose boundaries are loaded."""
    cfg = current_app.config
    return parse(cfg.get("PROVINCES"), cfg["PROVINCE_CODE"])


def is_multi() -> bool:
    codes = served()
    return codes is None or len(codes) > 1


def serves(code: str | None) -> bool:
    codes = served()
    return code is not None and (codes is None or code in codes)


def check(code: str) -> str:
    """`code` when the deployment serves it, else a clear 422 (a filter never silently empty)."""
    if not serves(code):
        raise Unprocessable(
            "unknown_province",
            f"This deployment does not serve province {code!r}.",
            f"Hệ thống không phục vụ tỉnh {code!r}.",
            field="province",
        )
    return code


def condition(column) -> ColumnElement[bool]:
    """WHERE `column` (a province code) is one the deployment serves."""
    codes = served()
    return column.is_not(None) if codes is None else column.in_(codes)


def listing() -> list[dict]:
    """The served provinces loaded, by code: [{code, name}] (filters on public pages)."""
    if has_app_context() and "_provinces" in g:
        return g._provinces
    rows = db.session.execute(
        select(Area.province_code, Area.name)
        .where(Area.level == "province", condition(Area.province_code))
        .order_by(Area.province_code)
    ).all()
    out = [{"code": c, "name": n} for c, n in rows]
    if has_app_context():
        g._provinces = out
    return out


def load(codes: Iterable[str] | None = None, progress=None) -> dict:
    """Import the shipped boundaries of `codes` (None: the whole country) and give every
    loaded province that has no unit tree yet the generated one; idempotent."""
    codes = None if codes is None else list(codes)
    provinces = import_areas(PROVINCES_FILE, provinces=codes)
    communes = import_areas(COMMUNES_FILE, provinces=codes, progress=progress)
    trees = unit_trees()
    claim_units()
    uow.commit()
    return {"provinces": provinces.total, "communes": communes.total, "new_trees": trees}


def claim_units() -> None:
    """Units without a province whose area lies in a served province join that province; the
    caller commits. The Đắk Lắk demo seeds its units national (one province: nothing to scope);
    in a deployment of several they are Đắk Lắk's, so its admin and dispatcher are scoped to it
    (a national account, no unit, still sees every province)."""
    db.session.execute(
        update(Unit)
        .where(Unit.area_id == Area.id, Unit.province_code.is_(None), condition(Area.province_code))
        .values(province_code=Area.province_code)
    )


def unit_trees() -> int:
    """Units and routing rules for each loaded province without its UBND-<p>; the caller commits.

    UBND-<p> (province committee) over the communes' UBND-<code>, the departments and utilities
    of DEPARTMENTS, a dispatcher IOC-<p>; rules: the commune's committee by default, a
    province-wide owner for the categories of OWNERS. Every unit carries its province_code.
    """
    new = [
        r[0]
        for r in db.session.execute(
            text("""
        SELECT p.province_code FROM areas p
        WHERE p.level = 'province'
          AND NOT EXISTS (SELECT 1 FROM units u WHERE u.code = 'UBND-' || p.province_code)""")
        ).all()
    ]
    if not new:
        return 0
    params = {"new": new}
    db.session.execute(
        text("""
        INSERT INTO units (code, name, name_en, kind, parent_id, area_id, active, province_code)
        SELECT 'UBND-' || p.province_code, 'UBND tỉnh/thành phố ' || p.name,
               p.name || ' People''s Committee', 'province', NULL, p.id, true, p.province_code
        FROM areas p WHERE p.level = 'province' AND p.province_code = ANY(:new)
        ON CONFLICT (code) DO NOTHING"""),
        params,
    )
    for code, name, kind, parent in DEPARTMENTS:
        parent_code = f"'{parent}-' || p.province_code" if parent else "'UBND-' || p.province_code"
        db.session.execute(
            text(f"""
            INSERT INTO units (code, name, kind, parent_id, area_id, active, province_code)
            SELECT '{code}-' || p.province_code, '{name} ' || p.name, '{kind}', par.id, p.id, true,
                   p.province_code
            FROM areas p JOIN units par ON par.code = {parent_code}
            WHERE p.level = 'province' AND p.province_code = ANY(:new)
            ON CONFLICT (code) DO NOTHING"""),
            params,
        )
    db.session.execute(
        text("""
        INSERT INTO units (code, name, kind, parent_id, area_id, active, province_code)
        SELECT 'UBND-' || c.code, 'UBND ' || c.full_name, 'commune', par.id, c.id, true, c.province_code
        FROM areas c JOIN units par ON par.code = 'UBND-' || c.province_code
        WHERE c.level = 'commune' AND c.province_code = ANY(:new)
        ON CONFLICT (code) DO NOTHING"""),
        params,
    )
    db.session.execute(
        text("""
        INSERT INTO routing_rules (category_id, area_id, unit_id, priority, active, note, scope_area_m2)
        SELECT NULL, c.id, u.id, 0, true, 'Mặc định: UBND xã, phường sở tại', ST_Area(c.geom::geography)
        FROM areas c JOIN units u ON u.code = 'UBND-' || c.code
        WHERE c.level = 'commune' AND c.province_code = ANY(:new)"""),
        params,
    )
    for category, owner in OWNERS.items():
        db.session.execute(
            text("""
            INSERT INTO routing_rules (category_id, area_id, unit_id, priority, active, note, scope_area_m2)
            SELECT k.id, p.id, u.id, 10, true, 'Đơn vị phụ trách lĩnh vực trên toàn tỉnh',
                   ST_Area(p.geom::geography)
            FROM areas p JOIN units u ON u.code = :owner || '-' || p.province_code
            CROSS JOIN categories k
            WHERE k.code = :category AND p.level = 'province' AND p.province_code = ANY(:new)"""),
            {**params, "owner": owner, "category": category},
        )
    return len(new)
