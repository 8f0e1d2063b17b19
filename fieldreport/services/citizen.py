"""What a citizen does after submitting: rate the result, reopen it, or say "me too" on any report
(optionally adding their own photos and note to it)."""

from __future__ import annotations

import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from fieldreport import queue as jobs
from fieldreport import ratelimit, security
from fieldreport.errors import Conflict, Forbidden, Unauthorized, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import Addition, EventType, Follower, PhotoKind, Report, Role, Status, User
from fieldreport.models.base import utcnow
from fieldreport.services import events, intake, outbox, photos, public, uow, workflow

NOTE_LIMIT = 2000

RATEABLE = (Status.RESOLVED, Status.CLOSED)


def authorise(report: Report, token: str | None, user: User | None) -> None:
    """Only the reporter acts on a report: by its citizen token, or signed in as its reporter."""
    if user is not None and report.reporter_user_id == user.id:
        return
    if not token:
        raise Unauthorized(
            "citizen_token_required",
            "Send the report's citizen token (X-Citizen-Token).",
            "Cần gửi mã công dân của phản ánh (X-Citizen-Token).",
        )
    if not hmac.compare_digest(security.token_hash(token), report.citizen_token_hash):
        raise Forbidden(
            "not_your_report",
            "This citizen token does not belong to this report.",
            "Mã công dân không khớp với phản ánh này.",
        )


def rate(code: str, rating: int, comment: str | None, token: str | None, user: User | None = None) -> Report:
    """Rate a resolved report once (1–5); a resolved report becomes closed."""
    report = public.find(code, lock=True)
    authorise(report, token, user)
    if report.rating is not None:
        raise Conflict("already_rated", "This report has already been rated.", "Phản ánh này đã được đánh giá.")
    if report.status not in RATEABLE:
        raise Conflict(
            "not_resolved",
            "A report can be rated once it is resolved.",
            "Chỉ đánh giá được khi phản ánh đã được xử lý xong.",
        )
    now = utcnow()
    report.rating, report.rating_comment, report.rated_at = rating, comment or None, now
    closing = report.status == Status.RESOLVED
    events.record(
        report,
        EventType.RATED,
        user=user,
        actor=None if user else Role.CITIZEN,
        to_status=Status.CLOSED if closing else None,
        note=comment or None,
        data={"rating": rating},
    )
    if closing:
        report.closed_at = now
    uow.commit()
    return report


def reopen(code: str, reason: str, token: str | None, user: User | None = None) -> Report:
    """Reopen within REOPEN_DAYS of resolution; the report is routed again.

    The previous rating stays in the history (the "rated" event) and is cleared on the report,
    so the citizen can rate the next resolution.
    """
    report = public.find(code, lock=True)
    authorise(report, token, user)
    if report.status not in RATEABLE or report.resolved_at is None:
        raise Conflict(
            "not_reopenable", "Only a resolved report can be reopened.", "Chỉ mở lại được phản ánh đã được xử lý."
        )
    days = current_app.config["REOPEN_DAYS"]
    if utcnow() - report.resolved_at > timedelta(days=days):
        raise Conflict(
            "reopen_window_passed",
            f"A report can be reopened within {days} days of resolution.",
            f"Chỉ mở lại được trong vòng {days} ngày kể từ khi xử lý xong.",
            reopen_days=days,
        )
    return workflow.reopened(
        report, user=user, actor=None if user else Role.CITIZEN, reason="citizen_not_satisfied", note=reason
    )


def follower_key(token: str | None, user: User | None, client_ip: str) -> str:
    """Who a "me too" counts as: a citizen token that proves a report, a signed-in citizen, or
    else the client (its keyed address).

    Any string was counted as a token before, so one client sending 40 made-up tokens made 40
    supporters. A token counts only once a report was submitted with it (the submission is
    rate-limited per client and per account); an unknown one counts as its client, once.
    """
    if token:
        digest = security.token_hash(token)
        if db.session.scalar(select(Report.id).where(Report.citizen_token_hash == digest).limit(1)):
            return workflow.token_follower_key(digest)
    if user is not None and user.role == Role.CITIZEN:
        return f"u{user.id}"
    return "i" + intake.client_key(client_ip)


def follow(code: str, follower_key: str, rate_key: str | None = None) -> tuple[int, bool]:
    """Count one supporter per follower key (see follower_key): (count, new?). With a rate key
    (the citizen's client; an operator's desk has none) limited to FOLLOW_RATE_PER_HOUR."""
    report, _ = public.visible(code)
    if rate_key is not None:
        ratelimit.hit(f"follow:{rate_key}", current_app.config["FOLLOW_RATE_PER_HOUR"])
    result = _follow(report, follower_key)
    uow.commit()
    return result


def _follow(report: Report, follower_key: str) -> tuple[int, bool]:
    added = db.session.execute(
        pg_insert(Follower)
        .values(report_id=report.id, follower_key=follower_key, created_at=utcnow())
        .on_conflict_do_nothing(constraint="uq_followers_report_follower")
        .returning(Follower.id)
    ).first()
    if added is not None:
        count = db.session.execute(
            update(Report)
            .where(Report.id == report.id)
            .values(followers_count=Report.followers_count + 1)
            .returning(Report.followers_count)
        ).scalar_one()
    else:
        count = report.followers_count
    return count, added is not None


def add_to(
    code: str, follower_key: str, note: str | None, files: list[tuple[str | None, bytes]], rate_key: str
) -> dict:
    """ "Me too, and here is what I saw": follow the report and keep the supporter's photos and
    note with it for the staff (never public). Checked like a submission; one commit."""
    cfg = current_app.config
    report, _ = public.visible(code)  # only a report the supporter may see
    ratelimit.hit(f"addition:{rate_key}", cfg["SUBMIT_RATE_PER_HOUR"])
    note = (note or "").strip() or None
    if note is not None and ("\x00" in note or len(note) > NOTE_LIMIT):
        raise Unprocessable(
            "text_too_long",
            f"note is longer than {NOTE_LIMIT} characters.",
            f"Ghi chú dài quá {NOTE_LIMIT} ký tự.",
            field="note",
            max_length=NOTE_LIMIT,
        )
    photos.check_count(len(files))
    if note is None and not files:
        raise Unprocessable(
            "addition_empty", "Send a note or at least one photo.", "Cần gửi ghi chú hoặc ít nhất một ảnh."
        )
    incoming = [
        photos.check(data, {"field": "photos", "index": i, "filename": name}) for i, (name, data) in enumerate(files)
    ]
    photos.store_originals(incoming)  # storage down: 503 before anything is written
    count, _ = _follow(report, follower_key)
    addition = Addition(report_id=report.id, follower_key=follower_key, note=note)
    db.session.add(addition)
    db.session.flush()
    for item in incoming:
        photo = photos.attach(item, None, kind=PhotoKind.SUPPORT)
        photo.addition_id = addition.id
        outbox.record(*jobs.MAKE_DERIVATIVES, photo.id)
    uow.commit()  # commit, then send the derivative jobs
    return {"code": report.code, "followers_count": count, "addition_id": addition.id, "photos": len(incoming)}
