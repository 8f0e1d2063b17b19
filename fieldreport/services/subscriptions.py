"""Who hears about a report and how: Web Push, SMS, e-mail, Zalo; unsubscribing.

The reporter and followers who asked subscribe per report and per channel. The reporter's
e-mail given with the report and the phone of a signed-in reporter are channels by default
(rows made when the first message goes out), so they can be turned off like any other.
A report from a Zalo conversation subscribes its Zalo user, and one an operator took for a
caller subscribes the caller's phone, in the report's own transaction (intake.Submission.subscribe).
Each subscription has its own unsubscribe token, `<id>.<HMAC of the id>` (nothing to store,
nothing to guess): e-mails carry it as a one-click List-Unsubscribe link, a browser keeps its
push subscription's.
"""

from __future__ import annotations

import hmac
import re
from fnmatch import fnmatch
from urllib.parse import urlparse

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from fieldreport import ratelimit, security
from fieldreport.errors import Forbidden, NotFound, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import OPERATOR_CHANNELS, Channel, EventType, Report, Role, SubscriberRole, Subscription, User
from fieldreport.models.base import utcnow
from fieldreport.services import disclosure, public, uow

CHANNELS = (Channel.PUSH, Channel.SMS, Channel.EMAIL)
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_ID = re.compile(r"[0-9]{1,18}")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def _b64len(value: str) -> int:
    return len(value.rstrip("=")) * 3 // 4


def _push_address(endpoint: str | None, keys: dict | None) -> tuple[str, dict]:
    """A push subscription as browsers give it, checked: an allowed push service, real keys."""
    try:
        url = urlparse(endpoint or "")
    except ValueError:  # e.g. an unclosed IPv6 bracket
        url = urlparse("")
    origin = f"{url.scheme}://{url.netloc}"
    allowed = [o.strip() for o in (current_app.config.get("PUSH_ALLOWED_ORIGINS") or "").split(",") if o.strip()]
    if (
        not endpoint
        or url.scheme not in ("https", "http")
        or not url.netloc
        or not any(fnmatch(origin, o) for o in allowed)
    ):
        raise Unprocessable(
            "push_endpoint_not_allowed",
            "This push endpoint is not a known push service.",
            "Địa chỉ nhận thông báo đẩy không thuộc dịch vụ được chấp nhận.",
            field="endpoint",
        )
    p256dh, auth = (keys or {}).get("p256dh") or "", (keys or {}).get("auth") or ""
    # An uncompressed P-256 point is 65 bytes; the auth secret 16.
    if not (_B64URL.match(p256dh) and _b64len(p256dh) == 65 and _B64URL.match(auth) and _b64len(auth) == 16):
        raise Unprocessable(
            "push_keys_invalid",
            "The push subscription's keys are not valid.",
            "Khóa của đăng ký nhận thông báo đẩy không hợp lệ.",
            field="keys",
        )
    return endpoint, {"p256dh": p256dh, "auth": auth}


def subscribe(
    code: str,
    channel: str,
    *,
    token: str | None,
    user: User | None,
    client_key: str,
    lang: str,
    endpoint: str | None = None,
    keys: dict | None = None,
    email: str | None = None,
) -> Subscription:
    """Subscribe to a report's news on one channel (see unsubscribe_token for its way out)."""
    ratelimit.hit(f"subscribe:{client_key}", current_app.config["SUBSCRIBE_RATE_PER_HOUR"])
    report, viewer = public.visible(code, token, user.id if user else None)
    role = SubscriberRole.REPORTER if viewer >= disclosure.Viewer.REPORTER else SubscriberRole.FOLLOWER
    stored_keys: dict = {}
    if channel == Channel.PUSH:
        address, stored_keys = _push_address(endpoint, keys)
    elif channel == Channel.SMS:
        if user is None or not user.phone or user.role != Role.CITIZEN:
            raise Forbidden(
                "sms_needs_signin",
                "Sign in with your phone number to get SMS.",
                "Cần đăng nhập bằng số điện thoại để nhận tin nhắn SMS.",
            )
        address = user.phone
    elif channel == Channel.EMAIL:
        address = (email or "").strip()
        if not _EMAIL.match(address) or len(address) > 240:
            raise Unprocessable(
                "invalid_email", "This is not a valid e-mail address.", "Địa chỉ e-mail không hợp lệ.", field="email"
            )
    else:
        raise Unprocessable(
            "unknown_channel",
            f"Channel must be one of {', '.join(CHANNELS)}.",
            "Kênh nhận thông báo không hợp lệ.",
            field="channel",
        )
    values = dict(
        report_id=report.id,
        channel=channel,
        address=address,
        keys=stored_keys,
        role=role,
        lang="en" if lang == "en" else "vi",
        created_at=utcnow(),
        unsubscribed_at=None,
    )
    stmt = pg_insert(Subscription).values(**values)
    # Subscribing again turns the channel back on; a follower who turns out to be the reporter
    # becomes the reporter.
    stmt = stmt.on_conflict_do_update(
        constraint="uq_subscriptions_report_channel_address",
        set_={
            "keys": stmt.excluded["keys"],
            "lang": stmt.excluded.lang,
            "unsubscribed_at": None,
            "role": SubscriberRole.REPORTER if role == SubscriberRole.REPORTER else Subscription.role,
        },
    )
    sub_id = db.session.execute(stmt.returning(Subscription.id)).scalar_one()
    uow.commit()
    return db.session.get_one(Subscription, sub_id)


def unsubscribe_token(sub_id: int) -> str:
    return f"{sub_id}.{security.keyed(current_app.config['SECRET_KEY'], 'unsubscribe', str(sub_id))[:32]}"


def unsubscribe(token: str) -> Subscription:
    """Turn off the one subscription this unsubscribe token names."""
    sub_id = (token or "").partition(".")[0]
    sub = None
    if _ID.fullmatch(sub_id) and hmac.compare_digest(unsubscribe_token(int(sub_id)).encode(), token.encode()):
        sub = db.session.get(Subscription, int(sub_id))
    if sub is None:
        raise NotFound(
            "subscription_not_found", "No subscription has this token.", "Không tìm thấy đăng ký nhận thông báo này."
        )
    sub.unsubscribed_at = sub.unsubscribed_at or utcnow()
    uow.commit()
    return sub


def reporter_channels(report: Report) -> None:
    """Make the reporter's default channels rows (e-mail given, signed-in phone), once."""
    rows = []
    if report.reporter_email:
        rows.append((Channel.EMAIL, report.reporter_email.strip()))
    if report.reporter_user_id:
        phone = db.session.scalar(
            select(User.phone).where(User.id == report.reporter_user_id, User.role == Role.CITIZEN)
        )
        if phone:
            rows.append((Channel.SMS, phone))
    for channel, address in rows:
        db.session.execute(
            pg_insert(Subscription)
            .values(
                report_id=report.id,
                channel=channel,
                address=address,
                keys={},
                role=SubscriberRole.REPORTER,
                lang="vi",
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(constraint="uq_subscriptions_report_channel_address")
        )


def mine(code: str, token: str | None, user: User | None) -> tuple[Report, list[Subscription]]:
    """The reporter's subscriptions of a report (403 for anyone else)."""
    report, viewer = public.visible(code, token, user.id if user else None)
    if viewer < disclosure.Viewer.REPORTER:
        raise Forbidden(
            "not_your_report",
            "Only the reporter manages these notifications.",
            "Chỉ người gửi phản ánh mới quản lý được các thông báo này.",
        )
    reporter_channels(report)
    rows = db.session.scalars(
        select(Subscription)
        .where(Subscription.report_id == report.id, Subscription.role == SubscriberRole.REPORTER)
        .order_by(Subscription.id)
    ).all()
    return report, list(rows)


def set_channel(code: str, channel: str, on: bool, token: str | None, user: User | None) -> list[Subscription]:
    """The reporter turns one channel of one report off (or back on)."""
    report, _rows = mine(code, token, user)
    if channel not in CHANNELS:
        raise Unprocessable(
            "unknown_channel",
            f"Channel must be one of {', '.join(CHANNELS)}.",
            "Kênh nhận thông báo không hợp lệ.",
            field="channel",
        )
    db.session.execute(
        update(Subscription)
        .where(
            Subscription.report_id == report.id,
            Subscription.role == SubscriberRole.REPORTER,
            Subscription.channel == channel,
        )
        .values(unsubscribed_at=None if on else utcnow())
    )
    uow.commit()
    return mine(code, token, user)[1]


def recipients(report: Report, kind: str) -> list[Subscription]:
    """The active subscriptions a message of this kind goes to (SMS only for SMS_EVENTS; Zalo
    for everything after the receipt, which the conversation itself answers with the code)."""
    reporter_channels(report)
    sms_kinds = {k.strip() for k in (current_app.config.get("SMS_EVENTS") or "").split(",") if k.strip()}
    rows = db.session.scalars(
        select(Subscription)
        .where(Subscription.report_id == report.id, Subscription.unsubscribed_at.is_(None))
        .order_by(Subscription.id)
    ).all()
    if report.channel in OPERATOR_CHANNELS:
        sms_kinds.add(EventType.SUBMITTED)  # a caller has no screen showing the code: the receipt is an SMS
    return [
        s
        for s in rows
        if (s.channel != Channel.SMS or kind in sms_kinds)
        and (s.channel != Channel.ZALO or kind != EventType.SUBMITTED)
    ]
