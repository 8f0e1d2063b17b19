"""Accounts and their sessions: signing in and out, tokens, creating accounts, passwords,
deactivation and signing out everywhere.

The one service behind sign-in and sign-out (the API's /auth, the console's session, a
citizen's phone sign-in), the flask CLI (create-user, deactivate-user), the admin API
(/api/v1/users) and the console's accounts page; fieldreport/auth.py only reads the token of
a request and asks `lookup` whose it is. A new password, a reset or a deactivation
ends every session the user has, bearer tokens and console sessions alike: nothing stays
alive that the old password (or whoever stole it) obtained, and reactivating an account
brings no old session back.

An administrator manages the staff accounts of what they administer: a national admin (no
unit, or a top unit without a province, like the demo's UBND-66) every account; the admin of
a province's top unit (UBND-56) the accounts of that province's units; an admin of a unit
below, the accounts of that unit and the units under it, and only roles bounded by a unit
(dispatchers and admins reach their whole province, so only an admin of it grants them).
Each act (create, update, deactivate, reactivate, password reset) is recorded in the
append-only audit log of identity reads (IdentityView, migration 0037): who, when, to whom,
what and why.
"""

from __future__ import annotations

import getpass
from datetime import datetime, timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, func, or_, select, update

from fieldreport import ratelimit, security
from fieldreport.errors import Conflict, DomainError, Forbidden, NotFound, RateLimited, Unauthorized, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import AuthToken, Role, Unit, User
from fieldreport.models.base import utcnow
from fieldreport.models.privacy import IdentityView
from fieldreport.services import policy, uow

PASSWORD_MIN_LENGTH = 10
STAFF_ACCOUNT_ROLES = tuple(r for r in Role if r != Role.CITIZEN)  # citizens sign up themselves
WIDE_ROLES = (Role.DISPATCHER, Role.ADMIN)  # they reach every report, whatever their unit
ACTIONS = ("account.create", "account.update", "account.deactivate", "account.reactivate", "account.password_reset")
API, CONSOLE = "api", "console"  # token kinds: a bearer token, a console session id

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


# -- signing in and out ---------------------------------------------------------------------


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
    uow.commit()
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
    # citizens have no password: they are verified against the dummy, like unknown names
    stored = user.password_hash if user is not None and user.password_hash.startswith("$argon2") else _dummy()
    ok = security.verify_password(stored, password)
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


def logout(token: str | None, kind: str) -> None:
    """Revoke a token of `kind`: the request's bearer token, or a console session id
    (signing out of the console). An unknown, expired or revoked one changes nothing."""
    row = lookup(token, kind)[1]
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        uow.commit()
    db.session.info.pop("account_tokens", None)


def revoke_all(user_id: int) -> int:
    """Revoke every live token and console session of the user; the caller commits."""
    db.session.info.pop("account_tokens", None)
    result = db.session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return cast(CursorResult, result).rowcount


def lookup(token: str | None, kind: str) -> tuple[User | None, AuthToken | None]:
    """The user and row of a valid token of `kind`, memoised in the unit of work (the
    session's `info`) per token value, never per request alone: tests and CLI tools reuse one
    session for many requests. A console session id is no bearer token, and a bearer token
    opens no console session."""
    if not token:
        return None, None
    cache = db.session.info.setdefault("account_tokens", {})
    if (kind, token) not in cache:
        row = db.session.execute(
            select(AuthToken, User)
            .join(User, User.id == AuthToken.user_id)
            .where(AuthToken.token_hash == security.token_hash(token))
        ).first()
        cache[(kind, token)] = (
            (row.User, row.AuthToken)
            if row is not None
            and row.AuthToken.kind == kind
            and row.AuthToken.revoked_at is None
            and row.AuthToken.expires_at > utcnow()
            and row.User.active
            else (None, None)
        )
    return cache[(kind, token)]


# -- the accounts ---------------------------------------------------------------------------


def by_username(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("user_not_found", f"No user named {username!r}.", f"Không có người dùng {username!r}.")
    return user


def sign_out_everywhere(user: User) -> int:
    """Revoke every token and console session of the user; how many were live."""
    count = revoke_all(user.id)
    uow.commit()
    return count


def change_password(user: User, current: str, new: str, ip: str) -> None:
    """The user changes their own password (the current one is checked, throttled like a
    sign-in); every session ends, this one included."""
    try:
        check_password(user.username, current, ip)
    except DomainError as exc:
        if exc.status != 401:
            raise  # 429: the sign-in back-off
        raise Forbidden("wrong_password", "The current password is wrong.", "Mật khẩu hiện tại không đúng.") from None
    if new == current:
        raise Unprocessable(
            "password_unchanged",
            "The new password is the same as the current one.",
            "Mật khẩu mới trùng với mật khẩu hiện tại.",
            field="new_password",
        )
    _check_strength(new)
    _set_password(user, new)
    uow.commit()


def _check_strength(password: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Unprocessable(
            "password_too_short",
            f"A password needs at least {PASSWORD_MIN_LENGTH} characters.",
            f"Mật khẩu cần ít nhất {PASSWORD_MIN_LENGTH} ký tự.",
            field="password",
        )


def _set_password(user: User, password: str) -> None:
    user.password_hash = security.hash_password(password)
    db.session.flush()
    revoke_all(user.id)


def administered_units(admin: User) -> set[int] | None:
    """The units whose accounts an admin manages; None: every unit."""
    if admin.unit_id is None:
        return None
    unit = db.session.get(Unit, admin.unit_id)
    if unit is None or unit.parent_id is None:  # a top unit: national, or its province's
        province = policy.province_of(admin)
        if province is None:
            return None
        return set(db.session.scalars(select(Unit.id).where(Unit.province_code == province)))
    return policy.unit_subtree(admin.unit_id)


def grants_wide_roles(admin: User) -> bool:
    """Whether the admin may give (and manage) dispatcher and admin accounts: the admin of
    everything or of a whole province (those roles reach no further than their province)."""
    if admin.unit_id is None:
        return True
    return db.session.scalar(select(Unit.parent_id).where(Unit.id == admin.unit_id)) is None


def _require_admin(by: User) -> set[int] | None:
    if by.role != Role.ADMIN:
        raise Forbidden(
            "forbidden_role", "Only administrators manage accounts.", "Chỉ quản trị viên được quản lý tài khoản."
        )
    return administered_units(by)


def managed(by: User, user_id: int) -> User:
    """An account the admin `by` manages; any other (a citizen's, or for an admin of a unit a
    dispatcher's or admin's) is not found for them."""
    scope = _require_admin(by)
    user = db.session.get(User, user_id)
    if (
        user is None
        or user.role == Role.CITIZEN
        or (
            scope is not None and (user.unit_id not in scope or (user.role in WIDE_ROLES and not grants_wide_roles(by)))
        )
    ):
        raise NotFound(
            "user_not_found",
            "No such user among the accounts you manage.",
            "Không có người dùng này trong các tài khoản bạn quản lý.",
        )
    return user


def users(by: User, *, q: str | None = None, active: bool | None = None, page: int = 1, page_size: int = 50) -> dict:
    """The staff accounts the admin manages, by username."""
    scope = _require_admin(by)
    query = select(User, Unit.code).outerjoin(Unit, Unit.id == User.unit_id).where(User.role != Role.CITIZEN)
    if scope is not None:
        query = query.where(User.unit_id.in_(scope))
        if not grants_wide_roles(by):
            query = query.where(User.role.not_in(WIDE_ROLES))
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.username.ilike(like), User.full_name.ilike(like)))
    if active is not None:
        query = query.where(User.active.is_(active))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(User.username).offset((page - 1) * page_size).limit(page_size)).all()
    return {"items": [view(user, code) for user, code in rows], "page": page, "page_size": page_size, "total": total}


def view(user: User, unit_code: str | None = None) -> dict:
    if unit_code is None and user.unit_id:
        unit_code = db.session.scalar(select(Unit.code).where(Unit.id == user.unit_id))
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "unit_code": unit_code,
        "active": user.active,
        "last_login_at": user.last_login_at,
        "created_at": user.created_at,
    }


def _check_grant(by: User | None, role: str, unit: Unit | None) -> None:
    if role not in STAFF_ACCOUNT_ROLES:
        raise Unprocessable(
            "unknown_role",
            f"A staff account's role is one of {', '.join(STAFF_ACCOUNT_ROLES)}.",
            f"Vai trò của tài khoản cán bộ là một trong {', '.join(STAFF_ACCOUNT_ROLES)}.",
            field="role",
        )
    if by is None:
        return  # the flask CLI: whoever runs it on the server may do anything
    scope = _require_admin(by)
    if scope is None:
        return
    if unit is None or unit.id not in scope or (role in WIDE_ROLES and not grants_wide_roles(by)):
        raise Forbidden(
            "role_not_grantable",
            "You may give a role only in a unit you administer, and "
            "dispatcher or admin only as the admin of a whole province.",
            "Bạn chỉ được cấp vai trò trong đơn vị mình quản lý; vai trò điều phối viên hay "
            "quản trị viên chỉ do quản trị viên của cả tỉnh cấp.",
        )


def save_user(
    username: str,
    role: str,
    unit_code: str | None,
    full_name: str | None,
    password: str,
    *,
    by: User | None = None,
    create_only: bool = False,
    reason: str | None = None,
) -> User:
    """Create a user, or update one (a new password ends all of its sessions); checked
    before anything is written. `by`: the admin doing it (None: the flask CLI);
    create_only: an existing username is a conflict, not an update (the admin API)."""
    _check_strength(password)
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
    if unit_code and unit is None:
        raise Unprocessable("unknown_unit", f"No unit {unit_code}.", f"Không có đơn vị {unit_code}.", field="unit_code")
    _check_grant(by, role, unit)
    user = db.session.scalar(select(User).where(User.username == username))
    if user is not None and create_only:
        raise Conflict(
            "username_taken", f"The username {username!r} is taken.", f"Tên đăng nhập {username!r} đã có người dùng."
        )
    if user is not None and by is not None:
        managed(by, user.id)
    action = "account.update" if user is not None else "account.create"
    if user is None:
        user = User(username=username, active=True)
        db.session.add(user)
    user.full_name = full_name or user.full_name or username
    user.role, user.unit_id = role, unit.id if unit else None
    _set_password(user, password)
    _record(by, action, user, f"{role}{' ' + unit_code if unit_code else ''}", reason)
    uow.commit()
    return user


def reset_password(user: User, password: str, *, by: User | None = None, reason: str | None = None) -> None:
    """An admin (or the CLI) gives the user a new password: every session of the user ends.
    An admin changes their own password with the current one (change_password), not here."""
    if by is not None:
        managed(by, user.id)
        _not_own(by, user)
    _check_strength(password)
    _set_password(user, password)
    _record(by, "account.password_reset", user, None, reason)
    uow.commit()


def set_active(user: User, active: bool, *, by: User | None = None, reason: str | None = None) -> None:
    """Deactivate (every session ends) or reactivate (no old session comes back) an account."""
    if by is not None:
        managed(by, user.id)
        if not active:
            _not_own(by, user)
    changed = user.active != active
    user.active = active
    if not active:
        revoke_all(user.id)
    if changed:
        _record(by, "account.reactivate" if active else "account.deactivate", user, None, reason)
    uow.commit()
    current_app.logger.info("user %s %s", user.username, "activated" if active else "deactivated")


def _not_own(by: User, user: User) -> None:
    if by.id == user.id:
        raise Forbidden(
            "own_account",
            "Not on your own account: another administrator must do it "
            "(change your own password with the current one).",
            "Không thực hiện được trên tài khoản của chính bạn: cần một quản trị viên khác "
            "(đổi mật khẩu của bạn bằng mật khẩu hiện tại).",
        )


def _record(by: User | None, action: str, subject: User, detail: str | None, reason: str | None) -> None:
    """One row in the append-only audit log, in the same transaction as the act."""
    db.session.flush()  # the subject's id
    actor = f"{by.role}:{by.username}" if by else f"cli:{getpass.getuser()}"
    db.session.add(
        IdentityView(
            action=action,
            user_id=by.id if by else None,
            actor=actor[:120],
            subject_user_id=subject.id,
            detail=detail,
            reason=(reason or "").strip()[:500],
            at=utcnow(),
        )
    )


def acts(by: User, *, page: int = 1, page_size: int = 50) -> dict:
    """The account acts on the accounts the admin manages, newest first."""
    scope = _require_admin(by)
    query = (
        select(
            IdentityView.at,
            IdentityView.actor,
            IdentityView.action,
            IdentityView.detail,
            IdentityView.reason,
            User.username,
        )
        .join(User, User.id == IdentityView.subject_user_id)
        .where(IdentityView.action.in_(ACTIONS))
    )
    if scope is not None:
        query = query.where(User.unit_id.in_(scope))
        if not grants_wide_roles(by):
            query = query.where(User.role.not_in(WIDE_ROLES))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(
        query.order_by(IdentityView.at.desc(), IdentityView.id.desc()).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return {
        "items": [
            {"at": at, "actor": actor, "action": action, "detail": detail, "reason": reason, "username": username}
            for at, actor, action, detail, reason, username in rows
        ],
        "page": page,
        "page_size": page_size,
        "total": total,
    }


def unit_choices(admin: User) -> list[tuple[str, str]]:
    """(code, name) of the active units the admin may give an account, by name."""
    scope = administered_units(admin)
    q = select(Unit.code, Unit.name).where(Unit.active).order_by(Unit.name)
    if scope is not None:
        q = q.where(Unit.id.in_(scope))
    return [(code, name) for code, name in db.session.execute(q)]
