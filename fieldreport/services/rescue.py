"""Periodic rescues: re-send the work a lost job, a killed worker or a Redis outage left undone.

Each rescue reads the domain state (the database is the truth, Redis only carries jobs) and
re-enqueues what is still waiting. Jobs are idempotent, so a re-send of work that is in fact
still queued changes nothing. The periodic process runs these itself, not through a queue, so
they never wait behind a backlog of bulk jobs (a sweep once came 2 min 44 s late that way).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from fieldreport import queue as jobs
from fieldreport.extensions import db, queues
from fieldreport.models import Notification, NotificationState, Photo
from fieldreport.models.base import utcnow
from fieldreport.services import outbox, routing, uow
from fieldreport.services.indicators import export_jobs

log = logging.getLogger(__name__)

HORIZON = timedelta(days=2)  # older work that is still undone needs a person, not a loop


def sweep_outbox() -> int:
    """Outbox rows whose send failed (Redis was down)."""
    return outbox.sweep()


def _after() -> int:
    return current_app.config["RESCUE_AFTER_SECONDS"]


def requeue_unrouted() -> int:
    """Reports still waiting for routing (a lost job, a worker killed with no retry left)."""
    return routing.requeue_unrouted(older_than_seconds=_after())


def requeue_derivatives(older_than_seconds: int | None = None, limit: int = 500) -> int:
    """Photos of a report that still have no public copies after a while."""
    older_than_seconds = _after() if older_than_seconds is None else older_than_seconds
    now = utcnow()
    ids = db.session.scalars(
        select(Photo.id)
        .where(
            Photo.report_id.is_not(None),
            Photo.display_key.is_(None),
            Photo.created_at <= now - timedelta(seconds=older_than_seconds),
            Photo.created_at >= now - HORIZON,
        )
        .order_by(Photo.id)
        .limit(limit)
    ).all()
    uow.commit()  # read only: end the transaction before talking to Redis
    for pid in ids:
        queues.enqueue(*jobs.MAKE_DERIVATIVES, pid, job_id=f"derive-{pid}")
    return len(ids)


def requeue_notifications(older_than_seconds: int | None = None, limit: int = 500) -> int:
    """Notifications still pending after a while; those out of attempts are marked failed.

    `deliver` locks its row while sending, so a rescue running beside a retry never sends twice.
    """
    older_than_seconds = 2 * _after() if older_than_seconds is None else older_than_seconds
    now = utcnow()
    cap = current_app.config["JOB_RETRIES"] + 1
    db.session.execute(
        update(Notification)
        .where(Notification.status == NotificationState.PENDING, Notification.attempts >= cap)
        .values(status=NotificationState.FAILED)
    )
    ids = db.session.scalars(
        select(Notification.id)
        .where(
            Notification.status == NotificationState.PENDING,
            Notification.created_at <= now - timedelta(seconds=older_than_seconds),
            Notification.created_at >= now - HORIZON,
        )
        .order_by(Notification.id)
        .limit(limit)
    ).all()
    uow.commit()
    for nid in ids:
        queues.enqueue(*jobs.DELIVER_NOTIFICATION, nid, job_id=f"notify-{nid}")
    return len(ids)


def requeue_exports() -> int:
    """Exports queued or started with no sign of life (a killed worker, a lost job)."""
    return export_jobs.requeue_stuck(older_than_seconds=_after())
