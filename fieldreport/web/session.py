"""Console sign-in state: a server-side session whose random id is all the cookie holds, plus CSRF.

Signing in calls accounts.login for a token of kind "console": its row (hash, user, expiry,
revocation) is the server-side session, so expiry, revocation and "sign out everywhere" are
decided in one place with the API's bearer tokens. The id opens the console only: the API
refuses it as a bearer token, so a leaked cookie is no API credential. The cookie is HttpOnly,
SameSite=Lax and Secure outside local development (COOKIE_SECURE, see config/settings.py).
Because the browser sends the cookie by itself, every form post carries a CSRF token.
"""

from __future__ import annotations

import functools
import hmac
import secrets

from flask import abort, flash, g, redirect, request, session, url_for

from fieldreport.models import User
from fieldreport.services import accounts, policy
from fieldreport.web.i18n import t

SESSION_ID = "sid"
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
    """The signed-in staff user of this console session."""
    user = accounts.lookup(session.get(SESSION_ID), accounts.CONSOLE)[0]
    g.console_user = user if user is not None and user.role in policy.CONSOLE_ROLES else None
    return g.console_user


def sign_in(session_id: str) -> None:
    keep = session.get(CSRF)
    session.clear()  # a fresh session on sign-in (no fixation of an earlier one)
    session[SESSION_ID] = session_id
    session[CSRF] = keep or secrets.token_urlsafe(24)


def sign_out() -> None:
    accounts.logout(session.get(SESSION_ID), accounts.CONSOLE)  # revoked server-side, not only forgotten
    session.clear()


def login_required(*roles: str):
    """Page decorator: the sign-in page when not signed in (or expired), 403 for other roles."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            user = g.get("console_user")
            if user is None:
                if session.get(SESSION_ID):
                    session.pop(SESSION_ID)
                    flash(t("session_expired"), "error")
                return redirect(url_for("web.console.login", next=request.full_path))
            if roles and user.role not in roles:
                abort(403)
            return fn(*args, **kwargs)

        return wrapper

    return decorator


def init_blueprint(bp) -> None:
    """Session handling for the console and dashboard blueprints."""

    @bp.before_request
    def _before():
        check_csrf()
        load_user()

    @bp.context_processor
    def _inject():
        return {"csrf_token": csrf_token, "user": g.get("console_user")}
