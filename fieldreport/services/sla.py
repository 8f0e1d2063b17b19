"""The SLA sweep (periodic): warn the unit before the due, mark overdue, escalate, ask for an apology.

For every open report whose clock runs (not awaiting_info) and that has a working due:
- once SLA_WARN_FRACTION (default 0.8) of the working time from its assignment to the due
  is used: event 'warned' (internal) and a 'sla_warning' notification to the unit, which
  also suggests extending now, with an apology and a new date, if it cannot make it;
- once the due has passed: reports.overdue_at, event 'overdue' (internal), an 'sla_overdue'
  notification to the unit asking it to send the citizen an apology with a new date, and
  event 'escalated' with an 'sla_escalation' notification to the supervisors of the parent
  unit (the nearest ancestor that has supervisors).
The due is the unit's working due (`reports.due_at`, moved by extensions and pauses, and by
workflow.calendar_changed when an admin edits a calendar), not the indicator due; working
time is counted with the calendar of the report's province (deadlines.calendar: the national
days with the province's own over them), as the workflow counts its dues.
Idempotent: a report is warned once per due (warned_at after the warning point) and marked
overdue once per due (overdue_at after the due); an extension or a new assignment (which
clears both) arms it again. Rows are locked with SKIP LOCKED so sweeps on
several hosts share the work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select

from fieldreport.extensions import db
from fieldreport.models import Channel, EventType, NoticeKind, Report, Role, Unit, User
from fieldreport.models.base import utcnow
from fieldreport.services import deadlines, events, notify, uow, workflow
from fieldreport.worktime import Calendar

RUNNING = workflow.CLOCK_RUNS
LOOKAHEAD = timedelta(days=21)  # a warning point is never further than this before the due
ACTOR = "system:sla"


def warn_point(cal: Calendar, start: datetime, due: datetime, fraction: float) -> datetime:
    """The moment `fraction` of the office time between assignment and due is used."""
    if due <= start:
        return due
    total = cal.working_hours_between(start, due)
    if total <= 0:
        return start + (due - start) * fraction
    return cal.add_working_hours(start, total * fraction)


def sweep(now: datetime | None = None, batch: int = 500) -> dict[EventType, int]:
    """One pass over the reports near or past their due; returns counts of what it did.

    One read finds the candidates; each batch then re-checks and locks its rows
    (SKIP LOCKED) and commits, so the table is scanned once per sweep.
    """
    now = now or utcnow()
    fraction = float(current_app.config.get("SLA_WARN_FRACTION", 0.8))
    done = {EventType.WARNED: 0, EventType.OVERDUE: 0, EventType.ESCALATED: 0}
    due_soon = (
        Report.status.in_(RUNNING),
        Report.unit_id.is_not(None),
        Report.due_at.is_not(None),
        Report.due_at <= now + LOOKAHEAD,
        or_(Report.overdue_at.is_(None), Report.overdue_at < Report.due_at),
    )
    ids = list(db.session.scalars(select(Report.id).where(*due_soon).order_by(Report.id)))
    for i in range(0, len(ids), batch):
        reports = db.session.scalars(
            select(Report)
            .where(Report.id.in_(ids[i : i + batch]), *due_soon)
            .order_by(Report.id)
            .with_for_update(skip_locked=True)
        ).all()
        for report in reports:
            _check(report, now, deadlines.calendar(report.province_code), fraction, done)
        uow.commit()
    return done


def _check(report: Report, now: datetime, cal: Calendar, fraction: float, done: dict[EventType, int]) -> None:
    due, unit_id = report.due_at, report.unit_id
    assert due is not None and unit_id is not None  # sweep() selects only reports with both
    unit = db.session.get_one(Unit, unit_id)
    start = report.assigned_at or report.created_at
    if due <= now:
        report.overdue_at = now
        ev = events.record(
            report,
            EventType.OVERDUE,
            actor=ACTOR,
            public=False,
            data={"due_at": due.isoformat(), "unit_code": unit.code},
        )
        db.session.flush()
        _notify(report, ev, NoticeKind.SLA_OVERDUE, _unit_targets(unit), unit, due)
        done[EventType.OVERDUE] += 1
        found = _supervisors(unit)
        if found:
            supervisors, level = found
            esc = events.record(
                report,
                EventType.ESCALATED,
                actor=ACTOR,
                public=False,
                data={"to_unit_code": level.code, "supervisors": [u.username for u in supervisors]},
            )
            db.session.flush()
            _notify(report, esc, NoticeKind.SLA_ESCALATION, [_user_target(u) for u in supervisors], unit, due)
            done[EventType.ESCALATED] += 1
        return
    point = warn_point(cal, start, due, fraction)
    if now >= point and (report.warned_at is None or report.warned_at < point):
        report.warned_at = now
        ev = events.record(
            report,
            EventType.WARNED,
            actor=ACTOR,
            public=False,
            data={"due_at": due.isoformat(), "fraction": fraction, "unit_code": unit.code},
        )
        db.session.flush()
        _notify(report, ev, NoticeKind.SLA_WARNING, _unit_targets(unit), unit, due)
        done[EventType.WARNED] += 1


def _supervisors(unit: Unit) -> tuple[list[User], Unit] | None:
    """Supervisors of the nearest ancestor that has any (the unit's own as a last resort), and
    that unit; None when there are none."""
    seen, level = set(), db.session.get(Unit, unit.parent_id) if unit.parent_id else None
    while level is not None and level.id not in seen:
        seen.add(level.id)
        users = _active_supervisors(level.id)
        if users:
            return users, level
        level = db.session.get(Unit, level.parent_id) if level.parent_id else None
    users = _active_supervisors(unit.id)
    return (users, unit) if users else None


def _active_supervisors(unit_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.unit_id == unit_id, User.role == Role.SUPERVISOR, User.active).order_by(User.id)
        )
    )


def _email_on() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


def _unit_targets(unit: Unit) -> list[tuple[str, str]]:
    if unit.email and _email_on():
        return [(Channel.EMAIL, unit.email)]
    return [(Channel.LOG, f"unit:{unit.code}")]


def _user_target(user: User) -> tuple[str, str]:
    if user.email and _email_on():
        return Channel.EMAIL, user.email
    return Channel.LOG, f"user:{user.username}"


MESSAGES = {
    NoticeKind.SLA_WARNING: (
        "Phản ánh {code} sắp đến hạn xử lý ({due}). Nếu không kịp, hãy gia hạn ngay "
        "kèm lời xin lỗi và ngày hoàn thành mới gửi người dân.",
        "Report {code} is due soon ({due}). If you cannot make it, extend it now with "
        "an apology and a new date for the citizen.",
    ),
    NoticeKind.SLA_OVERDUE: (
        "Phản ánh {code} đã quá hạn xử lý ({due}). Hãy gửi người dân lời xin lỗi kèm ngày hoàn thành mới.",
        "Report {code} is overdue (due {due}). Send the citizen an apology with a new date.",
    ),
    NoticeKind.SLA_ESCALATION: (
        "Phản ánh {code} của {unit} đã quá hạn xử lý ({due}).",
        "Report {code} held by {unit} is overdue (due {due}).",
    ),
}


def _notify(report: Report, ev, kind: NoticeKind, targets, unit: Unit, due: datetime) -> None:
    vi, en = MESSAGES[kind]
    fields = dict(code=report.code, unit=unit.name, due=due.astimezone(deadlines.zone()).strftime("%H:%M %d/%m/%Y"))
    payload = {
        "kind": kind,
        "report_code": report.code,
        "unit_code": unit.code,
        "due_at": due.isoformat(),
        "event_id": ev.id,
        "message_vi": vi.format(**fields),
        "message_en": en.format(**fields),
    }
    notify.enqueue(report, ev, kind, payload, targets)
