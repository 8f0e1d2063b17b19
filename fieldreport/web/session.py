"""Console sign-in state: the staff bearer token in a signed cookie session, plus CSRF tokens.

The console is a cookie-session front to the same bearer tokens the staff API issues
(fieldreport.auth): signing in calls auth.login, and each page request presents the stored
token to auth.current_user(), so expiry, revocation and roles are decided in one place.
Because the browser now sends credentials by itself, every form post carries a CSRF token.
"""
from __future__ import annotations

import functools
import hmac
import secrets

from flask import abort, flash, g, redirect, request, session, url_for

from fieldreport import auth
from fieldreport.models import User
from fieldreport.web.i18n import t

TOKEN = "staff_token"
CSRF = "csrf"


def csrf_token() -> str:
    if CSRF not in session:
        session[CSRF] = secrets.token_urlsafe(24)
    return session[CSRF]


def check_csrf() -> None:
    """Refuse a state-changing request whose form does not carry this session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get(CSRF)
    if not expected or not hmac.compare_digest(sent, expected):
        flash(t("csrf_failed"), "error")
        back = request.referrer or ""
        if not back.startswith(request.host_url):  # only ever back to our own pages
            back = url_for("web.console.login")
        abort(redirect(back))


def load_user() -> User | None:
    """The signed-in staff user, via the same token check as the API."""
    token = session.get(TOKEN)
    if token and "Authorization" not in request.headers:
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    user = auth.current_user()
    g.console_user = user if user is not None and user.role in auth.STAFF_ROLES else None
    return g.console_user


def sign_in(token: str) -> None:
    keep = session.get(CSRF)
    session.clear()  # a fresh session on sign-in (no fixation of an earlier one)
    session[TOKEN] = token
    session[CSRF] = keep or secrets.token_urlsafe(24)


def sign_out() -> None:
    auth.logout()  # revokes the token server-side, not only the cookie
    session.clear()


def login_required(*roles: str):
    """Page decorator: the sign-in page when not signed in (or expired), 403 for other roles."""
    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            user = g.get("console_user")
            if user is None:
                if session.get(TOKEN):
                    session.pop(TOKEN)
                    flash(t("session_expired"), "error")
                return redirect(url_for("web.console.login", next=request.full_path))
            if roles and user.role not in roles:
                abort(403)
            return fn(*args, **kwargs)
        return wrapper
    return decorator


def init_blueprint(bp) -> None:
    """Session handling for the console and dashboard blueprints."""
    @bp.record_once
    def _cookies(state):
        cfg = state.app.config
        if cfg.get("SESSION_COOKIE_SAMESITE") is None:
            cfg["SESSION_COOKIE_SAMESITE"] = "Lax"

    @bp.before_request
    def _before():
        check_csrf()
        load_user()

    @bp.context_processor
    def _inject():
        return {"csrf_token": csrf_token, "user": g.get("console_user")}
