"""GET /api/v1/indicators (+ exports) and the admins' working calendar.

Indicators are for signed-in staff: staff see their unit, supervisors their subtree,
dispatchers and admins everything (a unit outside that answers 403).
"""

from __future__ import annotations

from datetime import date

from flask import Response, jsonify, stream_with_context, url_for
from flask.views import MethodView

from fieldreport import auth
from fieldreport.api.indicators.schemas import (
    CalendarDaySchema,
    CalendarDayUpdateSchema,
    CalendarDayViewSchema,
    CalendarProvinceQuerySchema,
    CalendarYearQuerySchema,
    ExportJobSchema,
    ExportQuerySchema,
    IndicatorQuerySchema,
    IndicatorTableSchema,
)
from fieldreport.api.parsing import Blueprint
from fieldreport.auth import require_roles
from fieldreport.errors import Unprocessable, wants_vietnamese
from fieldreport.models import Role
from fieldreport.services import deadlines, indicators, policy
from fieldreport.services.indicators import export_jobs, exports
from fieldreport.services.policy import STAFF_ROLES

blp = Blueprint("indicators", __name__, description="Reform indicators (CCHC), exports, working calendar")
BEARER: list[dict] = [{"bearer": []}]
RULES = indicators.RULES


def _query(args: dict) -> tuple[indicators.Query, dict]:
    """The service query for the signed-in user, and its JSON-safe parameters (for a job)."""
    user = auth.require_user()
    visible = policy.visible_unit_ids(user)
    params = {k: v for k, v in args.items() if k != "from_"}
    params["from"] = args["from_"].isoformat() if args.get("from_") else None
    params["to"] = args["to"].isoformat() if args.get("to") else None
    params["visible"] = None if visible is None else sorted(visible)
    return indicators.from_params(params, visible), params


@blp.route("/indicators")
class Indicators(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER, description=RULES)
    @blp.arguments(IndicatorQuerySchema, location="query")
    @blp.response(200, IndicatorTableSchema)
    def get(self, args):
        """Indicators per unit, commune, category or channel for a period (units include their subtree)"""
        q, _ = _query(args)
        # Already plain JSON types: skip the schema's (slow, per-field) dump; it documents.
        return jsonify(indicators.compute(q.period, q.scope, q.group_by, q.depth))


def _export(args: dict, fmt: str):
    q, params = _query(args)
    lang = params["lang"] = args.get("lang") or ("vi" if wants_vietnamese() else "en")
    name = f"indicators-{q.period.start.isoformat()}-{q.period.last.isoformat()}.{fmt}"
    if q.detail == "reports":
        if exports.count_report_rows(q.period, q.scope, q.as_of) > exports.sync_limit():
            job = export_jobs.start({**params, "format": fmt}, auth.current_user())
            url = url_for("indicators.ExportJobs", export_id=job["id"])
            return {**job, "status_url": url}, 202, {"Location": url}
        columns, rows = exports.REPORT_COLUMNS, exports.report_rows(q.period, q.scope, q.as_of)
    else:
        table = indicators.compute(q.period, q.scope, q.group_by, q.depth)
        columns, rows = exports.GROUP_COLUMNS, exports.group_rows(table, lang)
    body = exports.stream(fmt, exports.header(columns, lang), rows)
    if fmt == "csv":  # rows are read while streaming: keep the request's context
        body = stream_with_context(body)
    return Response(
        body,
        mimetype=exports.MIME[fmt].split(";")[0],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Content-Type": exports.MIME[fmt]},
    )


@blp.route("/indicators/export.csv")
class ExportCsv(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.response(200, description="text/csv, streamed")
    @blp.alt_response(202, schema=ExportJobSchema, description="a large export, queued as a job")
    def get(self, args):
        """Export as CSV (UTF-8 with BOM); detail=reports gives one row per report"""
        return _export(args, "csv")


@blp.route("/indicators/export.xlsx")
class ExportXlsx(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.response(200, description="an XLSX workbook")
    @blp.alt_response(202, schema=ExportJobSchema, description="a large export, queued as a job")
    def get(self, args):
        """Export as an Excel workbook; detail=reports gives one row per report"""
        return _export(args, "xlsx")


@blp.route("/indicators/exports/<string:export_id>")
class ExportJobs(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.response(200, ExportJobSchema)
    def get(self, export_id):
        """Progress of a queued export, and its download link once finished"""
        return export_jobs.status(export_id, auth.current_user())


@blp.route("/admin/calendar-days")
class CalendarDays(MethodView):
    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(CalendarYearQuerySchema, location="query")
    @blp.response(200, CalendarDayViewSchema(many=True))
    def get(self, args):
        """Announced extra days off and make-up working days (of one year; a province's too)"""
        return deadlines.list_days(args["year"], policy.province_for(auth.current_user(), args["province"]))

    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(CalendarDaySchema)
    @blp.response(201, CalendarDaySchema)
    def post(self, body):
        """Add an extra day off or a make-up working day; dues around it are recomputed"""
        return deadlines.save_day(
            body["day"],
            body["kind"],
            body["note"],
            create=True,
            province=policy.province_for(auth.current_user(), body["province"]),
        )


@blp.route("/admin/calendar-days/<string:day>")
class CalendarDayById(MethodView):
    @staticmethod
    def _day(day: str) -> date:
        try:
            return date.fromisoformat(day)
        except ValueError:
            raise Unprocessable("bad_date", "The day must be YYYY-MM-DD.", "Ngày phải có dạng YYYY-MM-DD.") from None

    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(CalendarProvinceQuerySchema, location="query")
    @blp.arguments(CalendarDayUpdateSchema)
    @blp.response(200, CalendarDaySchema)
    def put(self, args, body, day):
        """Change a day's kind or note"""
        return deadlines.save_day(
            self._day(day),
            body["kind"],
            body["note"],
            create=False,
            province=policy.province_for(auth.current_user(), args["province"]),
        )

    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(CalendarProvinceQuerySchema, location="query")
    @blp.response(204)
    def delete(self, args, day):
        """Remove a day from the calendar"""
        deadlines.delete_day(self._day(day), policy.province_for(auth.current_user(), args["province"]))
