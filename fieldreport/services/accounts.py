"""Accounts: passwords, deactivation and signing out everywhere.

Each of them ends every session the user has, bearer tokens and console sessions alike: a
changed password or a deactivated account leaves nothing alive that the old password (or
whoever stole it) obtained, and reactivating an account brings no old session back.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from fieldreport import auth, security
from fieldreport.errors import DomainError, Forbidden, NotFound, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import Unit, User

PASSWORD_MIN_LENGTH = 10


def by_username(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("user_not_found", f"No user named {username!r}.",
                       f"Không có người dùng {username!r}.")
    return user


def sign_out_everywhere(user: User) -> int:
    """Revoke every token and console session of the user; how many were live."""
    count = auth.revoke_all(user.id)
    db.session.commit()
    return count


def change_password(user: User, current: str, new: str, ip: str) -> None:
    """The user changes their own password (the current one is checked, throttled like a
    sign-in); every session ends, this one included."""
    try:
        auth.check_password(user.username, current, ip)
    except DomainError as exc:
        if exc.status != 401:
            raise  # 429: the sign-in back-off
        raise Forbidden("wrong_password", "The current password is wrong.",
                        "Mật khẩu hiện tại không đúng.") from None
    if new == current:
        raise Unprocessable("password_unchanged", "The new password is the same as the current one.",
                            "Mật khẩu mới trùng với mật khẩu hiện tại.", field="new_password")
    _check_strength(new)
    _set_password(user, new)
    db.session.commit()


def _check_strength(password: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Unprocessable("password_too_short",
                            f"A password needs at least {PASSWORD_MIN_LENGTH} characters.",
                            f"Mật khẩu cần ít nhất {PASSWORD_MIN_LENGTH} ký tự.", field="password")


def _set_password(user: User, password: str) -> None:
    user.password_hash = security.hash_password(password)
    db.session.flush()
    auth.revoke_all(user.id)


def save_user(username: str, role: str, unit_code: str | None, full_name: str | None,
              password: str) -> User:
    """Create a user, or update one (a new password ends all of its sessions); checked
    before anything is written."""
    _check_strength(password)
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
    if unit_code and unit is None:
        raise NotFound("unit_not_found", f"No unit {unit_code}.", f"Không có đơn vị {unit_code}.")
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, active=True)
        db.session.add(user)
    user.full_name = full_name or user.full_name or username
    user.role, user.unit_id = role, unit.id if unit else None
    _set_password(user, password)
    db.session.commit()
    return user


def set_active(user: User, active: bool) -> None:
    """Deactivate (every session ends) or reactivate (no old session comes back) an account."""
    user.active = active
    if not active:
        auth.revoke_all(user.id)
    db.session.commit()
    current_app.logger.info("user %s %s", user.username, "activated" if active else "deactivated")
