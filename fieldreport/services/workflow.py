"""The unit workflow: staff, dispatcher and supervisor actions, each one Event, one commit.

Who may do what is checked before the state (a stranger learns nothing from a 409); the
allowed starting states are in ACTIONS. Assignments set the unit's own due times: `due_at`
(moved by an extension or a pause), `indicator_due_at` (moved only by a pause: extensions
still count late for the indicators) and, once per report, the citizen's `citizen_due_at`.
Reports routed to the dispatcher keep status `submitted` (or `reopened`) in the triage queue.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, case, delete, select, update

from fieldreport import queue as jobs
from fieldreport.errors import Conflict, Forbidden, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import (
    OPEN_STATUSES,
    REJECT_REASONS,
    AssignReason,
    Category,
    Event,
    EventType,
    Follower,
    Photo,
    PhotoKind,
    RejectReason,
    Report,
    Role,
    Status,
    Unit,
    User,
)
from fieldreport.models.base import utcnow
from fieldreport.services import deadlines, events, outbox, photos, policy, public, uow
from fieldreport.worktime import Calendar

DISPATCHER_KIND = "dispatcher"
WORKING = (Status.ASSIGNED, Status.IN_PROGRESS, Status.REOPENED)
TRIAGE = (Status.SUBMITTED, *WORKING)
CLOCK_RUNS = TRIAGE  # open and not awaiting_info: the unit's clock runs (the SLA sweep's reports)

# action → (who: unit | dispatch | supervise | citizen, statuses it may start from)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "accept": ("unit", (Status.ASSIGNED, Status.REOPENED)),
    "transfer": ("unit", TRIAGE),
    "return": ("unit", WORKING),
    "request_info": ("unit", TRIAGE),
    "extend": ("unit", WORKING),
    "resolve": ("unit", WORKING),
    "reject": ("unit", OPEN_STATUSES),
    "duplicate": ("unit", OPEN_STATUSES),
    "assign": ("dispatch", TRIAGE),
    "reassign": ("supervise", TRIAGE),
    "reopen": ("supervise", (Status.RESOLVED, Status.CLOSED, Status.REJECTED)),
    "provide_info": ("citizen", (Status.AWAITING_INFO,)),
}


# -- loading and checking -----------------------------------------------------------------


def load(code: str, *, for_update: bool = False, province: str | None = None) -> Report:
    """The report with this tracking code (row-locked for an action; of `province` when given), or 404."""
    return public.find(code, lock=for_update, province=province)


def _permitted(action: str, user: User | None, report: Report) -> bool:
    who = ACTIONS[action][0]
    if who == "unit":
        return policy.can_act(user, report)
    if who == "dispatch":
        return policy.can_triage(user)
    if who == "supervise":
        return policy.can_supervise(user, report)
    return False  # citizen actions are authorized by the citizen token, not here


def ensure_visible(user: User, report: Report) -> None:
    if not policy.can_see_report(user, report):
        raise Forbidden("report_forbidden", "This report belongs to another unit.", "Phản ánh này thuộc đơn vị khác.")


def check(action: str, user: User | None, report: Report) -> None:
    """403 when the user may not, then 409 when the report's state does not allow it."""
    if user is not None:
        ensure_visible(user, report)
        if not _permitted(action, user, report):
            raise Forbidden(
                "action_forbidden",
                f"You may not {action} this report.",
                f"Bạn không được phép thực hiện '{action}' với phản ánh này.",
            )
    if report.status not in ACTIONS[action][1]:
        raise Conflict(
            "illegal_transition",
            f"Cannot {action} a report that is {report.status}.",
            f"Không thể thực hiện '{action}' khi phản ánh đang ở trạng thái {report.status}.",
            action=action,
            current_status=report.status,
        )


def allowed_actions(user: User, report: Report) -> list[str]:
    """What this user may do to this report now (drives the console's buttons)."""
    out = []
    now = utcnow()
    for action, (who, statuses) in ACTIONS.items():
        if who != "citizen" and report.status in statuses and _permitted(action, user, report):
            if action == "return" and _is_dispatcher(report.unit_id):
                continue
            if action == "extend" and (report.due_at is None or report.due_at <= now):
                continue  # extend() refuses once the due time has passed: never offer it
            out.append(action)
    return out


def _require(text: str | None, field: str) -> str:
    if not text or not text.strip():
        raise Unprocessable("missing_" + field, f"A {field} is required.", f"Cần nhập {field}.", field=field)
    return text.strip()


# -- units and due times ------------------------------------------------------------------


def dispatcher_unit(province_code: str | None = None) -> Unit:
    """The province's own dispatcher when it has one, else the first (national) one."""
    rank = (
        case((Unit.province_code == province_code, 0), (Unit.province_code.is_(None), 1), else_=2)
        if province_code
        else case((Unit.province_code.is_(None), 0), else_=1)
    )
    unit = db.session.scalar(
        select(Unit).where(Unit.kind == DISPATCHER_KIND, Unit.active).order_by(rank, Unit.id).limit(1)
    )
    if unit is None:
        raise RuntimeError("no active dispatcher unit: seed or create one")
    return unit


def _is_dispatcher(unit_id: int | None) -> bool:
    return unit_id is not None and db.session.scalar(select(Unit.kind).where(Unit.id == unit_id)) == DISPATCHER_KIND


def target_unit(code: str, user: User | None = None) -> Unit:
    """The active unit a report is handed to; one of another province is refused (403)."""
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not unit.active:
        raise Unprocessable("unknown_unit", f"No active unit {code}.", f"Không có đơn vị {code}.", field="unit")
    if user is not None and not policy.unit_allowed(user, unit):
        raise Forbidden(
            "target_unit_forbidden", "That unit belongs to another province.", "Đơn vị này thuộc tỉnh khác."
        )
    return unit


def assign_unit(
    report: Report,
    unit: Unit,
    *,
    type_: str,
    status: str | None = None,
    user: User | None = None,
    actor: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    data: dict | None = None,
    now: datetime | None = None,
    cal: Calendar | None = None,
) -> Event:
    """Hand the report to `unit` with the unit's own due time, as one event."""
    now = now or utcnow()
    cal = cal or deadlines.calendar(report.province_code)
    category = db.session.get_one(Category, report.category_id)  # a non-null foreign key
    urgency = getattr(report, "urgency", None)
    limit = deadlines.limit_for(category, urgency, triage=unit.kind == DISPATCHER_KIND)
    due = deadlines.due_for(category, now, cal, limit=limit)
    assert due is not None  # None only while a pause is open, and there are no pauses here
    if report.citizen_due_at is None:  # the citizen's clock runs from submission, once
        report.citizen_due_at = deadlines.due_for(category, report.created_at or now, cal, urgency=urgency)
    report.due_at = report.indicator_due_at = due
    report.assigned_at = now
    report.paused_at = report.warned_at = report.overdue_at = None
    return events.record(
        report,
        type_,
        user=user,
        actor=actor,
        to_status=status,
        to_unit_id=unit.id,
        reason=reason,
        note=note,
        data={
            "unit_code": unit.code,
            "due_at": due.isoformat(),
            "indicator_due_at": due.isoformat(),
            "limit": deadlines.limit_text(limit),
            **(data or {}),
        },
    )


def _responded(report: Report, now: datetime) -> None:
    if report.first_response_at is None:
        report.first_response_at = now


# -- unit actions -------------------------------------------------------------------------


def accept(report: Report, user: User) -> Report:
    check("accept", user, report)
    now = utcnow()
    report.accepted_at = report.accepted_at or now
    _responded(report, now)
    events.record(report, EventType.ACCEPTED, user=user, to_status=Status.IN_PROGRESS)
    uow.commit()
    return report


def transfer(report: Report, user: User, unit_code: str, reason: str | None) -> Report:
    check("transfer", user, report)
    reason = _require(reason, "reason")
    unit = target_unit(unit_code, user)
    if unit.id == report.unit_id:
        raise Unprocessable(
            "same_unit", "The report is already with this unit.", "Phản ánh đã thuộc đơn vị này.", field="unit"
        )
    if unit.kind == DISPATCHER_KIND:
        raise Unprocessable(
            "use_return",
            "Use 'return' to send a report back to the dispatcher.",
            "Dùng thao tác 'trả lại' để chuyển về bộ phận điều phối.",
            field="unit",
        )
    _responded(report, utcnow())
    report.transfer_count += 1
    assign_unit(report, unit, type_=EventType.TRANSFERRED, status=_assigned_status(report), user=user, reason=reason)
    uow.commit()
    return report


def return_to_dispatcher(report: Report, user: User, reason: str | None) -> Report:
    """ "Not ours": back to the dispatcher's triage queue (status submitted)."""
    check("return", user, report)
    reason = _require(reason, "reason")
    if _is_dispatcher(report.unit_id):
        raise Conflict(
            "illegal_transition",
            "The report is already in the triage queue.",
            "Phản ánh đang ở hàng đợi điều phối.",
            action="return",
            current_status=report.status,
        )
    _responded(report, utcnow())
    report.transfer_count += 1
    status = Status.REOPENED if report.status == Status.REOPENED else Status.SUBMITTED
    assign_unit(
        report, dispatcher_unit(report.province_code), type_=EventType.RETURNED, status=status, user=user, reason=reason
    )
    uow.commit()
    return report


def request_info(report: Report, user: User, question: str | None) -> Report:
    """Ask the citizen; the clock pauses until they answer (provide_info)."""
    check("request_info", user, report)
    question = _require(question, "question")
    now = utcnow()
    _responded(report, now)
    report.paused_at = now
    events.record(report, EventType.INFO_REQUESTED, user=user, to_status=Status.AWAITING_INFO, note=question)
    uow.commit()
    return report


def provide_info(report: Report, text: str | None) -> Report:
    """The citizen answers: resume where it was, due times pushed by the paused working time."""
    check("provide_info", None, report)
    text = _require(text, "text")
    now = utcnow()
    resume = (
        db.session.scalar(
            select(Event.from_status)
            .where(Event.report_id == report.id, Event.type == EventType.INFO_REQUESTED)
            .order_by(Event.at.desc(), Event.id.desc())
            .limit(1)
        )
        or Status.ASSIGNED
    )
    paused_hours = 0.0
    if report.paused_at is not None:
        cal = deadlines.calendar(report.province_code)
        paused_hours = cal.working_hours_between(report.paused_at, max(now, report.paused_at))
        if paused_hours > 0:
            for attr in ("due_at", "citizen_due_at"):
                if getattr(report, attr) is not None:
                    setattr(report, attr, cal.add_working_hours(getattr(report, attr), paused_hours))
        if report.indicator_due_at is not None:
            report.indicator_due_at = _indicator_due(report, cal, now) or report.indicator_due_at
    report.paused_at = None
    events.record(
        report,
        EventType.INFO_PROVIDED,
        actor=Role.CITIZEN,
        to_status=resume,
        data={"text": text, "paused_working_hours": round(paused_hours, 4)},
    )
    uow.commit()
    return report


def _indicator_due(report: Report, cal: Calendar, now: datetime) -> datetime | None:
    """The unit's indicator due by the one rule (deadlines.due_for), from its assignment event
    and the pauses since, as the indicators recompute it from the events (None: no such event)."""
    return _recomputed_due(report, cal, now)[0]


def _recomputed_due(report: Report, cal: Calendar, now: datetime) -> tuple[datetime | None, bool]:
    """(the indicator due by the one rule, whether the unit extended its due since its assignment)."""
    rows = db.session.execute(
        select(Event.at, Event.type, Event.from_status, Event.to_status, Event.data)
        .where(Event.report_id == report.id)
        .order_by(Event.at, Event.id)
    ).all()
    start = limit = None
    extended = False
    pauses: list[list] = []
    for at, type_, before, after, data in rows:
        if (data or {}).get("limit"):  # the assignment to the current unit (the last one)
            start, limit, pauses, extended = at, deadlines.parse_limit(data["limit"]), [], False
        elif start is not None and type_ == EventType.EXTENDED:
            extended = True
        elif start is not None and after == Status.AWAITING_INFO and before != Status.AWAITING_INFO:
            pauses.append([at, None])
        elif start is not None and before == Status.AWAITING_INFO and after != Status.AWAITING_INFO and pauses:
            pauses[-1][1] = at
    if start is None:
        return None, extended
    if pauses and pauses[-1][1] is None:  # the pause ending now, from when the report says it began
        pauses[-1] = [report.paused_at or pauses[-1][0], now]
    category = db.session.get_one(Category, report.category_id)  # a non-null foreign key
    return deadlines.due_for(category, start, cal, limit=limit, pauses=[tuple(p) for p in pauses]), extended


def calendar_changed(day: date, now: datetime | None = None) -> int:
    """After an admin added, changed or removed `day` in a calendar (national or a province's):
    the running reports whose clock spans that day get their unit's dues again by the one rule,
    counted with the calendar of the report's province (deadlines.calendar). A due the unit
    chose by an extension stays (its indicator due moves); paused reports move when they
    resume. Commits; returns how many reports' dues moved."""
    now = now or utcnow()
    first = datetime.combine(day, time(0), tzinfo=deadlines.zone())
    running = (
        Report.status.in_(CLOCK_RUNS),
        Report.unit_id.is_not(None),
        Report.assigned_at < first + timedelta(days=1),
        Report.indicator_due_at >= first,
    )
    moved = 0
    for report in db.session.scalars(select(Report).where(*running).order_by(Report.id).with_for_update()):
        due, extended = _recomputed_due(report, deadlines.calendar(report.province_code), now)
        if due is None or due == report.indicator_due_at:
            continue
        report.indicator_due_at = due
        if not extended:
            report.due_at = due
        moved += 1
    uow.commit()
    return moved


def extend(report: Report, user: User, new_due_at: datetime, reason: str | None, apology: str | None) -> Report:
    """A later due time, asked before the current one passes; the indicators keep the old one."""
    check("extend", user, report)
    reason, apology = _require(reason, "reason"), _require(apology, "apology")
    now = utcnow()
    if report.due_at is None or report.due_at <= now:
        raise Conflict(
            "deadline_passed",
            "The due time has passed; it can no longer be extended.",
            "Đã quá hạn xử lý, không thể gia hạn.",
            due_at=_iso(report.due_at),
        )
    if new_due_at.tzinfo is None:
        raise Unprocessable(
            "naive_datetime",
            "Give the new due time with a time zone.",
            "Thời hạn mới cần có múi giờ.",
            field="new_due_at",
        )
    if new_due_at <= report.due_at:
        raise Unprocessable(
            "due_not_later",
            "The new due time must be after the current one.",
            "Thời hạn mới phải sau thời hạn hiện tại.",
            field="new_due_at",
        )
    _working_day(new_due_at, report.province_code)
    old = report.due_at
    report.due_at = new_due_at
    _responded(report, now)
    events.record(
        report,
        EventType.EXTENDED,
        user=user,
        reason=reason,
        note=apology,
        data={"old_due_at": _iso(old), "new_due_at": _iso(new_due_at)},
    )
    uow.commit()
    return report


def resolve(
    report: Report, user: User | None, answer: str | None, photos: list[bytes], *, actor: str | None = None
) -> Report:
    """Done: a public answer and at least one "after" photo (stored before the commit)."""
    resolved(report, user, answer, photos, actor=actor)
    uow.commit()
    return report


def resolved(
    report: Report, user: User | None, answer: str | None, photos: list[bytes], *, actor: str | None = None
) -> Event:
    """The resolve step inside the caller's unit of work (which commits); its event.

    Refused (Conflict, Unprocessable) before anything is written. Without a user (an external
    system's Open311 update, services/external_updates.py) `actor` names the channel; the
    caller has authorised it."""
    check("resolve", user, report)
    answer = _require(answer, "answer")
    if not photos:
        raise Unprocessable(
            "after_photo_required",
            "Attach at least one photo of the result.",
            "Cần đính kèm ít nhất một ảnh sau khi xử lý.",
            field="photos",
        )
    saved = save_photos(report, photos, kind=PhotoKind.AFTER)
    now = utcnow()
    report.accepted_at = report.accepted_at or now
    _responded(report, now)
    report.resolved_at = now
    report.public_answer = answer
    return events.record(
        report,
        EventType.RESOLVED,
        user=user,
        actor=actor,
        to_status=Status.RESOLVED,
        note=answer,
        data={"photo_ids": [p.id for p in saved]},
    )


def reject(
    report: Report, user: User, reason_code: str, note: str | None = None, duplicate_of: str | None = None
) -> Report:
    check("reject", user, report)
    if reason_code not in REJECT_REASONS:
        raise Unprocessable(
            "bad_reason",
            f"Reason must be one of {', '.join(REJECT_REASONS)}.",
            "Lý do từ chối không hợp lệ.",
            field="reason",
        )
    if reason_code == RejectReason.DUPLICATE:  # one state for "is a duplicate": see mark_duplicate
        return mark_duplicate(report, user, duplicate_of, note, reject_reason=RejectReason.DUPLICATE)
    report.reject_reason = reason_code
    report.paused_at = None
    _responded(report, utcnow())
    events.record(report, EventType.REJECTED, user=user, to_status=Status.REJECTED, reason=reason_code, note=note)
    uow.commit()
    return report


def mark_duplicate(
    report: Report, user: User, parent_code: str | None, note: str | None = None, reject_reason: str | None = None
) -> Report:
    """Link to the parent (the root of its duplicate chain); followers move to the parent."""
    check("duplicate", user, report)
    parent_code = _require(parent_code, "duplicate_of")
    norm = public.normalize_code(parent_code)
    parent = db.session.scalar(select(Report).where(Report.code == norm)) if norm else None
    seen = set()
    while (
        parent is not None
        and parent.status == Status.DUPLICATE
        and parent.parent_id is not None
        and parent.id not in seen
    ):
        seen.add(parent.id)
        parent = db.session.get(Report, parent.parent_id)
    if parent is None:
        raise Unprocessable(
            "unknown_parent", f"No report {parent_code}.", f"Không có phản ánh {parent_code}.", field="duplicate_of"
        )
    if parent.id == report.id or parent.status == Status.DUPLICATE:
        raise Unprocessable(
            "self_duplicate",
            "A report cannot duplicate itself.",
            "Phản ánh không thể trùng với chính nó.",
            field="duplicate_of",
        )
    if not _may_link_to(user, parent):
        raise Forbidden(
            "duplicate_parent_forbidden",
            f"{parent.code} is another unit's report: ask the dispatcher to link them.",
            f"{parent.code} là phản ánh của đơn vị khác: đề nghị IOC gộp hai phản ánh.",
            field="duplicate_of",
        )
    moved = _move_followers(report, parent)
    report.parent_id = parent.id
    report.reject_reason = reject_reason
    report.paused_at = None
    _responded(report, utcnow())
    events.record(
        report,
        EventType.DUPLICATE,
        user=user,
        to_status=Status.DUPLICATE,
        reason=reject_reason,
        note=note,
        data={"parent_code": parent.code, "followers_moved": moved},
    )
    # The parent changed too (followers, maybe its reporter's supporters): its history says so.
    events.record(
        parent,
        EventType.DUPLICATE_LINKED,
        user=user,
        public=False,
        note=note,
        data={"child_code": report.code, "followers_moved": moved},
    )
    uow.commit()
    return report


def _may_link_to(user: User | None, parent: Report) -> bool:
    """Marking a duplicate moves followers onto the parent, so the parent must be a report the
    user may act on: their own unit's for unit staff; any of their province for the dispatcher
    and admins, whose work is triage across units. (A unit's staff could change another unit's
    report's followers before.)"""
    if user is None:
        return True  # the system's own links
    return policy.can_act(user, parent) or (policy.can_triage(user) and policy.in_province(user, parent))


# -- dispatcher and supervisor ------------------------------------------------------------


def _assigned_status(report: Report) -> str:
    return Status.REOPENED if report.status == Status.REOPENED else Status.ASSIGNED


def assign(report: Report, user: User, unit_code: str, note: str | None = None) -> Report:
    """The dispatcher hands a report to any unit (triage or re-triage)."""
    check("assign", user, report)
    unit = target_unit(unit_code, user)
    if unit.kind == DISPATCHER_KIND or unit.id == report.unit_id:
        raise Unprocessable(
            "bad_target_unit", "Choose a different, handling unit.", "Hãy chọn một đơn vị xử lý khác.", field="unit"
        )
    if report.unit_id is not None and not _is_dispatcher(report.unit_id):
        report.transfer_count += 1
    report.manually_triaged = True
    assign_unit(
        report,
        unit,
        type_=EventType.ASSIGNED,
        status=_assigned_status(report),
        user=user,
        reason=AssignReason.TRIAGE,
        note=note,
    )
    uow.commit()
    return report


def reassign(report: Report, user: User, unit_code: str, reason: str | None) -> Report:
    """A supervisor moves a report between units of their subtree."""
    check("reassign", user, report)
    reason = _require(reason, "reason")
    unit = target_unit(unit_code, user)
    scope = policy.visible_unit_ids(user)
    if scope is not None and unit.id not in scope:
        raise Forbidden(
            "target_unit_forbidden",
            "That unit is outside your subtree.",
            "Đơn vị này nằm ngoài phạm vi quản lý của bạn.",
        )
    if unit.id == report.unit_id:
        raise Unprocessable(
            "same_unit", "The report is already with this unit.", "Phản ánh đã thuộc đơn vị này.", field="unit"
        )
    report.transfer_count += 1
    assign_unit(report, unit, type_=EventType.REASSIGNED, status=_assigned_status(report), user=user, reason=reason)
    uow.commit()
    return report


def reopen(report: Report, user: User | None, reason: str | None, *, actor: str | None = None) -> Report:
    """Reopened: the router hands it back to the unit that handled it, with a new due time
    (or routes it afresh when that unit is gone). Citizens reopen through services.citizen."""
    check("reopen", user, report)
    return reopened(report, user=user, actor=actor, reason=_require(reason, "reason"))


def reopened(report: Report, *, user: User | None, actor: str | None, reason: str, note: str | None = None) -> Report:
    """The one reopening, for staff (after `check`) and citizens (after their token and window):
    the answer's fields are cleared, the previous rating stays in the history, and the report
    is routed again. Commits."""
    events.record(
        report,
        EventType.REOPENED,
        user=user,
        actor=actor,
        to_status=Status.REOPENED,
        reason=reason,
        note=note,
        data={"previous_rating": report.rating, "reopen_count": report.reopen_count + 1},
    )
    report.reopen_count += 1
    report.resolved_at = report.closed_at = None
    report.reject_reason = None
    report.rating = report.rating_comment = report.rated_at = None
    outbox.record(*jobs.ROUTE_REPORT, report.id)
    uow.commit()
    return report


WEEKDAYS_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def _working_day(due: datetime, province: str | None) -> None:
    """A due time must fall on a working day of the report's province (a Sunday or a holiday
    answers no one)."""
    cal = deadlines.calendar(province)
    day = due.astimezone(cal.tz).date()
    if cal.is_working_day(day):
        return
    nxt = cal.add_working_days(due, 1).date()
    holiday_vi, holiday_en = cal.holiday_name(day, "vi"), cal.holiday_name(day, "en_US")
    why_vi = (
        f"ngày nghỉ lễ {holiday_vi}"
        if holiday_vi
        else WEEKDAYS_VI[day.weekday()]
        if day.weekday() >= 5
        else "ngày nghỉ theo lịch làm việc"
    )
    why_en = (
        f"a public holiday ({holiday_en})"
        if holiday_en
        else day.strftime("%A")
        if day.weekday() >= 5
        else "a day off in the working calendar"
    )
    raise Unprocessable(
        "not_working_day",
        f"{day:%d/%m/%Y} is {why_en}, not a working day; the next working day is {nxt.strftime('%A')} {nxt:%d/%m/%Y}.",
        f"Ngày {day:%d/%m/%Y} là {why_vi}, không phải ngày làm việc; ngày làm việc kế tiếp là "
        f"{WEEKDAYS_VI[nxt.weekday()]} {nxt:%d/%m/%Y}.",
        field="new_due_at",
        next_working_day=nxt.isoformat(),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- helpers with side effects beyond the report row --------------------------------------


def save_photos(report: Report, data: list[bytes], kind: str) -> list[Photo]:
    """Check every image, store the originals (before the commit), add rows, queue derivatives."""
    cfg = current_app.config
    if len(data) > cfg["PHOTO_MAX_COUNT"]:
        raise Unprocessable(
            "too_many_photos",
            f"At most {cfg['PHOTO_MAX_COUNT']} photos.",
            f"Tối đa {cfg['PHOTO_MAX_COUNT']} ảnh.",
            field="photos",
        )
    incoming = [photos.check(item, {"field": "photos", "index": i}) for i, item in enumerate(data)]
    photos.store_originals(incoming)
    rows = [photos.attach(item, report.id, kind=kind) for item in incoming]
    for row in rows:
        outbox.record(*jobs.MAKE_DERIVATIVES, row.id)
    return rows


def token_follower_key(token_hash: str) -> str:
    """The follower key of a citizen token that proved a report (as "me too" counts it)."""
    return "t" + token_hash[:63]


def _move_followers(child: Report, parent: Report) -> int:
    """Re-point the child's followers to the parent (skipping people already following it);
    the child's reporter becomes a follower of the parent too. Returns the number moved."""
    taken = select(Follower.follower_key).where(Follower.report_id == parent.id)
    moved = cast(
        CursorResult,
        db.session.execute(
            update(Follower)
            .where(Follower.report_id == child.id, Follower.follower_key.not_in(taken))
            .values(report_id=parent.id)
        ),
    ).rowcount
    # What is left on the child already follows the parent: counted there once.
    already = cast(CursorResult, db.session.execute(delete(Follower).where(Follower.report_id == child.id))).rowcount
    added = max(0, child.followers_count - already)
    key = token_follower_key(child.citizen_token_hash)  # the duplicate's reporter follows the parent
    if (
        db.session.scalar(select(Follower.id).where(Follower.report_id == parent.id, Follower.follower_key == key))
        is None
    ):
        db.session.add(Follower(report_id=parent.id, follower_key=key))
        added += 1
    parent.followers_count += added
    child.followers_count = 0
    return moved
