"""Staff sign-in, bearer tokens, role decorators and object-level authorization helpers.

Policy in one place, reused by the API, the web console and the services:
- citizen: no staff access;
- staff: the reports of their own unit;
- dispatcher: every report (and the reporter's contact), the triage queue, assignment;
- supervisor: read everything in their unit's subtree, reopen and reassign there;
- admin: everything, plus the admin endpoints;
- operator: records hotline calls and reception-desk visits for citizens (the console's call
  page), and nothing else: no queue, no report's details, no indicators.
In a deployment of several provinces (services/provinces.py), a user whose unit belongs to a
province works in that province only: its dispatcher and admins see and act on that
province's reports and units alone (another province's report answers 403 like another
unit's); users of national units (no province) see every province.
A report of another unit answers 403, not 404: report codes are public tracking codes (the
citizen's view shows any report by its code), so hiding existence protects nothing, and staff
given a code by phone learn that it is with another unit.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from flask import current_app, g, request
from sqlalchemy import ColumnElement, false, select, true, update

from fieldreport import ratelimit, security
from fieldreport.errors import Forbidden, RateLimited, Unauthorized
from fieldreport.extensions import db
from fieldreport.models import AuthToken, Report, Unit, User
from fieldreport.models.base import utcnow

STAFF_ROLES = ("staff", "dispatcher", "supervisor", "admin")
API, CONSOLE = "api", "console"  # token kinds: a bearer token, a console session id
ALL_REPORTS_ROLES = ("dispatcher", "admin")
CONTACT_ROLES = ("dispatcher", "admin")  # who sees the reporter's identity
INTAKE_ROLES = ("operator", "dispatcher", "admin")  # who records a call for a citizen
CONSOLE_ROLES = (*STAFF_ROLES, "operator")  # who may sign in to the console

_dummy_hash: str | None = None


def _dummy() -> str:
    """A real hash to verify against for unknown users, so timing does not reveal them."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = security.hash_password("not-a-user-password")
    return _dummy_hash


def _invalid() -> Unauthorized:
    return Unauthorized("invalid_credentials", "Wrong username or password.", "Sai tên đăng nhập hoặc mật khẩu.")


def _throttled(wait: int) -> RateLimited:
    return RateLimited(
        "login_throttled",
        "Too many failed sign-ins from here; wait before trying again.",
        "Đăng nhập sai nhiều lần; vui lòng chờ rồi thử lại.",
        retry_after=wait,
    )


# -- sign-in ------------------------------------------------------------------------------


def login(username: str, password: str, ip: str, kind: str = API) -> tuple[str, datetime, User]:
    """Check the password and issue a token of `kind` (only its hash is stored).

    Brute force is slowed per client IP (a Redis window shared by every API process) and per
    (username, client) pair with exponential back-off: after LOGIN_FREE_FAILURES wrong tries
    from one client, that client waits LOGIN_BACKOFF_SECONDS, doubling per further failure up
    to LOGIN_BACKOFF_MAX_SECONDS. The account itself is never locked, so failures from one
    client (an attacker) never keep the right password out from another (its owner). The
    bucket is keyed by the name typed, whether or not such a user exists, and an unknown
    name costs the same argon2 verification: every answer is the same for both.
    """
    user = check_password(username, password, ip)
    user.last_login_at = utcnow()
    token, expires = issue_token(user, timedelta(minutes=current_app.config["TOKEN_TTL_MINUTES"]), kind)
    db.session.commit()
    return token, expires, user


def check_password(username: str, password: str, ip: str) -> User:
    """The active user with this password, through the sign-in throttle (see login); 401/429."""
    cfg = current_app.config
    ratelimit.hit(f"login:{ip}", cfg["LOGIN_RATE_PER_IP"], cfg["LOGIN_RATE_WINDOW"])
    bucket = "login:" + security.keyed(cfg["SECRET_KEY"], "login", username.lower(), ip)[:40]
    wait = ratelimit.backoff_wait(bucket)
    if wait:
        raise _throttled(wait)
    user = db.session.scalar(select(User).where(User.username == username))
    usable = user is not None and user.password_hash.startswith("$argon2")  # citizens have none
    ok = security.verify_password(user.password_hash if usable else _dummy(), password)
    if user is None or not ok or not user.active:
        ratelimit.backoff_failed(
            bucket,
            cfg["LOGIN_FREE_FAILURES"],
            cfg["LOGIN_BACKOFF_SECONDS"],
            cfg["LOGIN_BACKOFF_MAX_SECONDS"],
            cfg["LOGIN_FAILURE_MEMORY_SECONDS"],
        )
        raise _invalid()
    ratelimit.backoff_reset(bucket)
    return user


def issue_token(user: User, ttl: timedelta, kind: str = API) -> tuple[str, datetime]:
    """A new token for the user (staff sign-in, citizen phone sign-in, a console session);
    the caller commits."""
    token = security.new_token()
    expires = utcnow() + ttl
    db.session.add(AuthToken(token_hash=security.token_hash(token), user_id=user.id, expires_at=expires, kind=kind))
    return token, expires


def logout() -> None:
    """Revoke the bearer token of the current request."""
    _revoke(_authenticate()[1])


def end_session(session_id: str | None) -> None:
    """Revoke a console session (signing out of the console)."""
    _revoke(lookup(session_id, CONSOLE)[1])


def _revoke(row: AuthToken | None) -> None:
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    g.pop("_auth_tokens", None)


def revoke_all(user_id: int) -> int:
    """Revoke every live token and console session of the user; the caller commits."""
    g.pop("_auth_tokens", None)
    return db.session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount


# -- who is asking ------------------------------------------------------------------------


def lookup(token: str | None, kind: str) -> tuple[User | None, AuthToken | None]:
    """The user and row of a valid token of `kind` (memoised per token value, never per
    context alone: tests and CLI tools reuse one app context for many requests). A console
    session id is no bearer token, and a bearer token opens no console session."""
    if not token:
        return None, None
    cache = g.setdefault("_auth_tokens", {})
    if (kind, token) not in cache:
        row = db.session.execute(
            select(AuthToken, User)
            .join(User, User.id == AuthToken.user_id)
            .where(AuthToken.token_hash == security.token_hash(token))
        ).first()
        valid = (
            row is not None
            and row.AuthToken.kind == kind
            and row.AuthToken.revoked_at is None
            and row.AuthToken.expires_at > utcnow()
            and row.User.active
        )
        cache[(kind, token)] = (row.User, row.AuthToken) if valid else (None, None)
    return cache[(kind, token)]


def _authenticate() -> tuple[User | None, AuthToken | None]:
    """The user and token row of the request's bearer token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return lookup(token.strip() if scheme.lower() == "bearer" else "", API)


def current_user() -> User | None:
    """The user of the request's valid bearer token, or None."""
    return _authenticate()[0]


def require_user() -> User:
    user = current_user()
    if user is None:
        raise Unauthorized(
            "unauthorized",
            "Sign in first (a valid bearer token is required).",
            "Cần đăng nhập (thiếu hoặc sai mã truy cập).",
        )
    return user


def require_roles(*roles: str):
    """View decorator: 401 without a valid token, 403 when the role is not one of `roles`.

    Put it above the flask-smorest decorators so that authentication comes before parsing.
    """

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            user = require_user()
            if roles and user.role not in roles:
                raise Forbidden(
                    "forbidden_role",
                    "Your role may not do this.",
                    "Vai trò của bạn không được phép thực hiện thao tác này.",
                )
            return fn(*args, **kwargs)

        return wrapper

    return decorator


# -- what they may see and do -------------------------------------------------------------


def unit_subtree(unit_id: int) -> set[int]:
    """The unit and every unit under it (recursive CTE; UNION stops on a cycle)."""
    tree = select(Unit.id).where(Unit.id == unit_id).cte("subtree", recursive=True)
    tree = tree.union(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return set(db.session.scalars(select(tree.c.id)))


def province_of(user: User | None) -> str | None:
    """The province the user works in (their unit's), or None: national, every province."""
    if user is None or user.unit_id is None:
        return None
    cache = g.setdefault("_provinces_of", {})
    if user.unit_id not in cache:
        cache[user.unit_id] = db.session.scalar(select(Unit.province_code).where(Unit.id == user.unit_id))
    return cache[user.unit_id]


def in_province(user: User | None, report: Report) -> bool:
    province = province_of(user)
    return province is None or report.province_code == province


def unit_allowed(user: User | None, unit: Unit) -> bool:
    """May hand reports to this unit: national units, or units of the user's own province."""
    province = province_of(user)
    return province is None or unit.province_code in (None, province)


def units_scope(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause limiting a select of Unit to the user's province (and national units)."""
    province = province_of(user)
    return true() if province is None else Unit.province_code.is_(None) | (Unit.province_code == province)


def province_for(user: User | None, requested: str | None) -> str | None:
    """The province an admin's calendar edit is for: a province's admin always their own
    (another one is 403), a national admin the one requested (None: every province)."""
    own = province_of(user)
    if own is None:
        return requested or None
    if requested not in (None, "", own):
        raise Forbidden(
            "province_forbidden", "That is another province's calendar.", "Đây là lịch làm việc của tỉnh khác."
        )
    return own


def visible_unit_ids(user: User | None) -> set[int] | None:
    """Units whose reports the user may read; None means every report (dispatcher, admin);
    a dispatcher or admin of one province: the units of that province."""
    if user is None or user.role not in STAFF_ROLES:
        return set()
    if user.role in ALL_REPORTS_ROLES:
        province = province_of(user)
        if province is None:
            return None
        return set(db.session.scalars(select(Unit.id).where(Unit.province_code == province)))
    if user.unit_id is None:
        return set()
    if user.role == "supervisor":
        cache = g.setdefault("_subtrees", {})
        if user.unit_id not in cache:
            cache[user.unit_id] = unit_subtree(user.unit_id)
        return cache[user.unit_id]
    return {user.unit_id}


def report_scope(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause limiting a select of Report to what the user may read."""
    if user is not None and user.role in ALL_REPORTS_ROLES:
        province = province_of(user)
        return true() if province is None else Report.province_code == province
    ids = visible_unit_ids(user)
    if ids is None:
        return true()
    return Report.unit_id.in_(ids) if ids else false()


def can_see_report(user: User | None, report: Report) -> bool:
    if user is not None and user.role in ALL_REPORTS_ROLES:
        return in_province(user, report)
    ids = visible_unit_ids(user)
    return ids is None or report.unit_id in ids


def can_see_contact(user: User | None) -> bool:
    return user is not None and user.role in CONTACT_ROLES


def can_act(user: User | None, report: Report) -> bool:
    """May do the unit's work on it (accept, transfer, resolve...): its own unit's staff.

    The dispatcher is the staff of the dispatcher unit, so this covers the triage queue
    (and reports not routed yet); admins may do anything.
    """
    if user is None:
        return False
    if user.role == "admin":
        return in_province(user, report)
    if user.role == "dispatcher" and report.unit_id is None:
        return in_province(user, report)
    return user.role in ("staff", "dispatcher") and user.unit_id is not None and user.unit_id == report.unit_id


def can_triage(user: User | None) -> bool:
    """May assign any report to any unit (the dispatcher's job)."""
    return user is not None and user.role in ("dispatcher", "admin")


def can_supervise(user: User | None, report: Report) -> bool:
    """May reopen and reassign it: a supervisor over its unit, or an admin."""
    if user is None:
        return False
    if user.role == "admin":
        return in_province(user, report)
    return user.role == "supervisor" and report.unit_id in (visible_unit_ids(user) or set())


optional_user = current_user  # the name the citizen endpoints look for
