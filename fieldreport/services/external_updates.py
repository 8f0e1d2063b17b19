"""An external system's update about a report (Open311 servicerequestupdates): one use case, one transaction.

Only a key bound to a unit may post, and only about reports of that unit or the units under
it. FIXED/CLOSED resolve the report through the staff workflow when that is a legal step
(the workflow's own rules: a working status, an answer, an "after" photo); anything else,
or a step the workflow refuses, is kept as a public note in the report's history. The
workflow step (or the note), the update's row and its event id commit together. Each
(key, update_id) applies once: the report row lock orders concurrent posts, and the unique
index settles a race between two reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fieldreport.errors import Conflict, Forbidden, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import ApiKey, Category, Event, EventType, Open311Update, Report
from fieldreport.services import apikeys, events, photos, policy, uow, workflow

RESOLVING = ("fixed", "closed")
ANSWER = {"fixed": "Đã xử lý xong. / Fixed.", "closed": "Đã xử lý xong. / Closed."}


@dataclass
class Update:
    """One update as the client sent it, its fields checked by the interface."""

    code: str  # the report's service_request_id
    update_id: str  # the client's own id: the update applies once per (key, update_id)
    status: str  # one of mySociety's states, lower case with underscores
    description: str | None = None
    updated: datetime | None = None
    media_url: str | None = None
    files: list = field(default_factory=list)  # uploaded parts (photos.read_files), read only when resolving
    province: str | None = None  # the jurisdiction named: a report of another province is not found


def receive(key: ApiKey, u: Update) -> str:
    """Apply the update (once); answers its event id, as GET servicerequestupdates lists it."""
    prior = _prior(key, u.update_id)
    if prior is not None:
        return _answer(prior)
    # Concurrent posts about it wait here; one of another jurisdiction is not found (as a GET's).
    report = workflow.load(u.code, for_update=True, province=u.province)
    if (prior := _prior(key, u.update_id)) is not None:
        return _answer(prior)
    _authorise(key, report)
    row = Open311Update(api_key_id=key.id, update_id=u.update_id, report_id=report.id, status=u.status, action="note")
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # the same update_id, posted at once about another report
        uow.rollback()
        winner = _prior(key, u.update_id)
        assert winner is not None  # the row the unique index found
        return _answer(winner)
    channel = apikeys.channel(key)
    refused = None
    ev: Event | None = None
    if u.status in RESOLVING:
        after = [data for _, data in photos.read_files(u.files) if data]
        try:
            ev = workflow.resolved(report, None, u.description or ANSWER[u.status], after, actor=channel)
            row.action = "resolve"
        except (Conflict, Unprocessable) as exc:  # refused before anything was written
            if isinstance(exc, Unprocessable) and exc.code != "after_photo_required":
                raise  # a bad photo is the client's error to fix, not a note
            refused = exc.code  # not a legal step now: keep it as a note
    if ev is None:
        ev = events.record(
            report,
            EventType.EXTERNAL_UPDATE,
            actor=channel,
            note=u.description,
            public=True,
            data={
                "client": key.name,
                "update_id": u.update_id,
                "status": u.status,
                "updated_datetime": u.updated.isoformat() if u.updated else None,
                "media_url": u.media_url,
                "not_applied": refused,
            },
        )
    db.session.flush()
    row.event_id = ev.id
    uow.commit()
    return str(ev.id)


def _prior(key: ApiKey, update_id: str) -> Open311Update | None:
    return db.session.scalar(
        select(Open311Update).where(Open311Update.api_key_id == key.id, Open311Update.update_id == update_id)
    )


def _answer(row: Open311Update) -> str:
    if row.event_id is not None:
        return str(row.event_id)
    # A row written before the update was one transaction, its event id lost: its latest event.
    return str(
        db.session.scalar(select(Event.id).where(Event.report_id == row.report_id).order_by(Event.id.desc()).limit(1))
    )


def _authorise(key: ApiKey, report: Report) -> None:
    if key.unit_id is None:
        raise Forbidden(
            "api_key_no_updates",
            "This api_key may not post updates: it is not bound to a unit.",
            "api_key này không được gửi cập nhật: chưa gắn với đơn vị nào.",
        )
    public = db.session.scalar(select(Category.public).where(Category.id == report.category_id))
    if not public or report.unit_id not in policy.unit_subtree(key.unit_id):
        raise Forbidden(
            "api_key_not_responsible",
            "This request is not with this api_key's unit.",
            "Phản ánh này không thuộc đơn vị của api_key.",
        )
