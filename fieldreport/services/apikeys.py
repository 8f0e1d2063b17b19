"""Open311 client keys: created and revoked by admins, checked and rate limited per request."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fieldreport import ratelimit, security
from fieldreport.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import ApiKey, Unit
from fieldreport.models.base import utcnow
from fieldreport.services import uow

NAME_MAX = 64  # "open311:<name>" must fit reports.channel (80)


def create(name: str, contact: str | None = None, unit_code: str | None = None) -> tuple[ApiKey, str]:
    """Make a key for client `name`; the raw key is returned once and only its hash is kept.

    A key bound to a unit (an external tracker working for it) may also post updates to the
    reports of that unit and the units under it.
    """
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() and c != " " for c in name):
        raise Invalid(
            "api_key_name_invalid",
            f"The client name must be 1–{NAME_MAX} characters.",
            f"Tên ứng dụng phải dài 1–{NAME_MAX} ký tự.",
        )
    if db.session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise Conflict("api_key_name_taken", f"A key named {name!r} already exists.", f"Đã có khóa tên {name!r}.")
    unit = None
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code, Unit.active))
        if unit is None:
            raise Unprocessable("unknown_unit", f"No active unit {unit_code}.", f"Không có đơn vị {unit_code}.")
    raw = "o311-" + security.new_token(24)
    key = ApiKey(
        name=name,
        key_hash=security.token_hash(raw),
        key_prefix=raw[:10],
        contact=(contact or None),
        unit_id=unit.id if unit else None,
        active=True,
    )
    db.session.add(key)
    try:
        uow.commit()
    except IntegrityError:  # a concurrent create with the same name won the race
        uow.rollback()
        raise Conflict(
            "api_key_name_taken", f"A key named {name!r} already exists.", f"Đã có khóa tên {name!r}."
        ) from None
    return key, raw


def get(key_id: int) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("api_key_not_found", "No such API key.", "Không tìm thấy khóa API.")
    return key


def by_name(name: str) -> ApiKey:
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise NotFound("api_key_not_found", f"No API key named {name!r}.", f"Không có khóa API tên {name!r}.")
    return key


def revoke(key: ApiKey) -> ApiKey:
    """Revoking is permanent and idempotent; the row stays so history keeps the client's name."""
    if key.active or key.revoked_at is None:
        key.active = False
        key.revoked_at = key.revoked_at or utcnow()
        uow.commit()
    return key


def list_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.name)))


def authenticate(raw: str | None) -> ApiKey:
    """The active key matching `raw`, counted against its hourly budget; 403 otherwise."""
    if not raw:
        raise Forbidden(
            "api_key_missing", "An api_key is required for this request.", "Cần có api_key cho yêu cầu này."
        )
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == security.token_hash(raw)))
    if key is None or not key.active or key.revoked_at is not None:
        raise Forbidden("api_key_invalid", "Invalid or revoked api_key.", "api_key không hợp lệ hoặc đã bị thu hồi.")
    ratelimit.hit(f"open311:{key.id}", current_app.config["OPEN311_RATE_PER_HOUR"], 3600)
    return key


def channel(key: ApiKey) -> str:
    """The label a key's actions carry in report history."""
    return f"open311:{key.name}"
