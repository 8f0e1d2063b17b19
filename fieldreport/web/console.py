"""Staff console: sign-in, the unit's queue, report detail and every workflow action."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from fieldreport import auth
from fieldreport.api.staff import present
from fieldreport.errors import DomainError, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import Area, Category, Unit
from fieldreport.models.report import REJECT_REASONS, STATUSES
from fieldreport.services import workflow
from fieldreport.web import maps, session as web_session
from fieldreport.web.i18n import current_lang, parse_local_datetime, t

bp = Blueprint("console", __name__, url_prefix="/console")
web_session.init_blueprint(bp)

PAGE_SIZE = 25
# The original photo keeps EXIF time and GPS (private evidence): shown to the roles that
# may also see the reporter's identity; everyone else sees the metadata-free derivative.
ORIGINAL_PHOTO_ROLES = auth.CONTACT_ROLES


def _category_names() -> dict[str, str]:
    vi = current_lang() == "vi"
    return {c.code: (c.name_vi if vi else c.name_en) for c in db.session.scalars(
        select(Category).order_by(Category.sort_order, Category.code))}


def _localise(items: list[dict]) -> list[dict]:
    """The staff API names categories by Accept-Language; the console follows its own switch."""
    names = _category_names()
    for item in items:
        cat = item.get("category") or {}
        cat["name"] = names.get(cat.get("code"), cat.get("name"))
    return items


def _communes() -> list[tuple[str, str]]:
    return db.session.execute(select(Area.code, Area.full_name).where(
        Area.level == "commune", Area.province_code == current_app.config["PROVINCE_CODE"])
        .order_by(Area.full_name)).all()


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            token, _expires, user = auth.login(request.form.get("username", "").strip(),
                                               request.form.get("password", ""),
                                               request.remote_addr or "unknown")
        except DomainError as exc:
            error = exc.message_vi if current_lang() == "vi" else exc.message_en
        else:
            if user.role not in auth.STAFF_ROLES:
                error = t("bad_login")
            else:
                web_session.sign_in(token)
                target = request.args.get("next") or ""
                if not target.startswith("/console"):  # never an open redirect
                    target = url_for("web.dashboard.index") if user.role == "supervisor" \
                        else url_for("web.console.queue")
                return redirect(target)
    return render_template("console/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    if g.get("console_user") is not None:
        web_session.sign_out()
    return redirect(url_for("web.console.login"))


@bp.get("/")
@web_session.login_required(*auth.STAFF_ROLES)
def queue():
    user = g.console_user
    f = {k: (request.args.get(k) or "").strip() or None
         for k in ("status", "category", "area", "unit")}
    overdue = request.args.get("overdue") == "1"
    page = max(1, request.args.get("page", 1, type=int))
    try:
        result = present.queue(user, status=f["status"], category=f["category"], area=f["area"],
                               unit=f["unit"], overdue=overdue or None, page=page, page_size=PAGE_SIZE)
    except DomainError as exc:
        flash(exc.message_vi if current_lang() == "vi" else exc.message_en, "error")
        result = {"items": [], "page": 1, "page_size": PAGE_SIZE, "total": 0}
    unit = db.session.get(Unit, user.unit_id) if user.unit_id else None
    return render_template("console/queue.html", result=result, unit=unit, items=_localise(result["items"]),
                           filters=f, overdue=overdue, statuses=STATUSES,
                           categories=_category_names(), communes=_communes(),
                           units=_filter_units(user),
                           pages=max(1, -(-result["total"] // PAGE_SIZE)))


def _filter_units(user) -> list[dict]:
    """Units a user may filter by: those they can see, when there is more than one."""
    visible = auth.visible_unit_ids(user)
    if visible is not None and len(visible) <= 1:
        return []
    units = present.units()
    if visible is None:
        return units
    codes = set(db.session.scalars(select(Unit.code).where(Unit.id.in_(visible))))
    return [u for u in units if u["code"] in codes]


@bp.get("/triage")
@web_session.login_required("dispatcher", "admin")
def triage():
    page = max(1, request.args.get("page", 1, type=int))
    result = present.triage(page, PAGE_SIZE)
    return render_template("console/triage.html", result=result, items=_localise(result["items"]),
                           units=_target_units(), pages=max(1, -(-result["total"] // PAGE_SIZE)))


def _target_units() -> list[dict]:
    return [u for u in present.units() if u["kind"] != workflow.DISPATCHER_KIND]


@bp.get("/reports/<code>")
@web_session.login_required(*auth.STAFF_ROLES)
def detail(code: str):
    user = g.console_user
    report = workflow.load(code.upper())
    workflow.ensure_visible(user, report)
    d = present.detail(report, user)
    _localise([d])
    return render_template("console/detail.html", r=d, area_geojson=maps.area_geojson(report.area_id),
                           units=_target_units(), reject_reasons=REJECT_REASONS,
                           show_original=user.role in ORIGINAL_PHOTO_ROLES)


def _form(name: str) -> str | None:
    value = request.form.get(name)
    return value.strip() if value and value.strip() else None


def _new_due() -> datetime:
    """The form's dd/mm/yyyy hh:mm is wall time in the deployment's zone."""
    value = parse_local_datetime(_form("new_due_at"))
    if value is None:
        raise Unprocessable("bad_new_due_at", "Give the new due date and time (dd/mm/yyyy hh:mm).",
                            "Cần nhập ngày giờ hạn mới (dd/mm/yyyy hh:mm).", field="new_due_at")
    return value


def _photos() -> list[bytes]:
    limit = current_app.config["PHOTO_MAX_BYTES"] + 1  # one byte over is enough to refuse it
    return [f.stream.read(limit) for f in request.files.getlist("photos") if f.filename]


# action name in the URL → how to call the workflow with the form's fields
ACTIONS = {
    "accept": lambda r, u: workflow.accept(r, u),
    "transfer": lambda r, u: workflow.transfer(r, u, _form("unit") or "", _form("reason")),
    "return": lambda r, u: workflow.return_to_dispatcher(r, u, _form("reason")),
    "request_info": lambda r, u: workflow.request_info(r, u, _form("question")),
    "extend": lambda r, u: workflow.extend(r, u, _new_due(), _form("reason"), _form("apology")),
    "resolve": lambda r, u: workflow.resolve(r, u, _form("answer"), _photos()),
    "reject": lambda r, u: workflow.reject(r, u, _form("reason") or "", _form("note"),
                                           _form("duplicate_of")),
    "duplicate": lambda r, u: workflow.mark_duplicate(r, u, (_form("duplicate_of") or "").upper(),
                                                      _form("note")),
    "assign": lambda r, u: workflow.assign(r, u, _form("unit") or "", _form("note")),
    "reassign": lambda r, u: workflow.reassign(r, u, _form("unit") or "", _form("reason")),
    "reopen": lambda r, u: workflow.reopen(r, u, _form("reason")),
}


@bp.post("/reports/<code>/<action>")
@web_session.login_required(*auth.STAFF_ROLES)
def act(code: str, action: str):
    """Run one workflow action; errors come back as a message on the same page."""
    if action not in ACTIONS:
        return render_template("error.html", status=404, message=t("not_found")), 404
    user = g.console_user
    try:
        report = workflow.load(code.upper(), for_update=True)
        ACTIONS[action](report, user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message_vi if current_lang() == "vi" else exc.message_en, "error")
    else:
        flash(t("done") + " " + t("act_" + action), "ok")
        back = request.form.get("back")
        if back and back.startswith("/console"):
            return redirect(back, 303)
        if not auth.can_see_report(user, report):  # e.g. returned or transferred away
            return redirect(url_for("web.console.queue"), 303)
    return redirect(url_for("web.console.detail", code=code.upper()), 303)
