"""Citizen (and unit) notifications: outbox-style rows delivered by a worker through channels.

A public event the citizen should know about writes one Notification per recipient and channel
in the event's transaction, each with a `deliver_notification` job in the outbox. Recipients
are the report's active subscriptions (services/subscriptions: the reporter and followers who
asked). Channels (CHANNELS): `push` (Web Push, services/push), `sms` (services/sms, for
signed-in phones, callers who gave theirs to an operator, and the events in SMS_EVENTS),
`zalo` (the OA send API, services/zalo_api, to the Zalo user a report came from), `email` over SMTP (`SMTP_URL`, e.g.
smtp://user:pass@host:587?starttls=1&from=noreply@example.org), a `webhook`
(`NOTIFY_WEBHOOK_URL`, JSON body signed with the deployment secret), and `log` when nothing
else would hear of it. Each row records its own delivery status, so one failing channel never
holds up another, nor the workflow that wrote it. Delivery is at-least-once: a failure raises
so that RQ retries with backoff; the row keeps the attempts and the last error, and turns
`failed` when no retry is left, or at once when the channel says it never will work (a push
subscription gone); a row whose subscription was turned off meanwhile is `cancelled`.
"""

from __future__ import annotations

import json
import logging
import smtplib
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

import urllib3
from flask import current_app
from rq import get_current_job
from sqlalchemy import select

from fieldreport import queue as jobs
from fieldreport import security
from fieldreport.extensions import db
from fieldreport.models import (
    Channel,
    Event,
    EventType,
    NoticeKind,
    Notification,
    NotificationState,
    Report,
    SubscriberRole,
    Subscription,
    Unit,
)
from fieldreport.models.base import utcnow
from fieldreport.services import deadlines, disclosure, outbox, push, sms, uow

log = logging.getLogger("fieldreport.notify")

# kind → (Vietnamese, English); formatted with code, unit, due, note, reason.
MESSAGES: dict[str, tuple[str, str]] = {
    EventType.SUBMITTED: ("Đã tiếp nhận phản ánh {code}.", "We received your report {code}."),
    EventType.ASSIGNED: (
        "Phản ánh {code} đã được chuyển đến {unit}, hạn xử lý {due}.",
        "Report {code} is with {unit}, due {due}.",
    ),
    EventType.TRANSFERRED: (
        "Phản ánh {code} được chuyển sang {unit}, hạn xử lý {due}.",
        "Report {code} was transferred to {unit}, due {due}.",
    ),
    EventType.RETURNED: (
        "Phản ánh {code} được chuyển lại bộ phận điều phối để phân công đúng đơn vị.",
        "Report {code} went back to the dispatcher to find the right unit.",
    ),
    EventType.REASSIGNED: (
        "Phản ánh {code} được giao cho {unit}, hạn xử lý {due}.",
        "Report {code} was reassigned to {unit}, due {due}.",
    ),
    EventType.ACCEPTED: ("{unit} đang xử lý phản ánh {code}.", "{unit} is working on report {code}."),
    EventType.INFO_REQUESTED: (
        "Phản ánh {code} cần bổ sung thông tin: {note}",
        "Report {code} needs more information: {note}",
    ),
    EventType.EXTENDED: (
        "Phản ánh {code} được gia hạn đến {due}. {note}",
        "Report {code} was extended to {due}. {note}",
    ),
    EventType.RESOLVED: (
        "Phản ánh {code} đã được xử lý: {note} Mời bạn đánh giá kết quả.",
        "Report {code} was resolved: {note} Please rate the result.",
    ),
    EventType.REJECTED: (
        "Phản ánh {code} không được xử lý (lý do: {reason}). {note}",
        "Report {code} was declined (reason: {reason}). {note}",
    ),
    EventType.DUPLICATE: (
        "Phản ánh {code} trùng với phản ánh {parent}; bạn sẽ nhận thông báo của phản ánh đó.",
        "Report {code} duplicates report {parent}; you will follow that one.",
    ),
    EventType.REOPENED: ("Phản ánh {code} được mở lại để xử lý tiếp.", "Report {code} was reopened."),
    NoticeKind.STATUS_CHANGED: ("Phản ánh {code} chuyển sang trạng thái: {status}.", "Report {code} is now {status}."),
}
CITIZEN_KINDS = frozenset(MESSAGES) - {NoticeKind.STATUS_CHANGED}
SILENT = frozenset({EventType.INFO_PROVIDED, EventType.RATED})  # the citizen's own acts need no message


def kind_for(ev: Event) -> str | None:
    """The message a public event sends the citizen, if any: its own, or a generic one for
    any other status change (e.g. from an Open311 update or an automatic close)."""
    if not ev.public or ev.type in SILENT:
        return None
    if ev.type in CITIZEN_KINDS:
        return ev.type
    return NoticeKind.STATUS_CHANGED if ev.to_status and ev.to_status != ev.from_status else None


UNIT_KINDS = frozenset({EventType.ASSIGNED, EventType.TRANSFERRED, EventType.REASSIGNED, EventType.REOPENED})


class DeliveryError(Exception):
    """A channel did not accept the message (the job fails and RQ retries it)."""


class Undeliverable(DeliveryError):
    """The channel will never take this message (e.g. the push subscription is gone): no retry."""


def _when(value) -> str:
    if not value:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(deadlines.zone()).strftime("%H:%M %d/%m/%Y")


def citizen_fields(
    report: Report, ev: Event, unit_name: str | None, vi: bool, viewer: disclosure.Viewer = disclosure.Viewer.REPORTER
) -> dict:
    """The words a citizen's message may carry, as the public-data rule gives them to this viewer."""
    fields = disclosure.notice_fields(report, ev, unit_name, vi, viewer)
    return {**fields, "note": fields["note"] or "", "due": _when(fields["due"])}


def _payload(report: Report, ev: Event, kind: str, unit: Unit | None, viewer: disclosure.Viewer) -> dict:
    vi, en = MESSAGES[kind]
    fields_vi, fields_en = (
        citizen_fields(report, ev, unit.name if unit else None, lang, viewer) for lang in (True, False)
    )
    message_vi, message_en = vi.format(**fields_vi).strip(), en.format(**fields_en).strip()
    if kind == EventType.SUBMITTED and (ev.data or {}).get("photo_link") and viewer >= disclosure.Viewer.REPORTER:
        from fieldreport.services import calls  # at call time (see for_event)

        link = calls.photo_link(report.code)  # an operator took the report: photos from the caller's phone
        message_vi += f" Gửi ảnh hiện trường tại: {link}"
        message_en += f" Send photos of the place here: {link}"
    return {
        "kind": kind,
        "report_code": report.code,
        "status": report.status,
        "unit_code": unit.code if unit else None,
        "due_at": _iso(report.due_at),
        "citizen_due_at": _iso(report.citizen_due_at),
        "event_id": ev.id,
        "message_vi": message_vi,
        "message_en": message_en,
        **_links(report, ev, kind),
    }


def for_event(report: Report, ev: Event, kind: str) -> list[Notification]:
    """Write the notifications of one event (call inside the event's transaction).

    The reporter's message may carry what is addressed to them (the unit's question); a
    follower's carries only what the public may read."""
    from fieldreport.services import subscriptions  # at call time: intake → events → notify → public → intake

    cfg = current_app.config
    unit = db.session.get(Unit, report.unit_id) if report.unit_id else None
    reporter: list[tuple] = []
    followers: list[tuple] = []
    for sub in subscriptions.recipients(report, kind):
        if sub.channel == Channel.EMAIL and not cfg.get("SMTP_URL"):
            continue
        target = (sub.channel, sub.address if sub.channel != Channel.PUSH else f"push:{sub.id}", sub.id)
        (reporter if sub.role == SubscriberRole.REPORTER else followers).append(target)
    if cfg.get("NOTIFY_WEBHOOK_URL"):
        reporter.append((Channel.WEBHOOK, report.reporter_phone))
    if not reporter and not followers:
        reporter.append((Channel.LOG, f"report:{report.code}"))
    if kind in UNIT_KINDS and unit is not None and unit.email and cfg.get("SMTP_URL"):
        reporter.append((Channel.EMAIL, unit.email))  # the unit hears of new work in its queue
    rows = enqueue(report, ev, kind, _payload(report, ev, kind, unit, disclosure.Viewer.REPORTER), reporter)
    if followers:
        rows += enqueue(report, ev, kind, _payload(report, ev, kind, unit, disclosure.Viewer.PUBLIC), followers)
    return rows


def _links(report: Report, ev: Event, kind: str) -> dict:
    """Where the message points: the track page (the parent's for a duplicate), after photos."""
    from fieldreport.services import public  # at call time (see for_event)

    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    data = ev.data or {}
    out: dict[str, str | list[str]] = {"url": f"{base}/track/{report.code}"}
    if kind == EventType.DUPLICATE and data.get("parent_code"):
        out["url"] = f"{base}/track/{data['parent_code']}"
    if kind == EventType.RESOLVED:
        out["photos"] = [base + public.photo_path(report.code, pid, "display") for pid in data.get("photo_ids") or []]
    return out


def enqueue(report: Report, ev: Event | None, kind: str, payload: dict, targets: list[tuple]) -> list[Notification]:
    """Write one notification per (channel, recipient[, subscription id]) and its delivery job,
    in this transaction (`ev` None: a message that answers no event, e.g. a supporter's receipt)."""
    rows = [
        Notification(
            report_id=report.id,
            event_id=ev.id if ev else None,
            channel=t[0],
            recipient=t[1],
            subscription_id=t[2] if len(t) > 2 else None,
            kind=kind,
            payload=payload,
        )
        for t in targets
    ]
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        outbox.record(*jobs.DELIVER_NOTIFICATION, row.id)
    return rows


def _iso(value) -> str | None:
    return value.isoformat() if value else None


# -- delivery ----------------------------------------------------------------------------


def deliver(notification_id: int) -> str:
    """Send one notification; idempotent (a sent row is not sent again).

    The row is locked while sending so that two workers never send it twice at once.
    """
    row = db.session.scalar(
        select(Notification).where(Notification.id == notification_id).with_for_update(skip_locked=True)
    )
    if row is None or row.status == NotificationState.SENT:
        uow.commit()  # nothing to do: end the transaction
        return "skipped"
    sub = db.session.get(Subscription, row.subscription_id) if row.subscription_id else None
    if sub is not None and sub.unsubscribed_at is not None:
        row.status = NotificationState.CANCELLED  # turned off after the message was written
        uow.commit()
        return NotificationState.CANCELLED
    send = CHANNELS.get(row.channel)
    try:
        if send is None:
            raise DeliveryError(f"unknown channel {row.channel!r}")
        send(row, sub) if sub is not None else send(row)
    except Undeliverable as exc:
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        row.status = NotificationState.FAILED
        uow.commit()
        return NotificationState.FAILED
    except Exception as exc:
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        job = get_current_job()
        if job is None or not job.retries_left:
            row.status = NotificationState.FAILED
        uow.commit()
        raise
    row.attempts += 1
    row.status = NotificationState.SENT
    row.sent_at = utcnow()
    row.last_error = None
    uow.commit()
    return NotificationState.SENT


def _text(row: Notification, lang: str = "vi") -> str:
    msg = row.payload.get("message_en" if lang == "en" else "message_vi") or row.payload.get("message_vi", "")
    return msg.strip()


def _send_push(row: Notification, sub: Subscription) -> None:
    """The service worker shows `title` and `body` and opens `url` when tapped."""
    from fieldreport.services import subscriptions  # at call time (see for_event)

    p = row.payload
    body = _text(row, sub.lang)
    message = {
        "title": ("Report " if sub.lang == "en" else "Phản ánh ") + p.get("report_code", ""),
        "body": body[:1000],
        "url": p.get("url"),
        "tag": p.get("report_code"),
        "kind": row.kind,
        "code": p.get("report_code"),
        "status": p.get("status"),
        "image": (p.get("photos") or [None])[0],
        "unsubscribe": subscriptions.unsubscribe_token(sub.id),
    }
    try:
        push.send(sub.address, sub.keys or {}, message)
    except push.PushGone as exc:
        sub.unsubscribed_at = utcnow()  # the browser dropped it: stop writing to it
        raise Undeliverable(str(exc)) from exc
    except push.PushError as exc:
        raise DeliveryError(str(exc)) from exc


SMS_MAX_CHARS = 320  # two or three SMS segments: the unit's words, then the link


def _send_sms(row: Notification, sub: Subscription) -> None:
    url = row.payload.get("url") or ""
    message = _text(row, sub.lang)
    room = SMS_MAX_CHARS - len(url) - 1
    if len(message) > room:
        message = message[: max(0, room - 1)].rstrip() + "…"
    text = current_app.config["SMS_NOTIFY_TEMPLATE"].format(message=message, url=url).strip()
    try:
        sms.send(sub.address, text, ref=f"notification-{row.id}")
    except sms.SmsError as exc:
        raise DeliveryError(str(exc)) from exc


def _send_zalo(row: Notification, sub: Subscription) -> None:
    """A message to the Zalo user who sent the report, as the OA (its conversation's words)."""
    from fieldreport.services import zalo, zalo_api  # at call time: zalo → intake → events → notify

    if not zalo.enabled():
        raise Undeliverable("the Zalo channel is off (ZALO_OA_SECRET is not set)")
    url = row.payload.get("url") or ""
    text = f"{_text(row, sub.lang)} {url}".strip()
    try:
        zalo_api.send_text(sub.address, text)
    except zalo_api.ZaloError as exc:
        raise DeliveryError(str(exc)) from exc


def _send_log(row: Notification) -> None:
    log.info("notify %s %s: %s", row.kind, row.recipient, row.payload.get("message_vi"))


def _send_email(row: Notification, sub: Subscription | None = None) -> None:
    from fieldreport.services import subscriptions  # at call time (see for_event)

    url = urlparse(current_app.config["SMTP_URL"])
    params = {k: v[-1] for k, v in parse_qs(url.query).items()}
    p = row.payload
    msg = EmailMessage()
    msg["From"] = params.get("from", "fieldreport@localhost")
    msg["To"] = row.recipient
    msg["Subject"] = f"[{p.get('report_code')}] {p.get('message_vi', '')[:120]}"
    lines = [p.get("message_vi", ""), ""]
    lines += [f"Ảnh sau khi xử lý / after photo: {u}" for u in p.get("photos") or []]
    if p.get("url"):
        lines += [f"Theo dõi / track: {p['url']}", ""]
    lines += [p.get("message_en", "")]
    if sub is not None:  # one-click unsubscribe (RFC 8058) from this report's e-mails
        base = current_app.config.get("PUBLIC_BASE_URL") or ""
        stop = f"{base}/api/v1/subscriptions/{subscriptions.unsubscribe_token(sub.id)}/unsubscribe"
        msg["List-Unsubscribe"] = f"<{stop}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        lines += ["", f"Ngừng nhận e-mail về phản ánh này / unsubscribe: {stop}"]
    msg.set_content("\n".join(lines) + "\n")
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
    body = json.dumps({"id": row.id, "recipient": row.recipient, **row.payload}, ensure_ascii=False).encode()
    signature = security.keyed(current_app.config["SECRET_KEY"], body.decode())
    try:
        resp = _http.request(
            "POST",
            current_app.config["NOTIFY_WEBHOOK_URL"],
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Fieldreport-Delivery": str(row.id),
                "X-Fieldreport-Signature": f"sha256={signature}",
            },
        )
    except urllib3.exceptions.HTTPError as exc:
        raise DeliveryError(f"webhook unreachable: {exc}") from exc
    if resp.status >= 300:
        raise DeliveryError(f"webhook answered HTTP {resp.status}")


# A channel sends one row; those fed by a subscription also get it (its address and keys).
CHANNELS: dict[str, Callable[..., None]] = {
    Channel.LOG: _send_log,
    Channel.EMAIL: _send_email,
    Channel.WEBHOOK: _send_webhook,
    Channel.PUSH: _send_push,
    Channel.SMS: _send_sms,
    Channel.ZALO: _send_zalo,
}
