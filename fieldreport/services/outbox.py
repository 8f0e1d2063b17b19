"""Transactional outbox: jobs recorded with the change that needs them, sent after commit."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from sqlalchemy import select

from fieldreport.extensions import db, queues
from fieldreport.models import Outbox
from fieldreport.models.base import utcnow
from fieldreport.services import uow

log = logging.getLogger(__name__)


def record(queue: str, func: str, *args) -> Outbox:
    """Add a job to the current transaction; it exists only if the transaction commits."""
    row = Outbox(queue=queue, func=func, args=list(args))
    db.session.add(row)
    return row


def dispatch(rows: list[Outbox]) -> int:
    """Send committed outbox rows to RQ; a row whose send fails stays for the sweeper.

    The RQ job id is derived from the row id, so a row sent twice (crash between enqueue and
    marking it sent) is one job while queued, and the jobs themselves are idempotent. For the
    same reason the mark is committed without waiting for the WAL flush
    (`uow.commit_bookkeeping`): losing it in a database crash means one harmless re-send,
    and every use case (a submission, a routing job) saves its second disk flush.
    """
    sent = 0
    try:
        rows = [row for row in rows if row.sent_at is None]
        try:  # one Redis round trip for all of them
            queues.enqueue_many([(row.queue, row.func, row.args, f"outbox-{row.id}") for row in rows])
        except RedisError as exc:
            for row in rows:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("outbox %s not sent: %s", [row.id for row in rows], exc)
        else:
            now = utcnow()
            for row in rows:
                row.sent_at = now
            sent = len(rows)
        uow.commit_bookkeeping()
    except Exception as exc:  # noqa: BLE001
        # This runs after the use case committed: its answer stands. A row not marked sent is
        # sent again by the sweeper, and its job id makes that harmless.
        log.warning("outbox dispatch after commit failed: %s: %s", type(exc).__name__, exc)
        try:
            uow.rollback()
        except Exception:  # noqa: BLE001 (the connection itself may be gone)
            db.session.remove()
    return sent


def sweep(limit: int = 500) -> int:
    """Re-send rows whose first send failed (run periodically)."""
    rows = db.session.scalars(
        select(Outbox)
        .where(Outbox.sent_at.is_(None))
        .order_by(Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return dispatch(list(rows))
