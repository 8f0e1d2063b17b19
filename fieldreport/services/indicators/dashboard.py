"""The supervisor dashboard's reads: every table of a page in one batch, the overdue map.

A page shows the period by unit (the whole tree, for the ranking), by commune, category and
channel, the previous period's total and a trend of 12 weeks or months: 17 tables, computed
by one compute_many() (tables of periods that are over from the cache, the rest in three
statements). The tables by commune, category and channel are read without histograms: the
page shows no median or p90 of them (the export computes them whole).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from fieldreport.extensions import db
from fieldreport.models import OPEN_STATUSES, Category, Report, Unit
from fieldreport.models.base import utcnow
from fieldreport.services import policy
from fieldreport.services.indicators.periods import Period, period
from fieldreport.services.indicators.table import Scope, Table, compute_many

TREND_POINTS = {"week": 12, "month": 12}
RANK_DEPTH = 8  # every unit of the subtree gets a row (utilities and contractors included)
OVERDUE_MAP_LIMIT = 1000  # the map shows the oldest overdue reports first
DETAIL = ("area", "category", "channel")


def previous(p: Period) -> Period:
    """The period just before: last week/month/quarter/year, or as many days before a custom one."""
    if p.kind == "custom":
        length = p.end - p.start
        return period("custom", p.start - length, p.start - timedelta(days=1))
    return period(p.kind, p.start - timedelta(days=1))


def trend_periods(kind: str, anchor: date) -> list[Period]:
    """The last N weeks or months up to the one holding `anchor`, oldest first."""
    out = []
    for i in range(TREND_POINTS[kind] - 1, -1, -1):
        if kind == "week":
            day = anchor - timedelta(weeks=i)
        else:
            y, m = divmod(anchor.year * 12 + anchor.month - 1 - i, 12)
            day = date(y, m + 1, 1)
        out.append(period(kind, day))
    return out


def tables(p: Period, sc: Scope, hists: bool = True, now: datetime | None = None) -> dict:
    """The period's tables by unit (RANK_DEPTH levels), commune, category and channel."""
    by_unit, *rest = compute_many([Table(p, "unit", RANK_DEPTH), *(Table(p, g, 1, hists) for g in DETAIL)], sc, now)
    return {"period": p, "scope": sc, "by_unit": by_unit, **{f"by_{g}": t for g, t in zip(DETAIL, rest, strict=True)}}


def page(p: Period, sc: Scope, trend_kind: str, now: datetime | None = None) -> tuple[dict, dict, list]:
    """Everything the page computes, in one batch: (tables, the previous period's total,
    [(trend period, its total)…])."""
    before = previous(p)
    steps = trend_periods(trend_kind, p.last)
    batch = [
        Table(p, "unit", RANK_DEPTH),
        *(Table(p, g, 1, hists=False) for g in DETAIL),
        Table(before, "none"),
        *(Table(s, "none") for s in steps),
    ]
    done = compute_many(batch, sc, now)
    data = {
        "period": p,
        "scope": sc,
        "by_unit": done[0],
        **{f"by_{g}": t for g, t in zip(DETAIL, done[1:4], strict=True)},
    }
    return data, done[4]["total"], [(s, t["total"]) for s, t in zip(steps, done[5:], strict=True)]


def overdue_points(user, sc: Scope, vi: bool) -> list[dict]:
    """Open reports past their due time in the scope, for the map's overdue layer."""
    q = (
        select(
            Report.code,
            func.ST_X(Report.location),
            func.ST_Y(Report.location),
            Report.due_at,
            Unit.name if vi else func.coalesce(Unit.name_en, Unit.name),
            Category.name_vi if vi else Category.name_en,
        )
        .join(Category, Category.id == Report.category_id)
        .outerjoin(Unit, Unit.id == Report.unit_id)
        .where(
            policy.report_scope(user),
            Report.status.in_(OPEN_STATUSES),
            Report.paused_at.is_(None),
            Report.due_at < utcnow(),
        )
        .order_by(Report.due_at)
        .limit(OVERDUE_MAP_LIMIT)
    )
    if sc.unit_ids is not None:
        q = q.where(Report.unit_id.in_(sc.unit_ids))
    if sc.category_ids is not None:
        q = q.where(Report.category_id.in_(sc.category_ids))
    return [
        {"code": c, "lon": lon, "lat": lat, "due_at": due.isoformat(), "unit": u, "category": cat}
        for c, lon, lat, due, u, cat in db.session.execute(q)
    ]


def units_for(user) -> list[Unit]:
    """The active units the user may pick (the province first)."""
    visible = policy.visible_unit_ids(user)
    q = select(Unit).where(Unit.active).order_by(Unit.kind != "province", Unit.code)
    if visible is not None:
        q = q.where(Unit.id.in_(visible))
    return list(db.session.scalars(q))


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.sort_order)))
