"""POST servicerequestupdates (mySociety): an external system's update → a workflow step or a note.

Only a key bound to a unit may post, and only about reports of that unit or the units under
it. FIXED/CLOSED resolve the report through the staff workflow when that is a legal step
(the workflow's own rules: a working status, an answer, an "after" photo); anything else,
or a step the workflow refuses, is kept as a public note in the report's history. Each
(key, update_id) applies once: the report row lock orders concurrent posts, and the unique
index settles a race between two reports.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage, MultiDict

from fieldreport.errors import Conflict, Forbidden, Invalid, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import ApiKey, Category, Event, Open311Update, Report
from fieldreport.open311 import params
from fieldreport.services import apikeys, events, photos, policy, workflow

# mySociety's states (upper or lower case, spaces or underscores), and what each does here.
STATES = (
    "open",
    "closed",
    "fixed",
    "in_progress",
    "action_scheduled",
    "investigating",
    "duplicate",
    "not_councils_responsibility",
    "no_further_action",
    "internal_referral",
    "planned",
    "reopen",
    "for_triage",
)
RESOLVING = ("fixed", "closed")
ANSWER = {"fixed": "Đã xử lý xong. / Fixed.", "closed": "Đã xử lý xong. / Closed."}
TEXT_MAX = 4000


def _required(form: MultiDict, name: str, limit: int) -> str:
    value = params.text(form, name, limit)
    if value is None:
        raise Invalid(f"{name}_missing", f"{name} is required.", f"Thiếu {name}.")
    return value


def _status(form: MultiDict) -> str:
    raw = _required(form, "status", 60).lower().replace(" ", "_").replace("-", "_")
    if raw not in STATES:
        raise Invalid(
            "invalid_status",
            f"Unknown status {raw!r}; use one of {', '.join(STATES)}.",
            f"Trạng thái {raw!r} không hợp lệ.",
        )
    return raw


def _prior(key: ApiKey, update_id: str) -> Open311Update | None:
    return db.session.scalar(
        select(Open311Update).where(Open311Update.api_key_id == key.id, Open311Update.update_id == update_id)
    )


def _answer(row: Open311Update) -> str:
    if row.event_id is None:  # the second write after a resolve was lost: its latest event
        row.event_id = db.session.scalar(
            select(Event.id).where(Event.report_id == row.report_id).order_by(Event.id.desc()).limit(1)
        )
    return str(row.event_id)


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


def receive(key: ApiKey, form: MultiDict, files: list[FileStorage]) -> str:
    """Apply one update (once); answers our update_id, as GET servicerequestupdates lists it."""
    code = _required(form, "service_request_id", 40)
    update_id = _required(form, "update_id", 100)
    status = _status(form)
    description = params.text(form, "description", TEXT_MAX)
    updated = params.w3c_datetime(form, "updated_datetime")
    media_url = params.url(form, "media_url")
    prior = _prior(key, update_id)
    if prior is not None:
        return _answer(prior)
    report = workflow.load(code, for_update=True)  # concurrent posts about it wait here
    if (prior := _prior(key, update_id)) is not None:
        return _answer(prior)
    _authorise(key, report)
    row = Open311Update(api_key_id=key.id, update_id=update_id, report_id=report.id, status=status, action="note")
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # the same update_id, posted at once about another report
        db.session.rollback()
        return _answer(_prior(key, update_id))
    channel = apikeys.channel(key)
    refused = None
    if status in RESOLVING:
        after = [data for _, data in photos.read_files(files) if data]
        try:
            row.action = "resolve"
            workflow.resolve(
                report, None, description or ANSWER[status], after, actor=channel
            )  # commits the report, its event and this row
        except (Conflict, Unprocessable) as exc:
            if isinstance(exc, Unprocessable) and exc.code != "after_photo_required":
                raise  # a bad photo is the client's error to fix, not a note
            refused = exc.code  # not a legal step now: keep it as a note
            row.action = "note"
        else:
            row.event_id = db.session.scalar(
                select(Event.id)
                .where(Event.report_id == report.id, Event.type == "resolved")
                .order_by(Event.id.desc())
                .limit(1)
            )
            db.session.commit()
            return str(row.event_id)
    ev = events.record(
        report,
        "external_update",
        actor=channel,
        note=description,
        public=True,
        data={
            "client": key.name,
            "update_id": update_id,
            "status": status,
            "updated_datetime": updated.isoformat() if updated else None,
            "media_url": media_url,
            "not_applied": refused,
        },
    )
    db.session.flush()
    row.event_id = ev.id
    events.commit()
    return str(ev.id)
