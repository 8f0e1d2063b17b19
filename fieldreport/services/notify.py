"""Citizen (and unit) notifications: outbox-style rows delivered by a worker through channels.

A public event the citizen should know about writes one Notification per channel in the
event's transaction, each with a `deliver_notification` job in the outbox. Channels are
pluggable (CHANNELS): `log` (the default when nothing else is configured), `email` over SMTP
(`SMTP_URL`, e.g. smtp://user:pass@host:587?starttls=1&from=noreply@example.org) and a
`webhook` (`NOTIFY_WEBHOOK_URL`, JSON body signed with the deployment secret). Delivery is
at-least-once: a failure raises so that RQ retries with backoff; the row keeps the attempts
and the last error, and turns `failed` when no retry is left.
"""
from __future__ import annotations

import json
import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage
from typing import Callable
from urllib.parse import parse_qs, unquote, urlparse

import urllib3
from flask import current_app
from rq import get_current_job
from sqlalchemy import select

from fieldreport import security
from fieldreport.extensions import db
from fieldreport.models import Event, Notification, Report, Unit
from fieldreport.models.base import utcnow
from fieldreport.services import disclosure, outbox
from fieldreport.worktime import TZ

log = logging.getLogger("fieldreport.notify")

# kind → (Vietnamese, English); formatted with code, unit, due, note, reason.
MESSAGES = {
    "submitted": ("Đã tiếp nhận phản ánh {code}.", "We received your report {code}."),
    "assigned": ("Phản ánh {code} đã được chuyển đến {unit}, hạn xử lý {due}.",
                 "Report {code} is with {unit}, due {due}."),
    "transferred": ("Phản ánh {code} được chuyển sang {unit}, hạn xử lý {due}.",
                    "Report {code} was transferred to {unit}, due {due}."),
    "returned": ("Phản ánh {code} được chuyển lại bộ phận điều phối để phân công đúng đơn vị.",
                 "Report {code} went back to the dispatcher to find the right unit."),
    "reassigned": ("Phản ánh {code} được giao cho {unit}, hạn xử lý {due}.",
                   "Report {code} was reassigned to {unit}, due {due}."),
    "accepted": ("{unit} đang xử lý phản ánh {code}.", "{unit} is working on report {code}."),
    "info_requested": ("Phản ánh {code} cần bổ sung thông tin: {note}",
                       "Report {code} needs more information: {note}"),
    "extended": ("Phản ánh {code} được gia hạn đến {due}. {note}",
                 "Report {code} was extended to {due}. {note}"),
    "resolved": ("Phản ánh {code} đã được xử lý: {note} Mời bạn đánh giá kết quả.",
                 "Report {code} was resolved: {note} Please rate the result."),
    "rejected": ("Phản ánh {code} không được xử lý (lý do: {reason}). {note}",
                 "Report {code} was declined (reason: {reason}). {note}"),
    "duplicate": ("Phản ánh {code} trùng với phản ánh {parent}; bạn sẽ nhận thông báo của phản ánh đó.",
                  "Report {code} duplicates report {parent}; you will follow that one."),
    "reopened": ("Phản ánh {code} được mở lại để xử lý tiếp.", "Report {code} was reopened."),
    "closed": ("Phản ánh {code} đã đóng.", "Report {code} was closed."),
    "status_changed": ("Phản ánh {code} chuyển sang trạng thái: {status}.",
                       "Report {code} is now {status}."),
}
CITIZEN_KINDS = frozenset(MESSAGES) - {"status_changed"}
SILENT = frozenset({"info_provided", "rated"})  # the citizen's own acts need no message


def kind_for(ev: Event) -> str | None:
    """The message a public event sends the citizen, if any: its own, or a generic one for
    any other status change (e.g. from an Open311 update or an automatic close)."""
    if not ev.public or ev.type in SILENT:
        return None
    if ev.type in CITIZEN_KINDS:
        return ev.type
    return "status_changed" if ev.to_status and ev.to_status != ev.from_status else None
UNIT_KINDS = frozenset({"assigned", "transferred", "reassigned", "reopened"})


class DeliveryError(Exception):
    """A channel did not accept the message (the job fails and RQ retries it)."""


def _when(value) -> str:
    if not value:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(TZ).strftime("%H:%M %d/%m/%Y")


def citizen_fields(report: Report, ev: Event, unit_name: str | None, vi: bool) -> dict:
    """The words a citizen's message may carry, as the public-data rule gives them to the reporter."""
    fields = disclosure.notice_fields(report, ev, unit_name, vi)
    return {**fields, "note": fields["note"] or "", "due": _when(fields["due"])}


def for_event(report: Report, ev: Event, kind: str) -> list[Notification]:
    """Write the notifications of one event (call inside the event's transaction)."""
    cfg = current_app.config
    unit = db.session.get(Unit, report.unit_id) if report.unit_id else None
    vi, en = MESSAGES[kind]
    fields_vi, fields_en = (citizen_fields(report, ev, unit.name if unit else None, lang)
                            for lang in (True, False))
    payload = {"kind": kind, "report_code": report.code, "status": report.status,
               "unit_code": unit.code if unit else None, "due_at": _iso(report.due_at),
               "citizen_due_at": _iso(report.citizen_due_at), "event_id": ev.id,
               "message_vi": vi.format(**fields_vi).strip(), "message_en": en.format(**fields_en).strip()}
    targets: list[tuple[str, str | None]] = []
    if cfg.get("SMTP_URL") and report.reporter_email:
        targets.append(("email", report.reporter_email))
    if cfg.get("NOTIFY_WEBHOOK_URL"):
        targets.append(("webhook", report.reporter_phone))
    if not targets:
        targets.append(("log", f"report:{report.code}"))
    if kind in UNIT_KINDS and unit is not None and unit.email and cfg.get("SMTP_URL"):
        targets.append(("email", unit.email))  # the unit hears of new work in its queue
    return enqueue(report, ev, kind, payload, targets)


def enqueue(report: Report, ev: Event, kind: str, payload: dict,
            targets: list[tuple[str, str | None]]) -> list[Notification]:
    """Write one notification per (channel, recipient) and its delivery job, in this transaction."""
    rows = [Notification(report_id=report.id, event_id=ev.id, channel=channel, recipient=to,
                         kind=kind, payload=payload) for channel, to in targets]
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        outbox.record("notify", "workers.jobs.deliver_notification", row.id)
    return rows


def _iso(value) -> str | None:
    return value.isoformat() if value else None


# -- delivery ----------------------------------------------------------------------------

def deliver(notification_id: int) -> str:
    """Send one notification; idempotent (a sent row is not sent again).

    The row is locked while sending so that two workers never send it twice at once.
    """
    row = db.session.scalar(select(Notification).where(Notification.id == notification_id)
                            .with_for_update(skip_locked=True))
    if row is None or row.status == "sent":
        db.session.commit()  # nothing to do: end the transaction
        return "skipped"
    send = CHANNELS.get(row.channel)
    try:
        if send is None:
            raise DeliveryError(f"unknown channel {row.channel!r}")
        send(row)
    except Exception as exc:
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        job = get_current_job()
        if job is None or not job.retries_left:
            row.status = "failed"
        db.session.commit()
        raise
    row.attempts += 1
    row.status = "sent"
    row.sent_at = utcnow()
    row.last_error = None
    db.session.commit()
    return "sent"


def _send_log(row: Notification) -> None:
    log.info("notify %s %s: %s", row.kind, row.recipient, row.payload.get("message_vi"))


def _send_email(row: Notification) -> None:
    url = urlparse(current_app.config["SMTP_URL"])
    params = {k: v[-1] for k, v in parse_qs(url.query).items()}
    msg = EmailMessage()
    msg["From"] = params.get("from", "fieldreport@localhost")
    msg["To"] = row.recipient
    msg["Subject"] = f"[{row.payload.get('report_code')}] {row.payload.get('message_vi', '')[:120]}"
    msg.set_content(f"{row.payload.get('message_vi', '')}\n\n{row.payload.get('message_en', '')}\n")
    smtp_cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    default_port = 465 if url.scheme == "smtps" else 25
    with smtp_cls(url.hostname, url.port or default_port, timeout=10) as smtp:
        if params.get("starttls") in {"1", "true", "yes"}:
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(msg)


_http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=10), retries=False)


def _send_webhook(row: Notification) -> None:
    body = json.dumps({"id": row.id, "recipient": row.recipient, **row.payload},
                      ensure_ascii=False).encode()
    signature = security.keyed(current_app.config["SECRET_KEY"], body.decode())
    try:
        resp = _http.request("POST", current_app.config["NOTIFY_WEBHOOK_URL"], body=body, headers={
            "Content-Type": "application/json", "X-Fieldreport-Delivery": str(row.id),
            "X-Fieldreport-Signature": f"sha256={signature}"})
    except urllib3.exceptions.HTTPError as exc:
        raise DeliveryError(f"webhook unreachable: {exc}") from exc
    if resp.status >= 300:
        raise DeliveryError(f"webhook answered HTTP {resp.status}")


CHANNELS: dict[str, Callable[[Notification], None]] = {
    "log": _send_log, "email": _send_email, "webhook": _send_webhook,
}
