"""Console pages for accounts: administrators manage staff accounts, everyone changes their
own password. The pages parse forms and call services/accounts, as the admin API and the
flask CLI do; every act lands in the same audit log."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from fieldreport import inputs
from fieldreport.errors import DomainError
from fieldreport.models import Role
from fieldreport.services import accounts, policy, uow
from fieldreport.web import session as web_session
from fieldreport.web.i18n import current_lang, t

bp = Blueprint("accounts", __name__, url_prefix="/console")
web_session.init_blueprint(bp)

PAGE_SIZE = 25
NEW_FIELDS = ("username", "full_name", "role", "unit_code", "reason")


def _text(exc: DomainError) -> str:
    return exc.message_vi if current_lang() == "vi" else exc.message_en


def _form(name: str, limit: int = 500) -> str:
    return (request.form.get(name) or "").strip()[:limit]


def _roles(admin) -> tuple[str, ...]:
    if accounts.grants_wide_roles(admin):
        return accounts.STAFF_ACCOUNT_ROLES
    return tuple(r for r in accounts.STAFF_ACCOUNT_ROLES if r not in accounts.WIDE_ROLES)


def _list_page(kept: dict | None = None, error: str | None = None, status: int = 200):
    admin = g.console_user
    page = inputs.bounded_int(request.args.get("page"), "page", 1)
    q = (request.args.get("q") or "").strip()[:80] or None
    result = accounts.users(admin, q=q, page=page, page_size=PAGE_SIZE)
    return render_template(
        "console/accounts.html",
        result=result,
        q=q or "",
        kept=kept or {},
        error=error,
        units=accounts.unit_choices(admin),
        roles=_roles(admin),
        acts=accounts.acts(admin, page=1, page_size=10)["items"],
        pages=max(1, -(-result["total"] // PAGE_SIZE)),
    ), status


@bp.get("/accounts/")
@web_session.login_required(Role.ADMIN)
def index():
    return _list_page()


@bp.post("/accounts/")
@web_session.login_required(Role.ADMIN)
def create():
    kept = {k: _form(k) for k in NEW_FIELDS}
    try:
        user = accounts.save_user(
            kept["username"][:80],
            kept["role"],
            kept["unit_code"] or None,
            kept["full_name"][:200],
            request.form.get("password") or "",
            by=g.console_user,
            create_only=True,
            reason=kept["reason"] or None,
        )
    except DomainError as exc:
        uow.rollback()
        return _list_page(kept, _text(exc), exc.status)
    flash(t("account_created", username=user.username), "ok")
    return redirect(url_for("web.accounts.account", user_id=user.id))


@bp.get("/accounts/<int:user_id>")
@web_session.login_required(Role.ADMIN)
def account(user_id: int):
    return _account_page(user_id)


def _account_page(user_id: int, error: str | None = None, status: int = 200):
    admin = g.console_user
    user = accounts.managed(admin, user_id)
    acts = [a for a in accounts.acts(admin, page=1, page_size=200)["items"] if a["username"] == user.username]
    return render_template(
        "console/account.html", account=accounts.view(user), acts=acts[:20], own=user.id == admin.id, error=error
    ), status


@bp.post("/accounts/<int:user_id>/active")
@web_session.login_required(Role.ADMIN)
def set_active(user_id: int):
    admin = g.console_user
    active = request.form.get("active") == "1"
    try:
        user = accounts.managed(admin, user_id)
        accounts.set_active(user, active, by=admin, reason=_form("reason") or None)
    except DomainError as exc:
        uow.rollback()
        if exc.status == 404:
            raise
        return _account_page(user_id, _text(exc), exc.status)
    flash(t("account_reactivated" if active else "account_deactivated", username=user.username), "ok")
    return redirect(url_for("web.accounts.account", user_id=user_id))


@bp.post("/accounts/<int:user_id>/password")
@web_session.login_required(Role.ADMIN)
def reset_password(user_id: int):
    admin = g.console_user
    try:
        user = accounts.managed(admin, user_id)
        accounts.reset_password(user, request.form.get("password") or "", by=admin, reason=_form("reason") or None)
    except DomainError as exc:
        uow.rollback()
        if exc.status == 404:
            raise
        return _account_page(user_id, _text(exc), exc.status)
    flash(t("password_reset_done", username=user.username), "ok")
    return redirect(url_for("web.accounts.account", user_id=user_id))


@bp.route("/password", methods=["GET", "POST"])
@web_session.login_required(*policy.CONSOLE_ROLES)
def own_password():
    """Change one's own password: every session ends, this one too, so sign in again."""
    if request.method == "GET":
        return render_template("console/password.html", error=None)
    try:
        accounts.change_password(
            g.console_user,
            request.form.get("current_password") or "",
            request.form.get("new_password") or "",
            request.remote_addr or "unknown",
        )
    except DomainError as exc:
        uow.rollback()
        return render_template("console/password.html", error=_text(exc)), exc.status
    web_session.sign_out()
    flash(t("password_changed"), "ok")
    return redirect(url_for("web.console.login"))
