"""The indicator table service: filters → scope of units → one row per group and a total.

Views and jobs call this (through the package); the counting rules are the package's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import Row, select, text

from fieldreport.errors import Forbidden, Invalid, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import Area, Category, Unit
from fieldreport.models.base import utcnow
from fieldreport.services import deadlines
from fieldreport.services.indicators import cache
from fieldreport.services.indicators.periods import Period, as_of, period
from fieldreport.services.indicators.query import Ask, fetch_many
from fieldreport.services.indicators.totals import Totals

GROUPS = ("unit", "area", "category", "channel", "none")


@dataclass
class Scope:
    units: Sequence[Row]  # (id, code, name, kind, parent_id): the scope's units
    roots: Sequence[Row]  # the scope's top units (same rows)
    unit_ids: list[int] | None  # filter on facts (None: every unit)
    area_ids: list[int] | None
    category_ids: list[int] | None
    # The one province every unit of the scope works for, whose own days off then count in
    # the overdue bands as they count in its reports' deadlines; None: national or several.
    province: str | None = None


_UNIT_COLS = "u.id, u.code, u.name, u.kind, u.parent_id"


def _tree(root_ids: list[int] | None) -> Sequence[Row]:
    """The units under these roots (all units for None), as plain rows (recursive CTE)."""
    if root_ids is None:
        return db.session.execute(text(f"SELECT {_UNIT_COLS} FROM units u")).all()
    return db.session.execute(
        text(f"""
        WITH RECURSIVE t AS (SELECT {_UNIT_COLS} FROM units u WHERE u.id = ANY(CAST(:ids AS int[]))
          UNION SELECT {_UNIT_COLS} FROM units u JOIN t ON u.parent_id = t.id)
        SELECT * FROM t"""),
        {"ids": root_ids},
    ).all()


def scope(
    unit_code: str | None, area_code: str | None, category_codes: list[str] | None, visible: set[int] | None
) -> Scope:
    """Resolve filters; `visible` is the caller's readable units (None: all)."""
    if unit_code:
        root = db.session.execute(text(f"SELECT {_UNIT_COLS} FROM units u WHERE u.code = :c"), {"c": unit_code}).first()
        if root is None:
            raise Unprocessable("unknown_unit", f"No unit {unit_code}.", f"Không có đơn vị {unit_code}.")
        if visible is not None and root.id not in visible:
            raise Forbidden(
                "unit_forbidden", "That unit is outside what you may see.", "Đơn vị này nằm ngoài phạm vi bạn được xem."
            )
        units = _tree([root.id])
        roots = [u for u in units if u.id == root.id]
    elif visible is None:
        units = _tree(None)
        ids = {u.id for u in units}
        roots = [u for u in units if u.parent_id is None or u.parent_id not in ids]
    else:
        units = [u for u in _tree(sorted(visible)) if u.id in visible]
        roots = [u for u in units if u.parent_id not in visible]
    unit_ids = None if (visible is None and not unit_code) else [u.id for u in units]
    area_ids = None
    if area_code:
        area = db.session.scalar(select(Area).where(Area.code == area_code))
        if area is None:
            raise Unprocessable("unknown_area", f"No area {area_code}.", f"Không có địa bàn {area_code}.")
        if area.level == "commune":
            area_ids = [area.id]
        else:
            area_ids = list(
                db.session.scalars(
                    select(Area.id).where(Area.level == "commune", Area.province_code == area.province_code)
                )
            )
    category_ids = None
    if category_codes:
        cats = dict(
            db.session.execute(select(Category.code, Category.id).where(Category.code.in_(category_codes))).all()
        )
        unknown = sorted(set(category_codes) - set(cats))
        if unknown:
            raise Unprocessable(
                "unknown_category", f"No category {', '.join(unknown)}.", f"Không có lĩnh vực {', '.join(unknown)}."
            )
        category_ids = list(cats.values())
    return Scope(units, roots, unit_ids, area_ids, category_ids, _one_province(unit_ids))


def _one_province(unit_ids: list[int] | None) -> str | None:
    """The province of every unit of `unit_ids`, when they share one (None: all units)."""
    if unit_ids is None:
        return None
    found = db.session.scalars(select(Unit.province_code).where(Unit.id.in_(unit_ids)).distinct()).all()
    return found[0] if len(found) == 1 else None


def compute(p: Period, sc: Scope, group_by: str = "unit", depth: int = 1, now: datetime | None = None) -> dict:
    """The indicator table: one row per group (units rolled up over their subtree) + total."""
    return compute_many([Table(p, group_by, depth)], sc, now)[0]


@dataclass(frozen=True)
class Table:
    """One indicator table of a scope: a period, a grouping, the depth of the unit tree.

    `hists` False: no median or p90 (None), for a page that shows none of them; every other
    figure is the same, and the histograms' summing, most of a query's work, is skipped."""

    period: Period
    group_by: str = "unit"
    depth: int = 1
    hists: bool = True


def compute_many(tables: list[Table], sc: Scope, now: datetime | None = None) -> list[dict]:
    """Several tables of one scope (a dashboard's periods and groupings), read as of one
    `now`: tables of periods that are over come from the cache, the others are computed
    together by query.fetch_many (three statements, whatever their number)."""
    for tb in tables:
        if tb.group_by not in GROUPS:
            raise Invalid(
                "bad_group_by",
                f"group_by must be one of {', '.join(GROUPS)}.",
                f"group_by phải là một trong {', '.join(GROUPS)}.",
            )
    now = now or utcnow()
    cal = deadlines.calendar(sc.province)
    out: list[dict | None] = [None] * len(tables)
    todo: list[tuple[int, datetime, cache.Entry | None]] = []
    entry: cache.Entry | None
    for i, tb in enumerate(tables):
        p = tb.period
        t = as_of(p, now)
        if t < datetime.combine(p.end, time(0), tzinfo=cal.tz):  # not over: as of now, never cached
            todo.append((i, t, None))
            continue
        parts = {
            "period": [p.kind, p.start, p.end],
            "group_by": tb.group_by,
            "depth": tb.depth,
            "units": [list(u) for u in sc.units],
            "roots": [r.id for r in sc.roots],
            "filters": [sc.unit_ids, sc.area_ids, sc.category_ids],
        }
        if not tb.hists:
            parts["hists"] = False
        entry = cache.lookup(parts, t, cal)
        if entry.table is not None:
            out[i] = entry.table
        else:
            todo.append((i, t, entry))
    asks: list[Ask] = []
    shown: list[list[tuple[dict, int]] | None] = []
    for i, t, _ in todo:
        tb = tables[i]
        p = tb.period
        if tb.group_by == "unit":
            unit_rows, pairs = _unit_groups(sc, tb.depth)
            shown.append(unit_rows)
            asks.append(Ask(p.start, p.end, t, None, pairs, tb.hists))
        else:
            shown.append(None)
            asks.append(Ask(p.start, p.end, t, _KEYS[tb.group_by], None, tb.hists))
    results = fetch_many(asks, sc.unit_ids, sc.area_ids, sc.category_ids, cal)
    for (i, t, entry), units, per_key in zip(todo, shown, results, strict=True):
        table = _render(tables[i], sc, units, per_key, t, cal)
        if entry is not None:
            entry.store(table)
        out[i] = table
    return [table for table in out if table is not None]


_KEYS = {"area": "area_id", "category": "category_id", "channel": "channel", "none": None}


def _render(tb: Table, sc: Scope, shown, per_key: dict, t: datetime, cal) -> dict:
    p, group_by = tb.period, tb.group_by
    rows: list[tuple[dict, Totals]] = []
    total = Totals()
    if group_by == "unit":
        for label, unit_id in shown:
            rows.append((label, per_key.get(unit_id) or Totals()))
        for r in sc.roots:  # the roots' subtrees are disjoint and cover the scope
            total.add(per_key.get(r.id) or Totals())
    else:
        for acc in per_key.values():
            total.add(acc)
        if group_by == "area":
            # Names only: an Area entity would bring its polygon along (a province's communes
            # are megabytes of WKB, read on every dashboard page).
            names = select(Area.id, Area.code, Area.full_name).where(Area.id.in_(list(per_key)))
            areas = {a.id: a for a in db.session.execute(names)}
            for area_id in sorted(per_key):
                a = areas.get(area_id)
                rows.append(
                    (
                        {"area": {"id": area_id, "code": a.code if a else None, "name": a.full_name if a else None}},
                        per_key[area_id],
                    )
                )
        elif group_by == "category":
            cats = {c.id: c for c in db.session.scalars(select(Category))}
            for cid in sorted(per_key, key=lambda c: (cats[c].sort_order, c) if c in cats else (0, c)):
                c = cats.get(cid)
                rows.append(
                    (
                        {
                            "category": {
                                "id": cid,
                                "code": c.code if c else None,
                                "name_vi": c.name_vi if c else None,
                                "name_en": c.name_en if c else None,
                            }
                        },
                        per_key[cid],
                    )
                )
        elif group_by == "channel":  # app, web, hotline, counter, zalo, open311:<client>
            for channel in sorted(per_key, key=str):
                rows.append(({"channel": channel}, per_key[channel]))
    return {
        "period": {"kind": p.kind, "from": p.start.isoformat(), "to": p.last.isoformat(), "as_of": t.isoformat()},
        "group_by": group_by,
        "total": total.render(cal, t),
        "rows": [{**label, **acc.render(cal, t)} for label, acc in rows],
    }


def _unit_groups(sc: Scope, depth: int) -> tuple[list[tuple[dict, int]], tuple[list[int], list[int]]]:
    """The units shown (the roots and `depth` levels below), and (unit, shown ancestor) pairs.

    Every unit of the scope is paired with each shown unit on its path to its root, so the
    database sums a unit's numbers into all the rows that include it.
    """
    by_id = {u.id: u for u in sc.units}
    children: dict[int, list] = {}
    for u in sc.units:
        if u.parent_id in by_id:
            children.setdefault(u.parent_id, []).append(u)
    shown: list[tuple[dict, int]] = []
    level: dict[int, int] = {}

    def walk(u, lv: int, parent_code: str | None) -> None:
        level[u.id] = lv
        shown.append(
            (
                {
                    "unit": {
                        "id": u.id,
                        "code": u.code,
                        "name": u.name,
                        "kind": u.kind,
                        "parent_code": parent_code,
                        "depth": lv,
                    }
                },
                u.id,
            )
        )
        if lv < depth:
            for child in sorted(children.get(u.id, ()), key=lambda c: c.code):
                walk(child, lv + 1, u.code)

    for r in sorted(sc.roots, key=lambda r: r.code):
        walk(r, 0, None)
    units, groups = [], []
    for u in sc.units:
        a: Row | None = u
        seen = set()
        while a is not None and a.id not in seen:
            seen.add(a.id)
            if a.id in level:
                units.append(u.id)
                groups.append(a.id)
            a = by_id.get(a.parent_id)
    return shown, (units, groups)


@dataclass
class Query:
    period: Period
    scope: Scope
    as_of: datetime
    group_by: str
    depth: int
    detail: str


def from_params(params: dict, visible: set[int] | None, now: datetime | None = None) -> Query:
    """A query from plain, JSON-safe parameters (the API's, or an export job's).

    Keys: period, from, to (ISO dates), group_by, unit, area, category (list of codes),
    depth, detail ('groups' | 'reports').
    """

    def day(key):
        value = params.get(key)
        if value in (None, ""):
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Unprocessable(
                "bad_date", f"{key} must be a date (YYYY-MM-DD).", f"{key} phải là ngày dạng YYYY-MM-DD."
            ) from None

    p = period(params.get("period") or "month", day("from"), day("to"))
    if p.start > (now or utcnow()).astimezone(deadlines.zone()).date():
        raise Invalid("period_in_future", "The period has not started yet.", "Kỳ báo cáo chưa bắt đầu.")
    sc = scope(params.get("unit"), params.get("area"), params.get("category") or None, visible)
    group_by = params.get("group_by") or "unit"
    if group_by not in GROUPS:
        raise Invalid(
            "bad_group_by",
            f"group_by must be one of {', '.join(GROUPS)}.",
            f"group_by phải là một trong {', '.join(GROUPS)}.",
        )
    return Query(p, sc, as_of(p, now), group_by, int(params.get("depth", 1)), params.get("detail") or "groups")
