"""Reports an operator takes for a citizen: a hotline call or a visit to the reception desk.

The report goes through the same intake as the app's (intake.submit), with channel
`hotline` or `counter` and the operator as the intake actor (an event actor never leaves the
staff side: services/disclosure.py). The caller's phone, when given, is checked with
phonenumbers (Vietnam), kept as the reporter's (private) and subscribed to the report's
news by SMS in the report's own transaction; the receipt SMS carries the tracking code and,
if the caller wishes, a signed link to add photos from their phone (add_photos()).
A repeat call about a report already open nearby makes the caller a supporter of that report
(services/citizen's follow and additions) instead of a duplicate.
"""

from __future__ import annotations

import hmac
import secrets
import time
import unicodedata
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on

from fieldreport import contact, security
from fieldreport.errors import Forbidden, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import (
    OPEN_STATUSES,
    OPERATOR_CHANNELS,
    Area,
    Channel,
    EventType,
    NoticeKind,
    Photo,
    PhotoKind,
    Report,
    Role,
    SubscriberRole,
    Subscription,
    User,
)
from fieldreport.services import citizen, events, intake, notify, photos, privacy, public, uow, workflow

CHANNELS = OPERATOR_CHANNELS  # the intake channels a call is recorded under
SEARCH_LIMIT = 8


@dataclass
class Call:
    """What the operator typed (strings as in the form; the place as chosen on the page)."""

    channel: str
    category: str
    lat: float | None
    lon: float | None
    phone: str | None = None
    name: str | None = None
    address_hint: str | None = None
    description: str | None = None
    attributes: dict = field(default_factory=dict)
    photo_link: bool = False
    call_id: str | None = None  # the page's one-time key: a double Enter makes one report


def caller_phone(raw: str | None) -> str | None:
    """The caller's number in E.164, None when none was given; 422 when it is not a phone."""
    raw = (raw or "").strip()
    if not raw:
        return None
    phone = contact.phone(raw)
    if phone is None:
        raise Unprocessable(
            "invalid_phone",
            f"{raw!r} is not a valid phone number.",
            f"{raw!r} không phải số điện thoại hợp lệ.",
            field="phone",
        )
    return phone


def record(call: Call, operator: User) -> dict:
    """Make the report of a call; returns its code and what the caller will be sent."""
    if call.channel not in CHANNELS:
        raise Unprocessable(
            "bad_channel",
            f"channel must be one of {', '.join(CHANNELS)}.",
            f"Kênh tiếp nhận phải là một trong {', '.join(CHANNELS)}.",
        )
    phone = caller_phone(call.phone)
    if call.photo_link and phone is None:
        raise Unprocessable(
            "photo_link_needs_phone",
            "The photo link is sent by SMS: enter the caller's phone.",
            "Đường dẫn gửi ảnh được gửi bằng SMS: cần nhập số điện thoại người gọi.",
            field="phone",
        )
    receipt = intake.submit(
        intake.Submission(
            category=call.category,
            lat=call.lat,
            lon=call.lon,
            description=(call.description or "").strip() or None,
            address_hint=(call.address_hint or "").strip() or None,
            reporter_name=(call.name or "").strip() or None,
            reporter_phone=phone,
            attributes=call.attributes,
            channel=call.channel,
            idempotency_key=call.call_id or None,
            client_ip=f"operator:{operator.id}",
            per_ip_limit=False,
            intake_user=operator,
            subscribe=[(Channel.SMS, phone)] if phone else [],
            notice_version=privacy.CALL_NOTICE,
            contact_consent=True,  # read out from the call page
            event_data={"photo_link": bool(call.photo_link)},
        )
    )
    code = receipt.body["code"]
    return {
        "code": code,
        "sms_to": phone,
        "photo_link": photo_link(code) if call.photo_link else None,
        "replayed": receipt.replayed,
    }


def support(code: str, phone_raw: str | None, note: str | None, operator: User) -> dict:
    """A repeat call: the caller supports the open report `code` (counted once per phone) and,
    with a phone, hears its news by SMS, starting with a receipt naming the report."""
    phone = caller_phone(phone_raw)
    report, _ = public.visible(code)
    if report.status not in OPEN_STATUSES:
        raise Unprocessable(
            "report_not_open",
            "That report is not open any more: record a new one.",
            "Phản ánh này đã kết thúc: hãy ghi nhận phản ánh mới.",
        )
    secret = current_app.config["SECRET_KEY"]
    # One supporter per phone; a caller without one is a new supporter each call.
    key = security.keyed(secret, "caller", phone or secrets.token_hex(16))[:64]
    note = (note or "").strip() or None
    if note is not None:
        result = citizen.add_to(report.code, key, note, [], rate_key=f"caller:{key}")
        count = result["followers_count"]
    else:
        count, _ = citizen.follow(report.code, key)
    if phone is not None:
        report = public.find(report.code)
        sub = _subscribe(report, phone)
        vi = f"Cảm ơn bạn đã báo. Sự việc đã có phản ánh {report.code}; ý kiến của bạn đã được ghi nhận."
        en = f"Thank you. This is already report {report.code}; your call was added to it."
        base = current_app.config.get("PUBLIC_BASE_URL") or ""
        notify.enqueue(
            report,
            None,
            NoticeKind.SUPPORTED,
            {
                "kind": NoticeKind.SUPPORTED,
                "report_code": report.code,
                "status": report.status,
                "message_vi": vi,
                "message_en": en,
                "url": f"{base}/track/{report.code}",
            },
            [(Channel.SMS, phone, sub.id)],
        )
        uow.commit()
    return {"code": report.code, "followers_count": count, "sms_to": phone}


def _subscribe(report: Report, phone: str) -> Subscription:
    sub = db.session.scalar(
        select(Subscription).where(
            Subscription.report_id == report.id, Subscription.channel == Channel.SMS, Subscription.address == phone
        )
    )
    if sub is None:
        sub = Subscription(
            report_id=report.id, channel=Channel.SMS, address=phone, keys={}, role=SubscriberRole.FOLLOWER, lang="vi"
        )
        db.session.add(sub)
        db.session.flush()
    sub.unsubscribed_at = None  # calling again about it: the caller wants its news
    return sub


# -- the signed link to add photos ----------------------------------------------------------


def _signature(code: str, expires: int) -> str:
    return security.keyed(current_app.config["SECRET_KEY"], "call-photos", code, str(expires))[:32]


def photo_token(code: str, now: float | None = None) -> str:
    days = current_app.config["CALL_PHOTO_LINK_DAYS"]
    expires = int((now or time.time()) + days * 86400)
    return f"{expires}.{_signature(code, expires)}"


def photo_link(code: str) -> str:
    """The caller's link to add photos to their report (signed, valid CALL_PHOTO_LINK_DAYS)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    return f"{base}/r/{code}/photos?t={photo_token(code)}"


def check_photo_token(code: str, token: str | None) -> None:
    """403 unless `token` is this report's photo link, unexpired."""
    expires, _, sig = (token or "").partition(".")
    ok = expires.isdigit() and hmac.compare_digest(sig.encode(), _signature(code, int(expires)).encode())
    if not ok:
        raise Forbidden(
            "bad_photo_link",
            "This photo link is not valid for this report.",
            "Đường dẫn gửi ảnh không đúng với phản ánh này.",
        )
    if int(expires) < time.time():
        raise Forbidden("photo_link_expired", "This photo link has expired.", "Đường dẫn gửi ảnh đã hết hạn.")


def add_photos(code: str, token: str | None, files: list[tuple[str | None, bytes]]) -> dict:
    """The caller's photos, through the link of their receipt SMS: the report's own photos
    (shown as the app's are), checked and stored like every upload; one commit."""
    check_photo_token(code, token)
    report = public.find(code, lock=True)
    if not files:
        raise Unprocessable("photo_required", "Choose at least one photo.", "Hãy chọn ít nhất một ảnh.", field="photos")
    have = db.session.scalar(select(func.count()).select_from(Photo).where(Photo.report_id == report.id)) or 0
    photos.check_count(have + len(files))
    rows = workflow.save_photos(report, [data for _, data in files], kind=PhotoKind.BEFORE)
    events.record(report, EventType.PHOTOS_ADDED, actor=Role.CITIZEN, data={"photos": len(rows), "via": "call_link"})
    uow.commit()
    return {"code": report.code, "photos": len(rows)}


# -- finding the place by name ----------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without Vietnamese diacritics ("Tân Lập" → "tan lap"): operators type fast."""
    text = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).lower().split())


def search_places(q: str) -> list[dict]:
    """Communes/wards of the province whose name holds the words typed (with or without
    accents), then addresses given with earlier reports; each with a point to pin."""
    words = fold(q).split()
    if not words or len(q) > 200:
        return []
    province = current_app.config["PROVINCE_CODE"]
    point = func.ST_PointOnSurface(Area.geom)
    communes = db.session.execute(
        select(Area.code, Area.full_name, func.ST_Y(point), func.ST_X(point))
        .where(Area.level == "commune", Area.province_code == province)
        .order_by(Area.full_name)
    ).all()
    out = [
        {"kind": "commune", "label": name, "commune": {"code": c, "name": name}, "lat": lat, "lon": lon}
        for c, name, lat, lon in communes
        if all(w in fold(name) for w in words)
    ][:SEARCH_LIMIT]
    if len(out) < SEARCH_LIMIT and len(q.strip()) >= 3:
        like = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = db.session.execute(
            select(
                Report.address_hint, func.ST_Y(Report.location), func.ST_X(Report.location), Area.code, Area.full_name
            )
            .outerjoin(Area, Area.id == Report.area_id)  # every report is in the deployment's province
            .where(Report.address_hint.ilike(like))
            .ext(distinct_on(Report.address_hint))
            .order_by(Report.address_hint, Report.id.desc())
            .limit(SEARCH_LIMIT - len(out))
        ).all()
        out += [
            {
                "kind": "address",
                "label": f"{hint} — {name}" if name else hint,
                "address": hint,
                "commune": {"code": code, "name": name} if code else None,
                "lat": lat,
                "lon": lon,
            }
            for hint, lat, lon, code, name in rows
        ]
    return out
