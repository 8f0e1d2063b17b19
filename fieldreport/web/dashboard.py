"""Supervisor dashboard: indicators for a period and unit subtree, ranking, trends, map, exports."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, g, render_template, request
from sqlalchemy import func, select

from fieldreport import auth
from fieldreport.errors import DomainError
from fieldreport.extensions import db
from fieldreport.models import Category, Report, Unit
from fieldreport.models.base import utcnow
from fieldreport.models.report import OPEN_STATUSES
from fieldreport.services import indicators
from fieldreport.web import session as web_session
from fieldreport.web.i18n import current_lang, parse_date

bp = Blueprint("dashboard", __name__, url_prefix="/console/dashboard")
web_session.init_blueprint(bp)

ROLES = ("supervisor", "admin", "dispatcher")
TREND_POINTS = {"week": 12, "month": 12}
OVERDUE_MAP_LIMIT = 1000  # the map shows the oldest overdue reports first


def _date(name: str) -> date | None:
    return parse_date(request.args.get(name))


def selection() -> dict:
    """The filters on screen (shared by the page and its exports)."""
    kind = request.args.get("period") or "month"
    if kind not in indicators.PERIODS or kind == "day":
        kind = "month"
    start, end = _date("from"), _date("to")
    if kind != "custom":
        end = None
    elif start is None or end is None:
        kind = "month"
    trend = request.args.get("trend") if request.args.get("trend") in TREND_POINTS else "week"
    return {"period": kind, "from": start, "to": end, "unit": request.args.get("unit") or None,
            "category": request.args.get("category") or None, "trend": trend}


def _scope(user, sel):
    return indicators.scope(sel["unit"], None, [sel["category"]] if sel["category"] else None,
                            auth.visible_unit_ids(user))


def tables(user, sel) -> dict:
    """Indicator tables for the selection: per unit (one level down), per commune, total."""
    p = indicators.period(sel["period"], sel["from"], sel["to"])
    sc = _scope(user, sel)
    by_unit = indicators.compute(p, sc, "unit", depth=1)
    by_area = indicators.compute(p, sc, "area")
    by_category = indicators.compute(p, sc, "category")
    return {"period": p, "scope": sc, "by_unit": by_unit, "by_area": by_area,
            "by_category": by_category}


def trend(user, sel) -> list[dict]:
    """The last N weeks or months up to the chosen period, one total per step."""
    kind = sel["trend"]
    anchor = indicators.period(sel["period"], sel["from"], sel["to"]).last
    sc = _scope(user, sel)
    out = []
    for i in range(TREND_POINTS[kind] - 1, -1, -1):
        if kind == "week":
            day = anchor - timedelta(weeks=i)
        else:
            y, m = divmod(anchor.year * 12 + anchor.month - 1 - i, 12)
            day = date(y, m + 1, 1)
        p = indicators.period(kind, day)
        total = indicators.compute(p, sc, "none")["total"]
        out.append({"label": p.start.strftime("%d/%m") if kind == "week" else p.start.strftime("%m/%Y"),
                    "reports": total["reports"], "on_time_rate": total["on_time_rate"],
                    "satisfaction": total["satisfaction"]["rate"], "backlog": total["backlog"]})
    return out


def overdue_points(user, sc) -> list[dict]:
    """Open reports past their due time in the scope, for the map's overdue layer."""
    q = (select(Report.code, func.ST_X(Report.location), func.ST_Y(Report.location), Report.due_at,
                Unit.code, Category.code)
         .join(Category, Category.id == Report.category_id).outerjoin(Unit, Unit.id == Report.unit_id)
         .where(auth.report_scope(user), Report.status.in_(OPEN_STATUSES), Report.paused_at.is_(None),
                Report.due_at < utcnow())
         .order_by(Report.due_at).limit(OVERDUE_MAP_LIMIT))
    if sc.unit_ids is not None:
        q = q.where(Report.unit_id.in_(sc.unit_ids))
    if sc.category_ids is not None:
        q = q.where(Report.category_id.in_(sc.category_ids))
    return [{"code": c, "lon": lon, "lat": lat, "due_at": due.isoformat(), "unit": u, "category": cat}
            for c, lon, lat, due, u, cat in db.session.execute(q)]


def ranking(by_unit: dict) -> list[dict]:
    """Units one level below the chosen one, best on-time rate first (n/a last)."""
    rows = [r for r in by_unit["rows"] if r["unit"]["depth"] == 1] or by_unit["rows"]
    rows = sorted(rows, key=lambda r: (r["on_time_rate"] is None, -(r["on_time_rate"] or 0),
                                       -r["reports"], r["unit"]["code"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i if r["on_time_rate"] is not None else None
    return rows


def _units_for(user) -> list[Unit]:
    visible = auth.visible_unit_ids(user)
    q = select(Unit).where(Unit.active).order_by(Unit.kind != "province", Unit.code)
    if visible is not None:
        q = q.where(Unit.id.in_(visible))
    return list(db.session.scalars(q))


@bp.get("/")
@web_session.login_required(*ROLES)
def index():
    user = g.console_user
    sel = selection()
    error = None
    try:
        data = tables(user, sel)
        steps = trend(user, sel)
        points = overdue_points(user, data["scope"])
    except DomainError as exc:
        error = exc.message_vi if current_lang() == "vi" else exc.message_en
        data, steps, points = None, [], []
    vi = current_lang() == "vi"
    cats = db.session.scalars(select(Category).order_by(Category.sort_order)).all()
    chart = None
    if data:
        total = data["by_unit"]["total"]
        chart = {"trend": steps, "overdue_bands": total["overdue_backlog"],
                 "ratings": total["satisfaction"]["ratings"],
                 "handling": total["handling_time"], "first_response": total["first_response"],
                 "areas": {r["area"]["code"]: {"rate": r["on_time_rate"], "reports": r["reports"],
                                               "backlog": r["backlog"]}
                           for r in data["by_area"]["rows"] if r["area"]["code"]},
                 "overdue": points,
                 "ranking": [{"code": r["unit"]["code"], "rate": r["on_time_rate"],
                              "median": r["handling_time"]["working_hours"]["median"],
                              "p90": r["handling_time"]["working_hours"]["p90"]}
                             for r in ranking(data["by_unit"])[:15]]}
    return render_template("console/dashboard.html", sel=sel, data=data, error=error, chart=chart,
                           ranking=ranking(data["by_unit"]) if data else [],
                           units=_units_for(user), categories=cats, vi=vi,
                           export_args=_export_args(sel))


def _export_args(sel) -> dict:
    out = {"period": sel["period"], "group_by": "unit"}
    if sel["from"]:
        out["from"] = sel["from"].isoformat()
    if sel["to"]:
        out["to"] = sel["to"].isoformat()
    if sel["unit"]:
        out["unit"] = sel["unit"]
    if sel["category"]:
        out["category"] = sel["category"]
    return out


@bp.get("/export.<fmt>")
@web_session.login_required(*ROLES)
def export(fmt: str):
    """The on-screen tables as CSV or XLSX (same selection as the page)."""
    from fieldreport.web import exports
    if fmt not in exports.FORMATS:
        return render_template("error.html", status=404, message=fmt), 404
    data = tables(g.console_user, selection())
    return exports.response(fmt, data, current_lang())
