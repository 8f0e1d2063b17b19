"""Supervisor dashboard: indicators for a period and unit subtree, ranking, trends, map, exports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import Blueprint, Response, current_app, g, render_template, request

from fieldreport.errors import DomainError
from fieldreport.models import Role
from fieldreport.services import indicators, policy
from fieldreport.services.indicators import dashboard as board
from fieldreport.services.indicators import exports
from fieldreport.web import session as web_session
from fieldreport.web.i18n import current_lang, fmt_date, parse_date, t

bp = Blueprint("dashboard", __name__, url_prefix="/console/dashboard")
web_session.init_blueprint(bp)

ROLES = (Role.SUPERVISOR, Role.ADMIN, Role.DISPATCHER)
TREND_POINTS = board.TREND_POINTS
DEFINITIONS = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"
RANK_MIN_REPORTS = 5  # fewer reports than this: flagged, not ranked (1 late report is not 0 %)
HANDLING_BARS = 15  # the slowest units in the handling-time chart


class PeriodError(ValueError):
    """A From/To the page cannot use, with the sentence that says why."""


def _date(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    value = parse_date(raw)
    if value is None:
        raise PeriodError(t("bad_date", field=t(name), value=raw))
    return value


def selection() -> dict:
    """The filters on screen (shared by the page and its exports).

    Dates win over the period menu: giving To means a custom period (the page switches its
    menu too), so a date is never silently ignored; From alone picks the week, month... that
    holds it. A date that does not exist (31/02)
    or a To before From is reported in words; the page then shows the current month."""
    kind = request.args.get("period") or "month"
    if kind not in indicators.PERIODS or kind == "day":
        kind = "month"
    error = None
    try:
        start, end = _date("from"), _date("to")
        if end is not None or kind == "custom":  # From alone picks the week/month... holding it
            kind = "custom"
            if start is None or end is None:
                raise PeriodError(t("custom_needs_both"))
            if end < start:
                raise PeriodError(t("to_before_from", start=fmt_date(start), end=fmt_date(end)))
    except PeriodError as exc:
        error, kind, start, end = str(exc), "month", None, None
    trend = request.args.get("trend") if request.args.get("trend") in TREND_POINTS else "week"
    order = "best" if request.args.get("order") == "best" else "worst"
    return {
        "period": kind,
        "from": start,
        "to": end,
        "unit": request.args.get("unit") or None,
        "category": request.args.get("category") or None,
        "trend": trend,
        "order": order,
        "error": error,
    }


def _scope(user, sel):
    return indicators.scope(
        sel["unit"], None, [sel["category"]] if sel["category"] else None, policy.visible_unit_ids(user)
    )


def _period(sel) -> indicators.Period:
    return indicators.period(sel["period"], sel["from"], sel["to"])


def tables(user, sel) -> dict:
    """Indicator tables for the selection, whole (the export): per unit, commune, category,
    channel. Per unit at every level below (RANK_DEPTH, what the ranking needs): each row is
    its unit's whole subtree, so the total and the rows one level down are those of depth 1,
    and one computation serves both."""
    return board.tables(_period(sel), _scope(user, sel))


def trend(steps: list) -> list[dict]:
    """The last N weeks or months up to the chosen period, one total per step."""
    return [
        {"label": p.start.strftime("%d/%m") if p.kind == "week" else p.start.strftime("%m/%Y"), **headline(total)}
        for p, total in steps
    ]


def headline(total: dict) -> dict:
    """The six figures at the top of the page, from an indicator total."""
    return {
        "reports": total["reports"],
        "on_time_rate": total["on_time_rate"],
        "late_rate": total["late_rate"],
        "backlog": total["backlog"],
        "resolved": total["resolved"],
        "median": total["handling_time"]["working_hours"]["median"],
        "satisfaction": total["satisfaction"]["rate"],
    }


def on_time_parts(total: dict) -> dict:
    """The QĐ 766 on-time count taken apart: answered on time + open and not yet due; late."""
    answered_late = total["satisfaction"]["answered_late"]
    answered_on_time = total["answered"] - answered_late
    return {
        "answered_on_time": answered_on_time,
        "open_not_due": total["on_time"] - answered_on_time,
        "late": total["late"],
        "answered_late": answered_late,
        "open_overdue": total["late"] - answered_late,
        "total": total["reports"],
    }


# figure → True when a higher value is better (decides the colour of its change)
HIGHER_IS_BETTER = {
    "on_time_rate": True,
    "late_rate": False,
    "backlog": False,
    "resolved": True,
    "median": False,
    "satisfaction": True,
}


def changes(now: dict, before: dict) -> dict:
    """Each headline figure's change against the previous period, and whether it is better."""
    out: dict = {}
    for key, higher in HIGHER_IS_BETTER.items():
        a, b = now.get(key), before.get(key)
        if a is None or b is None:
            out[key] = None
            continue
        delta = round(a - b, 2)
        out[key] = {"delta": delta, "before": b, "better": None if delta == 0 else (delta > 0) == higher}
    return out


def sparkline(values: list, width: int = 120, height: int = 28) -> str:
    """SVG polyline points for a small trend line (gaps where there is no value)."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1
    step = width / max(1, len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}"
        for i, v in enumerate(values)
        if v is not None
    )


def ranking(by_unit: dict, order: str = "worst") -> list[dict]:
    """Peers ranked together: one group per kind of unit (communes with communes, utilities
    with utilities...), worst on-time rate first (or best), ties by more late reports.

    Every unit under the chosen one has a row (rolled up over its own subtree). A unit with
    fewer than RANK_MIN_REPORTS reports is listed, flagged, without a rank; units with no
    report and no backlog are only counted."""
    rows = [r for r in by_unit["rows"] if r["unit"]["depth"] > 0] or by_unit["rows"]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["unit"]["kind"], []).append(r)
    out = []
    for kind, members in groups.items():
        ranked = [r for r in members if r["reports"] >= RANK_MIN_REPORTS and r["on_time_rate"] is not None]
        small = [r for r in members if 0 < r["reports"] < RANK_MIN_REPORTS or (r["reports"] == 0 and r["backlog"])]
        idle = [r for r in members if r["reports"] == 0 and not r["backlog"]]
        sign = 1 if order == "worst" else -1
        ranked.sort(key=lambda r: (sign * r["on_time_rate"], -sign * r["late"], r["unit"]["name"]))
        total = len(ranked)
        for i, r in enumerate(ranked, 1):
            r["rank"] = i if order == "best" else total - i + 1  # rank 1 is always the best
        for r in small:
            r["rank"] = None
        small.sort(key=lambda r: (-r["late"], r["unit"]["name"]))
        out.append({"kind": kind, "ranked": ranked, "small": small, "idle": idle, "count": total})
    order_of = {
        k: i
        for i, k in enumerate(("commune", "department", "utility", "contractor", "police", "dispatcher", "province"))
    }
    return sorted(out, key=lambda g: order_of.get(g["kind"], 99))


def handling_bars(groups: list[dict]) -> list[dict]:
    """The slowest units by median handling time (working hours), named, for the chart."""
    rows = [
        r for g in groups for r in g["ranked"] + g["small"] if r["handling_time"]["working_hours"]["median"] is not None
    ]
    rows.sort(key=lambda r: -r["handling_time"]["working_hours"]["median"])
    return [
        {
            "name": r["unit"]["name"],
            "code": r["unit"]["code"],
            "median": r["handling_time"]["working_hours"]["median"],
            "p90": r["handling_time"]["working_hours"]["p90"],
        }
        for r in rows[:HANDLING_BARS]
    ]


@bp.get("/")
@web_session.login_required(*ROLES)
def index():
    user = g.console_user
    sel = selection()
    error = sel["error"]
    vi = current_lang() == "vi"
    try:
        data, before, steps_of = board.page(_period(sel), _scope(user, sel), sel["trend"])
        steps = trend(steps_of)
        points = board.overdue_points(user, data["scope"], vi)
        groups = ranking(data["by_unit"], sel["order"])
    except DomainError as exc:
        error = exc.message_vi if current_lang() == "vi" else exc.message_en
        data, steps, points, before, groups = None, [], [], None, []
    cats = board.categories()
    chart = figures = None
    if data:
        total = data["by_unit"]["total"]
        now = headline(total)
        figures = {
            "now": now,
            "change": changes(now, headline(before)),
            "previous": board.previous(data["period"]),
            "parts": on_time_parts(total),
            "spark": {k: sparkline([s[k] for s in steps]) for k in HIGHER_IS_BETTER},
        }
        chart = {
            "trend": steps,
            "overdue_bands": total["overdue_backlog"],
            "ratings": total["satisfaction"]["ratings"],
            "handling": total["handling_time"],
            "first_response": total["first_response"],
            "areas": {
                r["area"]["code"]: {"rate": r["on_time_rate"], "reports": r["reports"], "backlog": r["backlog"]}
                for r in data["by_area"]["rows"]
                if r["area"]["code"]
            },
            "overdue": points,
            "handling_units": handling_bars(groups),
        }
    return render_template(
        "console/dashboard.html",
        sel=sel,
        data=data,
        error=error,
        chart=chart,
        figures=figures,
        groups=groups,
        min_reports=RANK_MIN_REPORTS,
        units=board.units_for(user),
        categories=cats,
        vi=vi,
        channel_name=exports.channel_name,
        export_args=_export_args(sel),
    )


@bp.get("/definitions")
@web_session.login_required(*ROLES)
def definitions():
    """docs/indicators.md, the exact rules behind every figure, as a page."""
    text = DEFINITIONS.read_text(encoding="utf-8") if DEFINITIONS.exists() else None
    return render_template("console/definitions.html", text=text)


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


@bp.get("/indicators.md")
@web_session.login_required(*ROLES)
def rules():
    """docs/indicators.md: each figure's rule and legal source (linked from the page)."""
    path = Path(current_app.root_path).parent / "docs" / "indicators.md"
    return Response(path.read_text(encoding="utf-8"), mimetype="text/markdown")


@bp.get("/export.<fmt>")
@web_session.login_required(*ROLES)
def export(fmt: str):
    """The on-screen tables as CSV or XLSX (same selection as the page)."""
    if fmt not in exports.FORMATS:
        return render_template("error.html", status=404, message=fmt), 404
    data = tables(g.console_user, selection())
    p = data["period"]
    lang = current_lang()
    rows = exports.tables_rows(
        [data["by_unit"], data["by_area"], data["by_category"], data["by_channel"]], data["by_unit"]["total"], lang
    )
    name = f"indicators_{p.start.isoformat()}_{p.last.isoformat()}.{fmt}"
    head = exports.header(exports.GROUP_COLUMNS, lang)
    return Response(
        exports.stream(fmt, head, rows),
        mimetype=exports.MIME[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
