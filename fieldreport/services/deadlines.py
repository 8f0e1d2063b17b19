"""Due times in working time, from the category's deadline and the deployment's calendar.

Rules (DESIGN §5): a limit is N working hours or N working days. Hours count office time
only, from the moment of assignment. A day limit starts counting on the next working day
and ends at the close of office on the N-th. Time in `awaiting_info` (pauses) does not
count while the clock runs: a pause before a day limit's clock starts (on the day of
receipt) moves nothing. An extension moves the unit's working due (`reports.due_at`) but
never the due that counts for the indicators (`reports.indicator_due_at`). One function,
due_for(), computes that due wherever it is needed: when the workflow records it and when
the indicators recompute it from the events (docs/indicators.md).

The limit comes from the category (`deadline_amount` + `deadline_unit`) unless the report
carries another urgency, which then takes the deployment's default for that urgency
(config URGENCY_DEADLINES, "urgent=4h,simple=3d,standard=10d,complex=15d"). A report
held by the dispatcher is due for triage (config TRIAGE_DEADLINE, "8h").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g, has_app_context
from sqlalchemy import select

from fieldreport import queue as jobs
from fieldreport.errors import Conflict, NotFound, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import CalendarDay, Category
from fieldreport.services import outbox, uow
from fieldreport.worktime import TZ, Calendar, Pause, parse_office_hours

DEFAULT_URGENCY_DEADLINES = "urgent=4h,simple=3d,standard=10d,complex=15d"
DEFAULT_TRIAGE_DEADLINE = "8h"
Limit = tuple[float, str]  # (amount, "hours" | "days")

# Calendars keyed by their admin data: a Calendar caches its working days per year, so one
# built from the same rows is reused across requests and jobs (a memo, never the truth).
_calendars: dict[tuple, Calendar] = {}


def _setting(name: str, default: str) -> str:
    return (current_app.config.get(name) if has_app_context() else None) or default


def zone() -> ZoneInfo:
    """The deployment's time zone (setting TIMEZONE): local days, periods and office hours."""
    return ZoneInfo(_setting("TIMEZONE", TZ.key))


def calendar(province: str | None = None) -> Calendar:
    """The working calendar: statutory holidays plus the admin-edited swap/make-up days — the
    national ones, and the province's own when given (a province's row wins on its day).

    Read from the calendar_days table once per request or job and province (cached on flask.g).
    """
    cached = g.setdefault("work_calendars", {}) if has_app_context() else {}
    if province in cached:
        return cached[province]
    rows = db.session.execute(
        select(CalendarDay.day, CalendarDay.kind)
        .where(CalendarDay.province_code.in_(("", province or "")))
        .order_by(CalendarDay.day, CalendarDay.province_code)
    ).all()
    days = dict(rows)  # ordered by province: '' first, so the province's own row wins
    key = (tuple(days.items()), _setting("OFFICE_HOURS", "07:30-11:30,13:30-17:00"), zone().key)
    cal = _calendars.get(key)
    if cal is None:
        if len(_calendars) > 32:
            _calendars.clear()
        cal = _calendars[key] = Calendar(
            extra_days_off=frozenset(d for d, k in days.items() if k == "off"),
            makeup_days=frozenset(d for d, k in days.items() if k == "work"),
            office_hours=parse_office_hours(key[1]),
            tz=zone(),
        )
    cached[province] = cal
    return cal


def forget_calendar() -> None:
    """Drop the request's cached calendars (after an admin edits calendar days)."""
    if has_app_context():
        g.pop("work_calendars", None)


def parse_limit(text: str) -> Limit:
    """ "4h" → (4.0, "hours"), "10d" → (10.0, "days"); ValueError otherwise."""
    text = text.strip().lower()
    units = {"h": "hours", "d": "days"}
    if len(text) < 2 or text[-1] not in units:
        raise ValueError(f"bad deadline {text!r}, expected e.g. 4h or 10d")
    amount = float(text[:-1])
    if amount <= 0:
        raise ValueError(f"bad deadline {text!r}: must be positive")
    return amount, units[text[-1]]


def urgency_limits() -> dict[str, Limit]:
    """The deployment's default limit per urgency."""
    spec = _setting("URGENCY_DEADLINES", DEFAULT_URGENCY_DEADLINES)
    out = {}
    for part in spec.split(","):
        name, _, limit = part.partition("=")
        out[name.strip()] = parse_limit(limit)
    return out


def triage_limit() -> Limit:
    return parse_limit(_setting("TRIAGE_DEADLINE", DEFAULT_TRIAGE_DEADLINE))


def limit_for(category: Category, urgency: str | None = None, *, triage: bool = False) -> Limit:
    """The limit that applies: triage, else the report's own urgency, else the category's."""
    if triage:
        return triage_limit()
    if urgency and urgency != category.urgency:
        limits = urgency_limits()
        if urgency in limits:
            return limits[urgency]
    return float(category.deadline_amount), category.deadline_unit


def limit_text(limit: Limit) -> str:
    """(3.0, "days") → "3d": how an assignment records its limit (parse_limit reads it)."""
    amount, unit = limit
    return f"{amount:g}{unit[0]}"


def due_for(
    category: Category,
    start: datetime,
    cal: Calendar | None = None,
    *,
    urgency: str | None = None,
    triage: bool = False,
    limit: Limit | None = None,
    pauses: Iterable[Pause] = (),
) -> datetime | None:
    """When a report of this category, received by a unit at `start`, is due.

    The one rule for every due of a unit (the workflow's, the indicators'): `limit` (as the
    assignment recorded it) or else limit_for(), counted by Calendar.due from `start` with
    the clock stopped during `pauses`. None only while an open pause began before the
    limit was reached.
    """
    cal = cal or calendar()
    amount, unit = limit or limit_for(category, urgency, triage=triage)
    return cal.due(start, amount, unit, pauses)


# -- the admins' table of swap days and make-up days ------------------------------------


def _check_day(day, kind: str) -> None:
    base = Calendar(office_hours=calendar().office_hours)  # statutory days only
    if kind == "work" and base.is_working_day(day):
        raise Unprocessable(
            "already_working_day", f"{day} is already a working day.", f"Ngày {day} vốn là ngày làm việc.", field="day"
        )
    if kind == "off" and not base.is_working_day(day):
        raise Unprocessable(
            "already_day_off", f"{day} is already a day off.", f"Ngày {day} vốn là ngày nghỉ.", field="day"
        )


def list_days(year: int | None = None, province: str | None = None) -> list[dict]:
    """The admins' rows (of one year): the national ones, and one province's when given;
    each with its weekday and statutory holiday name."""
    q = (
        select(CalendarDay)
        .where(CalendarDay.province_code.in_(("", province or "")))
        .order_by(CalendarDay.day, CalendarDay.province_code)
    )
    if year is not None:
        q = q.where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day < date(year + 1, 1, 1))
    cal = calendar()
    return [
        {
            "day": r.day,
            "kind": r.kind,
            "note": r.note,
            "weekday": r.day.weekday(),
            "holiday": cal.holiday_name(r.day),
            "province": r.province_code or None,
        }
        for r in db.session.scalars(q)
    ]


def save_day(day, kind: str, note: str | None, *, create: bool, province: str | None = None) -> CalendarDay:
    """Add (create=True: 409 if present) or change a day, national or of one province;
    dues around it are recomputed."""
    row = db.session.get(CalendarDay, (day, province or ""))
    if create and row is not None:
        raise Conflict(
            "calendar_day_exists",
            f"{day} is already in the calendar.",
            f"Ngày {day} đã có trong lịch.",
            day=day.isoformat(),
        )
    if not create and row is None:
        raise NotFound("calendar_day_not_found", f"{day} is not in the calendar.", f"Ngày {day} không có trong lịch.")
    _check_day(day, kind)
    row = row or CalendarDay(day=day, province_code=province or "")
    row.kind, row.note = kind, note
    db.session.add(row)
    _changed(day)
    return row


def delete_day(day, province: str | None = None) -> None:
    row = db.session.get(CalendarDay, (day, province or ""))
    if row is None:
        raise NotFound("calendar_day_not_found", f"{day} is not in the calendar.", f"Ngày {day} không có trong lịch.")
    db.session.delete(row)
    _changed(day)


def _changed(day) -> None:
    """Commit with a job that moves the running reports' dues (workflow.calendar_changed) and
    re-measures their indicators. The request's cached calendars go first: the commit sends
    the job, which may run at once in this process (inline queues)."""
    outbox.record(*jobs.INDICATORS_CALENDAR_CHANGED, day.isoformat())
    forget_calendar()
    uow.commit()
