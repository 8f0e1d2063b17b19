"""Idempotency keys: a retried request gets the first answer; the same key with another body is a 409.

The key's row is inserted in the same transaction as the work it guards. PostgreSQL makes a
second INSERT of the same primary key wait until the first transaction ends, so two identical
requests on different processes or hosts cannot both do the work: the loser sees the winner's
committed answer, or takes over if the winner rolled back. No row is ever left "pending".
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from fieldreport.errors import Conflict, Invalid
from fieldreport.extensions import db
from fieldreport.models import IdempotencyKey
from fieldreport.models.base import utcnow
from fieldreport.services import uow

MAX_KEY_LENGTH = 200


def check_key(key: str) -> str:
    """A key is 1–200 printable ASCII characters (clients usually send a UUID)."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " < ch <= "~" for ch in key):
        raise Invalid(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1–200 printable ASCII characters without spaces.",
            "Idempotency-Key phải gồm 1–200 ký tự ASCII in được, không có khoảng trắng.",
        )
    return key


def fingerprint(payload: dict) -> str:
    """A stable hash of what the request asks for (parsed fields, photo hashes)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _answer(row, request_hash: str) -> dict:
    if row.request_hash != request_hash:
        raise Conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different request.",
            "Idempotency-Key này đã được dùng cho một yêu cầu khác.",
        )
    if row.status_code == 0:  # only visible if a caller committed a claim without completing it
        raise Conflict(
            "idempotency_in_progress",
            "The first request with this key is still running.",
            "Yêu cầu đầu tiên với khóa này đang được xử lý.",
        )
    return {"status": row.status_code, "body": row.response}


def prior(scope: str, key: str, request_hash: str) -> dict | None:
    """The stored answer for this key ({status, body}), or None if the key is new."""
    row = db.session.execute(
        select(IdempotencyKey.request_hash, IdempotencyKey.status_code, IdempotencyKey.response).where(
            IdempotencyKey.scope == scope, IdempotencyKey.key == key
        )
    ).first()
    return None if row is None else _answer(row, request_hash)


def claim(scope: str, key: str, request_hash: str) -> dict | None:
    """Take the key inside the current transaction: None when this request owns it.

    Otherwise the transaction is rolled back and the first request's answer is returned
    (or a 409 when the body differs).
    """
    owned = db.session.execute(
        pg_insert(IdempotencyKey)
        .values(scope=scope, key=key, request_hash=request_hash, status_code=0, response={})
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    ).first()
    if owned is not None:
        return None
    uow.rollback()
    found = prior(scope, key, request_hash)
    if found is None:  # the winner vanished between our INSERT and SELECT (purged): retry later
        raise Conflict(
            "idempotency_in_progress",
            "The first request with this key is still running.",
            "Yêu cầu đầu tiên với khóa này đang được xử lý.",
        )
    return found


def complete(scope: str, key: str, status_code: int, response: dict) -> None:
    """Record the answer on the claimed row; it commits with the work."""
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .values(status_code=status_code, response=response)
    )


def purge(older_than_days: int = 7) -> int:
    """Forget keys older than a client could still be retrying with."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    n = cast(CursorResult, result).rowcount
    uow.commit()
    return n
