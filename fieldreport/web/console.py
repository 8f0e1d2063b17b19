"""Staff console: sign-in, the unit's queue, report detail and every workflow action."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for

from fieldreport import inputs
from fieldreport.errors import DomainError, Unprocessable
from fieldreport.models import REJECT_REASONS, STATUSES, Role, Status
from fieldreport.services import (
    accounts,
    categories,
    communes,
    console_read,
    erasure,
    photos,
    policy,
    privacy,
    staff_read,
    uow,
    workflow,
)
from fieldreport.web import maps
from fieldreport.web import session as web_session
from fieldreport.web.i18n import (
    current_lang,
    fmt_datetime,
    local_tz,
    parse_date,
    parse_local_datetime,
    status_label,
    t,
    unit_kind_label,
    unit_name,
)

bp = Blueprint("console", __name__, url_prefix="/console")
web_session.init_blueprint(bp)

PAGE_SIZE = 25
# The original photo keeps EXIF time and GPS (private evidence): shown to the roles that
# may also see the reporter's identity; everyone else sees the metadata-free derivative.
ORIGINAL_PHOTO_ROLES = policy.CONTACT_ROLES


def _vi() -> bool:
    """The console's language (its own switch, not Accept-Language as the staff API)."""
    return current_lang() == "vi"


def _category_names() -> dict[str, str]:
    vi = _vi()
    return {c.code: (c.name_vi if vi else c.name_en) for c in categories.every_category()}


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, citizen = None, False
    if request.method == "POST":
        try:
            token, _expires, user = accounts.login(
                request.form.get("username", "").strip(),
                request.form.get("password", ""),
                request.remote_addr or "unknown",
                accounts.CONSOLE,
            )
        except DomainError as exc:
            error = exc.message_vi if current_lang() == "vi" else exc.message_en
        else:
            if user.role == Role.CITIZEN:  # the right password, the wrong door
                error, citizen = t("citizen_elsewhere"), True
            elif user.role not in policy.CONSOLE_ROLES:
                error = t("bad_login")
            else:
                web_session.sign_in(token)
                target = request.args.get("next") or ""
                if not target.startswith("/console"):  # never an open redirect
                    target = (
                        url_for("web.dashboard.index")
                        if user.role == Role.SUPERVISOR
                        else url_for("web.calls.index")
                        if user.role == Role.OPERATOR
                        else url_for("web.console.queue")
                    )
                return redirect(target)
    return render_template("console/login.html", error=error, citizen=citizen), 401 if error else 200


@bp.post("/logout")
def logout():
    if g.get("console_user") is not None:
        web_session.sign_out()
    return redirect(url_for("web.console.login"))


@bp.post("/logout-everywhere")
@web_session.login_required(*policy.STAFF_ROLES)
def logout_everywhere():
    """End every session of this user: other browsers, API tokens, this console too."""
    accounts.sign_out_everywhere(g.console_user)
    web_session.sign_out()
    flash(t("signed_out_everywhere"), "ok")
    return redirect(url_for("web.console.login"))


@bp.get("/")
@web_session.login_required(*policy.STAFF_ROLES)
def queue():
    user = g.console_user
    f = {k: (request.args.get(k) or "").strip() or None for k in ("status", "category", "area", "unit")}
    overdue = request.args.get("overdue") == "1"
    page = inputs.bounded_int(request.args.get("page"), "page", 1)
    try:
        result = staff_read.queue(
            user,
            vi=_vi(),
            status=f["status"],
            category=f["category"],
            area=f["area"],
            unit=f["unit"],
            overdue=overdue or None,
            page=page,
            page_size=PAGE_SIZE,
        )
    except DomainError as exc:
        flash(exc.message_vi if current_lang() == "vi" else exc.message_en, "error")
        result = {"items": [], "page": 1, "page_size": PAGE_SIZE, "total": 0}
    return render_template(
        "console/queue.html",
        result=result,
        unit=staff_read.unit(user.unit_id),
        items=result["items"],
        filters=f,
        overdue=overdue,
        statuses=STATUSES,
        categories=_category_names(),
        communes=communes.listed(policy.province_of(user)),  # of their own province if they have one
        units=unit_groups(_filter_units(user)),
        next_code=console_read.next_report(user),
        pages=max(1, -(-result["total"] // PAGE_SIZE)),
    )


def _filter_units(user) -> list[dict]:
    """Units a user may filter by: those they can see, when there is more than one."""
    visible = policy.visible_unit_ids(user)
    if visible is not None and len(visible) <= 1:
        return []
    units = console_read.target_units(user=user)
    if visible is None:
        return units
    return [u for u in units if u["id"] in visible]


@bp.get("/triage")
@web_session.login_required(Role.DISPATCHER, Role.ADMIN)
def triage():
    page = inputs.bounded_int(request.args.get("page"), "page", 1)
    result = staff_read.triage(g.console_user, page, PAGE_SIZE, vi=_vi())
    items = result["items"]
    returns = console_read.returns_for([i["code"] for i in items])
    hints = {}
    for item in items:
        report = workflow.load(item["code"])
        hints[item["code"]] = console_read.suggestions(report)
    return render_template(
        "console/triage.html",
        result=result,
        items=items,
        returns=returns,
        hints=hints,
        unit_groups=unit_groups(console_read.target_units(user=g.console_user)),
        pages=max(1, -(-result["total"] // PAGE_SIZE)),
    )


def unit_groups(units: list[dict]) -> list[tuple[str, list[dict]]]:
    """Units in picker groups: one per kind, with the kind's name (in the page's language)."""
    groups: dict[str, list[dict]] = {}
    for u in units:
        groups.setdefault(u["kind"], []).append(u)
    return [(unit_kind_label(kind), members) for kind, members in groups.items()]


@bp.get("/reports/<code>")
@web_session.login_required(*policy.STAFF_ROLES)
def detail(code: str):
    return _detail_page(code.upper())


def _detail_page(
    code: str, *, failed: str | None = None, error: str | None = None, status: int = 200, identity: dict | None = None
):
    """The report page; after a refused action, that action's form stays open with its text."""
    user = g.console_user
    report = workflow.load(code)
    workflow.ensure_visible(user, report)
    d = staff_read.detail(report, user, vi=_vi())
    today = datetime.now(local_tz()).date()
    close = console_read.close_of_office(today)
    return render_template(
        "console/detail.html",
        r=d,
        area_geojson=maps.area_geojson(report.area_id),
        unit_groups=unit_groups(console_read.target_units(exclude_id=report.unit_id, user=user)),
        suggestions=console_read.suggestions(report),
        returned=console_read.last_return(report.id) if report.status in (Status.SUBMITTED, Status.REOPENED) else None,
        next_code=console_read.next_report(user, after=code),
        reject_reasons=REJECT_REASONS,
        routing_unit=unit_name(console_read.unit_named((report.routing or {}).get("unit_code"))),
        show_original=user.role in ORIGINAL_PHOTO_ROLES,
        failed=failed,
        error=error,
        kept=request.form if failed else {},
        days_off=console_read.days_off(today, province=report.province_code),
        close_time=close.strftime("%H:%M"),
        due_min=_due_min(report, today),
        identity=identity,
    ), status


@bp.post("/reports/<code>/identity")
@web_session.login_required(*policy.CONTACT_ROLES)
def reveal_identity(code: str):
    """ "Show contact": the reporter's identity in clear on this one page, after the reason is
    recorded in the audit log (never in the session, never cached)."""
    code, user = code.upper(), g.console_user
    report = workflow.load(code)
    workflow.ensure_visible(user, report)
    try:
        identity = privacy.reveal(report, user, _form("reason"))
    except DomainError as exc:
        uow.rollback()
        message = exc.message_vi if current_lang() == "vi" else exc.message_en
        return _detail_page(code, failed="identity", error=message, status=exc.status)
    resp = make_response(_detail_page(code, identity=identity))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/reports/<code>/erase")
@web_session.login_required(Role.ADMIN)
def erase(code: str):
    """An admin erases the reporter's personal data on their request (reason recorded)."""
    code = code.upper()
    try:
        erasure.erase_by_admin(code, g.console_user, _form("reason"))
    except DomainError as exc:
        uow.rollback()
        message = exc.message_vi if current_lang() == "vi" else exc.message_en
        return _detail_page(code, failed="erase", error=message, status=exc.status)
    flash(t("erased_done", code=code), "ok")
    return redirect(url_for("web.console.detail", code=code), 303)


@bp.get("/identity-views")
@web_session.login_required(Role.ADMIN)
def identity_views():
    """The audit log of reads of reporters' identities (administrators)."""
    page = inputs.bounded_int(request.args.get("page"), "page", 1)
    report = (request.args.get("report") or "").strip()[:16] or None
    result = privacy.views(report_code=report, page=page, page_size=PAGE_SIZE)
    return render_template(
        "console/identity_views.html",
        result=result,
        report=report or "",
        pages=max(1, -(-result["total"] // PAGE_SIZE)),
    )


def _due_min(report, today: date) -> str:
    """The earliest date the extension picker offers: the day after the current due."""
    due = report.due_at.astimezone(local_tz()).date() if report.due_at else today
    return console_read.next_working_day(max(due, today), report.province_code).isoformat()


def _form(name: str) -> str | None:
    value = request.form.get(name)
    return value.strip() if value and value.strip() else None


def _new_due() -> datetime:
    """A date from the picker means the close of office that day; dd/mm/yyyy hh:mm (typed,
    or from a script) is wall time in the deployment's zone."""
    raw = _form("new_due_at")
    day = parse_date(raw)
    value = console_read.close_of_office(day) if day else parse_local_datetime(raw)
    if value is None:
        raise Unprocessable(
            "bad_new_due_at",
            "Give the new due date and time (dd/mm/yyyy hh:mm).",
            "Cần nhập ngày giờ hạn mới (dd/mm/yyyy hh:mm).",
            field="new_due_at",
        )
    return value


def _photos() -> list[bytes]:
    return [data for _, data in photos.read_files(request.files.getlist("photos"))]


# action name in the URL → how to call the workflow with the form's fields
ACTIONS = {
    "accept": lambda r, u: workflow.accept(r, u),
    "transfer": lambda r, u: workflow.transfer(r, u, _form("unit") or "", _form("reason")),
    "return": lambda r, u: workflow.return_to_dispatcher(r, u, _form("reason")),
    "request_info": lambda r, u: workflow.request_info(r, u, _form("question")),
    "extend": lambda r, u: workflow.extend(r, u, _new_due(), _form("reason"), _form("apology")),
    "resolve": lambda r, u: workflow.resolve(r, u, _form("answer"), _photos()),
    "reject": lambda r, u: workflow.reject(r, u, _form("reason") or "", _form("note"), _form("duplicate_of")),
    "duplicate": lambda r, u: workflow.mark_duplicate(r, u, (_form("duplicate_of") or "").upper(), _form("note")),
    "assign": lambda r, u: workflow.assign(r, u, _form("unit") or "", _form("note")),
    "reassign": lambda r, u: workflow.reassign(r, u, _form("unit") or "", _form("reason")),
    "reopen": lambda r, u: workflow.reopen(r, u, _form("reason")),
}


@bp.post("/reports/<code>/<action>")
@web_session.login_required(*policy.STAFF_ROLES)
def act(code: str, action: str):
    """Run one workflow action; errors come back as a message on the same page."""
    if action not in ACTIONS:
        return render_template("error.html", status=404, message=t("not_found")), 404
    user = g.console_user
    code = code.upper()
    back = request.form.get("back") or ""
    if not back.startswith("/console"):  # never an open redirect
        back = ""
    try:
        report = workflow.load(code, for_update=True)
        ACTIONS[action](report, user)
    except DomainError as exc:
        uow.rollback()
        message = error_text(exc)
        if back:  # a form on a list (triage): back to the list with the message
            flash(message, "error")
            return redirect(back, 303)
        # The same page again, the refused form open with what was typed in it.
        return _detail_page(code, failed=action, error=message, status=exc.status)
    flash(_done_text(action, report), "ok")
    if back:
        return redirect(back, 303)
    if not policy.can_see_report(user, report):  # e.g. returned or transferred away
        following = console_read.next_report(user, after=code)
        return redirect(
            url_for("web.console.detail", code=following) if following else url_for("web.console.queue"), 303
        )
    return redirect(url_for("web.console.detail", code=code), 303)


def _done_text(action: str, report) -> str:
    """What happened, in words: the report, and where it went or until when."""
    unit = staff_read.unit(report.unit_id)
    named = unit_name({"name": unit.name, "name_en": unit.name_en}) if unit else ""
    return t("done_" + action, code=report.code, unit=named, due=fmt_datetime(report.due_at))


def error_text(exc: DomainError) -> str:
    """The workflow's refusal in the page's words (action and status names, not codes)."""
    extra = exc.extra or {}
    if exc.code == "illegal_transition" and extra.get("action"):
        return t("cannot_now", action=t("act_" + extra["action"]), status=status_label(extra.get("current_status")))
    if exc.code == "action_forbidden":
        return t("not_allowed", action=t("act_" + (request.view_args or {}).get("action", "")))
    if exc.code.startswith("missing_"):
        return t("missing_field", field=t("field_" + exc.code[len("missing_") :]))
    return exc.message_vi if current_lang() == "vi" else exc.message_en
