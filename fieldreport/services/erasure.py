"""Erasing a reporter's personal data (Decree 13/2023/NĐ-CP, art. 16): on the citizen's request
(by the report's citizen token or their session), an admin's on request, or by the retention
job RETENTION_MONTHS after a report is finished.

What goes: the reporter's name, phone, e-mail and account link; every subscription's address
(push endpoint, phone, e-mail) and the recipients of its notifications; the private photo
originals' metadata (EXIF time, GPS, device: the original is replaced by a metadata-free copy);
phone numbers, e-mail addresses and the reporter's name wherever the citizen wrote free text
(description, address, rating comment, their notes and answers, supporters' notes); a
signed-in citizen's username in the history's actor labels.

What stays: everything the indicators are computed from (the events' types, times, units,
statuses and ratings; the report's category, place and deadlines), so the report keeps
counting exactly as before; the history keeps its rows (only citizen-written words change).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from flask import current_app
from sqlalchemy import func, or_, select, update

from fieldreport.errors import Forbidden, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import Addition, Event, EventType, Notification, Photo, Report, Role, Status, Subscription, User
from fieldreport.models.base import utcnow
from fieldreport.services import citizen, photos, public, uow

log = logging.getLogger("fieldreport.erasure")

REDACTED = "[…]"
PHONE = re.compile(r"(?<![\d+])(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")
EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
FINISHED = (Status.CLOSED, Status.RESOLVED, Status.REJECTED, Status.DUPLICATE)


def scrub(text: str | None, names: tuple[str, ...] = ()) -> str | None:
    """Free text without phone numbers, e-mail addresses or the given names."""
    if not text:
        return text
    out = EMAIL.sub(REDACTED, PHONE.sub(REDACTED, text))
    for name in names:
        if name and len(name.strip()) >= 2:
            out = re.sub(re.escape(name.strip()), REDACTED, out, flags=re.IGNORECASE)
    return out


def _names(report: Report) -> tuple[str, ...]:
    names = [report.reporter_name or ""]
    if report.reporter_user_id:
        user = db.session.get(User, report.reporter_user_id)
        if user is not None and user.full_name and user.full_name != user.username:
            names.append(user.full_name)
    return tuple(n for n in names if n)


def _citizen_event(ev: Event) -> bool:
    return (ev.actor or "").split(":")[0] == Role.CITIZEN or ev.type in (EventType.SUBMITTED, EventType.INFO_PROVIDED)


def erase(report: Report, *, by: str, reason: str | None = None, now: datetime | None = None) -> None:
    """Anonymise one report's personal data (idempotent). The caller commits."""
    now = now or utcnow()
    first = report.erased_at is None
    names = _names(report)
    report.description = scrub(report.description, names)
    report.address_hint = scrub(report.address_hint, names)
    report.rating_comment = scrub(report.rating_comment, names)
    report.attributes = {k: scrub(v, names) if isinstance(v, str) else v for k, v in (report.attributes or {}).items()}
    report.reporter_name = report.reporter_phone = report.reporter_email = None
    report.reporter_user_id = None
    report.erased_at, report.erased_by = (now, by) if first else (report.erased_at, report.erased_by)
    report.erased_reason = reason or report.erased_reason
    for ev in db.session.scalars(select(Event).where(Event.report_id == report.id)):
        if not _citizen_event(ev):
            continue
        if (ev.actor or "").startswith("citizen:"):
            ev.actor = Role.CITIZEN
        ev.note = scrub(ev.note, names)
        if isinstance((ev.data or {}).get("text"), str):
            ev.data = {**ev.data, "text": scrub(ev.data["text"], names)}
    for addition in db.session.scalars(select(Addition).where(Addition.report_id == report.id)):
        addition.note = scrub(addition.note, names)
    subs = select(Subscription.id).where(Subscription.report_id == report.id)
    db.session.execute(
        update(Notification)
        .where(or_(Notification.report_id == report.id, Notification.subscription_id.in_(subs)))
        .values(recipient=None)
    )
    db.session.execute(
        update(Subscription)
        .where(Subscription.report_id == report.id)
        .values(
            address=func.concat("erased:", Subscription.id),
            keys={},
            unsubscribed_at=func.coalesce(Subscription.unsubscribed_at, now),
        )
    )
    if first:  # once: a second erasure (the admin after the citizen) has nothing left to strip
        for photo in db.session.scalars(
            select(Photo).where(
                or_(
                    Photo.report_id == report.id,
                    Photo.addition_id.in_(select(Addition.id).where(Addition.report_id == report.id)),
                )
            )
        ):
            photos.strip_original(photo)
    log.info("personal data erased: report %s by %s", report.code, by)


def erase_for_citizen(code: str, token: str | None, user: User | None) -> Report:
    """The reporter asks: by the report's citizen token, or signed in as its reporter."""
    report = public.find(code, lock=True)
    citizen.authorise(report, token, user)
    erase(report, by=Role.CITIZEN)
    uow.commit()
    return report


def erase_by_admin(code: str, user: User, reason: str | None) -> Report:
    """An admin erases on a request received another way (letter, phone, counter)."""
    if user.role != Role.ADMIN:
        raise Forbidden(
            "forbidden_role", "Your role may not do this.", "Vai trò của bạn không được phép thực hiện thao tác này."
        )
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= 500:
        raise Unprocessable(
            "missing_reason",
            "Say whose request this is and how it came (5–500 characters); it is recorded.",
            "Cần ghi yêu cầu của ai và nhận qua đâu (5–500 ký tự); nội dung được lưu lại.",
            field="reason",
        )
    report = public.find(code, lock=True)
    erase(report, by=f"admin:{user.username}", reason=reason)
    uow.commit()
    return report


def due_for_retention(now: datetime | None = None, limit: int = 200) -> list[int]:
    """Reports finished more than RETENTION_MONTHS ago whose personal data are still there."""
    months = current_app.config["RETENTION_MONTHS"]
    if months <= 0:
        return []
    now = now or utcnow()
    cutoff = _months_before(now, months)
    finished = func.coalesce(Report.closed_at, Report.resolved_at, Report.updated_at)
    return list(
        db.session.scalars(
            select(Report.id)
            .where(Report.status.in_(FINISHED), Report.erased_at.is_(None), finished < cutoff)
            .order_by(Report.id)
            .limit(limit)
        )
    )


def _months_before(now: datetime, months: int) -> datetime:
    """The same day `months` earlier (the month's last day when it has no such day)."""
    y, m = divmod(now.month - 1 - months, 12)
    year, month = now.year + y, m + 1
    for day in (now.day, 30, 29, 28):
        try:
            return now.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def retention_sweep(now: datetime | None = None, batch: int = 200) -> int:
    """Periodic job: anonymise every report past retention, one commit per report (a photo
    the storage cannot serve now leaves that report for the next run). Returns how many."""
    done = 0
    while True:
        ids = due_for_retention(now, batch)
        if not ids:
            return done
        progressed = 0
        for report_id in ids:
            report = db.session.get_one(Report, report_id, with_for_update=True)  # reports are never deleted
            try:
                erase(report, by="retention", now=now)
                uow.commit()
                done += 1
                progressed += 1
            except Exception:
                uow.rollback()
                log.exception("retention: report %s not erased this run", report_id)
        if progressed == 0:
            return done
