"""Citizen intake: check a submission, store its photos, then one transaction for report, history, jobs.

Order matters for "never lost": photo bytes reach the bucket before the report row commits
(storage down → 503, nothing in the DB); the routing and derivative jobs are outbox rows in the
report's transaction and are sent to RQ after commit (Redis down → the report is still accepted,
the outbox sweeper sends the jobs when Redis is back).
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fieldreport import geo, ratelimit, security
from fieldreport import queue as jobs
from fieldreport.errors import Invalid, Unauthorized, Unprocessable
from fieldreport.extensions import db, storage
from fieldreport.models import Category, EventType, Report, Role, Status, SubscriberRole, Subscription, Upload, User
from fieldreport.models.base import utcnow
from fieldreport.models.vocab import IntakeChannel
from fieldreport.services import communes, events, idempotency, outbox, photos, provinces, uow

SCOPE = "reports:create"
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 10  # 50 random bits: unguessable, still easy to read out on the phone
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
TEXT_LIMITS = {
    "description": 4000,
    "address_hint": 500,
    "reporter_name": 200,
    "reporter_phone": 40,
    "reporter_email": 240,
}


@dataclass
class Submission:
    """What a client sent, parsed but not yet checked against the domain."""

    category: str
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    description: str | None = None
    address_hint: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    attributes: dict = field(default_factory=dict)
    photos: list[tuple[str | None, bytes]] = field(default_factory=list)  # (filename, bytes)
    upload_ids: list[str] = field(default_factory=list)
    citizen_token: str | None = None  # one the app already holds: groups its reports
    idempotency_key: str | None = None
    client_ip: str = ""
    user: User | None = None
    channel: str = IntakeChannel.APP
    per_ip_limit: bool = True  # False for an Open311 client: its API key is limited instead
    # (channel, address) the reporter hears this report's news on from the start, written in
    # the report's transaction so that no event is missed: a Zalo user, a caller's phone.
    subscribe: list[tuple[str, str]] = field(default_factory=list)
    intake_user: User | None = None  # the operator who took a call: the intake actor, never public
    event_data: dict = field(default_factory=dict)  # more about the receipt, kept in its event
    location_source: str | None = None  # "exif": the citizen took the photo's position as offered;
    # "address": an Open311 client sent address_string and the position was found from it
    media_url: str | None = None  # an Open311 client's link to its own photo, kept in the attributes
    notice_version: str | None = None  # the privacy notice the reporter was shown
    contact_consent: bool | None = None  # ticked "use my contact details" under that notice
    province: str | None = None  # the province the client named (Open311 jurisdiction_id): the point's must match


@dataclass
class Receipt:
    status: int
    body: dict
    replayed: bool = False


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def derived_token(code: str) -> str:
    """The citizen token of a report whose app sent none: an HMAC of its code.

    Only its SHA-256 is stored with the report; deriving it lets an idempotent replay return
    the same token without the token ever being written down in clear.
    """
    return security.keyed(current_app.config["SECRET_KEY"], "citizen-token", code)


def client_key(ip: str) -> str:
    """A keyed hash of the client address: rate-limit buckets and follower keys hold no raw IP."""
    return security.keyed(current_app.config["SECRET_KEY"], "ip", ip or "-")[:32]


def submit(s: Submission) -> Receipt:
    """Accept a report: 201 with its code and citizen token, or the first answer on a retry."""
    cfg = current_app.config
    if s.citizen_token is not None and not TOKEN_RE.match(s.citizen_token):
        raise Invalid(
            "invalid_citizen_token",
            "X-Citizen-Token must be 32–128 URL-safe characters.",
            "X-Citizen-Token phải gồm 32–128 ký tự an toàn cho URL.",
        )
    key = idempotency.check_key(s.idempotency_key) if s.idempotency_key is not None else None
    scope = SCOPE if s.user is None else f"{SCOPE}:user:{s.user.id}"
    request_hash = idempotency.fingerprint(_fingerprint(s)) if key else ""
    if key and (first := idempotency.prior(scope, key, request_hash)):
        return _replay(first, s)  # a retry is answered before it counts against the rate limit
    if s.user is not None:  # signed in: per account, whatever the address (many phones share
        ratelimit.hit(f"submit-user:{s.user.id}", cfg["SUBMIT_RATE_PER_HOUR"])  # a carrier's NAT)
    elif s.per_ip_limit:
        ratelimit.hit(f"submit:{client_key(s.client_ip)}", cfg["SUBMIT_RATE_PER_HOUR"])
    category = _category(s.category)
    attributes = _attributes(category, s.attributes)
    _check_text(s)
    _check_contact(category, s)
    _check_consent(s)
    incoming = _photos(s)
    # A call has no photo to attach: the caller may send one later by the SMS link (services/calls).
    if category.photo_required and not incoming and s.intake_user is None:
        raise Unprocessable(
            "photo_required", "This category needs at least one photo.", "Loại phản ánh này cần ít nhất một ảnh."
        )
    lon, lat, source = _location(s, incoming)
    area_id, province = service_area(lon, lat)
    if s.province is not None and province != s.province:
        raise Invalid(
            "outside_jurisdiction",
            f"The place is in province {province}, not in the jurisdiction named ({s.province}).",
            f"Vị trí thuộc tỉnh {province}, không thuộc jurisdiction_id đã nêu ({s.province}).",
            province=province,
        )
    photos.store_originals(incoming)
    for attempt in range(3):
        try:
            return _create(
                s, category, attributes, incoming, lon, lat, source, area_id, province, scope, key, request_hash
            )
        except IntegrityError as exc:  # a tracking-code collision (1 in 10^15): draw again
            uow.rollback()
            if "uq_reports_code" not in str(exc.orig) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _create(
    s, category, attributes, incoming, lon, lat, source, area_id, province, scope, key, request_hash
) -> Receipt:
    if key and (first := idempotency.claim(scope, key, request_hash)):
        return _replay(first, s)
    code = new_code()
    token = s.citizen_token or derived_token(code)
    report = Report(
        code=code,
        citizen_token_hash=security.token_hash(token),
        category_id=category.id,
        status=Status.SUBMITTED,
        description=s.description or None,
        address_hint=s.address_hint or None,
        attributes={**attributes, "media_url": s.media_url} if s.media_url else attributes,
        location=geo.point(lon, lat),
        accuracy_m=s.accuracy_m,
        location_source=source,
        area_id=area_id,
        province_code=province,
        reporter_name=s.reporter_name or None,
        reporter_phone=s.reporter_phone or None,
        reporter_email=s.reporter_email or None,
        reporter_user_id=s.user.id if s.user else None,
        channel=s.channel,
        notice_version=s.notice_version,
    )
    db.session.add(report)
    db.session.flush()
    for sub_channel, address in s.subscribe:
        db.session.add(
            Subscription(
                report_id=report.id,
                channel=sub_channel,
                address=address,
                keys={},
                role=SubscriberRole.REPORTER,
                lang="vi",
            )
        )
    # The photo rows (and subscriptions) go in with the first photo's flush, before the event,
    # so that the outbox rows of routing, derivatives and notifications are one INSERT at commit.
    attached = [photos.attach(item, report.id) for item in incoming]
    db.session.flush()
    # Taken by an operator for a caller: the operator is the intake actor (an event's actor
    # never leaves the staff side: services/disclosure.py).
    by = {"user": s.intake_user} if s.intake_user else {"user": s.user, "actor": None if s.user else Role.CITIZEN}
    events.record(
        report,
        EventType.SUBMITTED,
        **by,
        to_status=Status.SUBMITTED,
        data={**s.event_data, "channel": s.channel, "photos": len(incoming), "location_source": source},
    )
    outbox.record(*jobs.ROUTE_REPORT, report.id)
    for photo in attached:
        outbox.record(*jobs.MAKE_DERIVATIVES, photo.id)
    body = {
        "code": code,
        "status": report.status,
        "location": {"lat": lat, "lon": lon, "source": source},
        "links": {"self": f"/api/v1/reports/{code}", "track": "/api/v1/me/reports"},
    }
    if key:
        idempotency.complete(scope, key, 201, body)  # never the token: it is derived on replay
    uow.commit()  # commit, then send every outbox row of this transaction to RQ
    photos.forget_uploads(incoming)
    return _receipt(201, body, token)


def _receipt(status: int, body: dict, token: str, replayed: bool = False) -> Receipt:
    return Receipt(
        status,
        {"code": body["code"], "citizen_token": token, **{k: v for k, v in body.items() if k != "code"}},
        replayed,
    )


def _replay(first: dict, s: Submission) -> Receipt:
    body = first["body"]
    return _receipt(first["status"], body, s.citizen_token or derived_token(body["code"]), True)


def _fingerprint(s: Submission) -> dict:
    return {
        "category": s.category,
        "lat": s.lat,
        "lon": s.lon,
        "accuracy_m": s.accuracy_m,
        "description": s.description,
        "address_hint": s.address_hint,
        "reporter": [s.reporter_name, s.reporter_phone, s.reporter_email],
        "attributes": s.attributes,
        "uploads": s.upload_ids,
        "channel": s.channel,
        "photos": [hashlib.sha256(data).hexdigest() for _, data in s.photos],
        "token": security.token_hash(s.citizen_token) if s.citizen_token else None,
        **({"province": s.province} if s.province else {}),  # absent: the fingerprints stored before
    }


def _category(code: str) -> Category:
    category = db.session.scalar(select(Category).where(Category.code == code))
    if category is None or not category.active:
        raise Unprocessable(
            "unknown_category",
            f"Unknown or inactive category: {code!r}.",
            f"Loại phản ánh không tồn tại hoặc đã ngừng: {code!r}.",
            field="category",
        )
    return category


def _attributes(category: Category, raw: dict) -> dict:
    """Check Open311-style attributes against the category's definitions."""
    defs = {a["code"]: a for a in category.attributes or []}
    out = {}
    for code, value in (raw or {}).items():
        spec = defs.get(code)
        if spec is None:
            raise Unprocessable(
                "unknown_attribute",
                f"Unknown attribute {code!r} for this category.",
                f"Thuộc tính {code!r} không thuộc loại phản ánh này.",
                attribute=code,
            )
        out[code] = _attribute_value(spec, value)
    for code, spec in defs.items():
        if spec.get("required") and code not in out:
            raise Unprocessable(
                "attribute_required",
                f"Attribute {code!r} is required.",
                f"Thiếu thuộc tính bắt buộc {code!r}.",
                attribute=code,
            )
    return out


def _attribute_value(spec: dict, value):
    code, kind = spec["code"], spec.get("datatype", "string")
    keys = [str(v["key"]) for v in spec.get("values") or []]
    try:
        if kind == "number":
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
            return number
        if kind == "singlevaluelist":
            if str(value) not in keys:
                raise ValueError
            return str(value)
        if kind == "datetime":
            return _datetime_attribute(value)
        if kind == "multivaluelist":
            values = [str(v) for v in (value if isinstance(value, list) else str(value).split(","))]
            if not set(values) <= set(keys):
                raise ValueError
            return values
        text = str(value)
        if len(text) > 1000 or "\x00" in text:  # PostgreSQL cannot store NUL
            raise ValueError
        return text
    except (TypeError, ValueError):
        raise Unprocessable(
            "invalid_attribute",
            f"Attribute {code!r} has an invalid value.",
            f"Thuộc tính {code!r} có giá trị không hợp lệ.",
            attribute=code,
        ) from None


def _datetime_attribute(value) -> str:
    """An ISO 8601 / W3C date or datetime, kept as sent; ValueError for anything else."""
    text = str(value).strip()
    if not 10 <= len(text) <= 40:
        raise ValueError(text)
    datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    return text


def _check_text(s: Submission) -> None:
    for name, limit in TEXT_LIMITS.items():
        value = getattr(s, name)
        if value is not None and "\x00" in value:
            raise Unprocessable(
                "invalid_text", f"{name} contains a NUL character.", f"Trường {name} chứa ký tự NUL.", field=name
            )
        if value is not None and len(value) > limit:
            raise Unprocessable(
                "text_too_long",
                f"{name} is longer than {limit} characters.",
                f"Trường {name} dài quá {limit} ký tự.",
                field=name,
                max_length=limit,
            )


def _check_consent(s: Submission) -> None:
    """A client that shows our notice (it sends notice_version) asks consent for the contact
    details (Decree 13/2023, art. 11): with details and without the tick, nothing is stored."""
    has_contact = bool(s.reporter_name or s.reporter_phone or s.reporter_email)
    if s.notice_version is not None and has_contact and s.contact_consent is not True:
        raise Unprocessable(
            "consent_required",
            "Tick the consent to the use of your contact details, or leave them empty to report anonymously.",
            "Cần đồng ý cho phép sử dụng thông tin liên hệ, hoặc để trống để phản ánh ẩn danh.",
            field="contact_consent",
        )


def _check_contact(category: Category, s: Submission) -> None:
    if category.signin_required and s.user is None:
        raise Unauthorized(
            "signin_required",
            "Sign in with your phone number to report in this category.",
            "Cần đăng nhập bằng số điện thoại để gửi phản ánh loại này.",
        )
    if category.anonymous_allowed or s.user is not None:
        return
    if not (s.reporter_name and (s.reporter_phone or s.reporter_email)):
        raise Unprocessable(
            "contact_required",
            "This category needs your name and a phone or e-mail.",
            "Loại phản ánh này cần họ tên và số điện thoại hoặc e-mail của bạn.",
        )


def _photos(s: Submission) -> list[photos.Incoming]:
    photos.check_count(len(s.photos) + len(s.upload_ids), field=None)
    if len(set(s.upload_ids)) != len(s.upload_ids):
        raise Unprocessable(
            "duplicate_upload", "The same upload is referenced twice.", "Một ảnh tải lên được tham chiếu hai lần."
        )
    checked = [
        photos.check(data, {"field": "photos", "index": i, "filename": name}) for i, (name, data) in enumerate(s.photos)
    ]
    return checked + [photos.from_upload(uid, i) for i, uid in enumerate(s.upload_ids)]


def _location(s: Submission, incoming: list[photos.Incoming]) -> tuple[float, float, str]:
    """The position the client sent. A photo's EXIF GPS is private evidence: never taken as the
    (public) position unasked; without a position it is offered back as a suggestion, which
    the citizen may send as lat/lon with location_source "exif"."""
    if s.lat is None and s.lon is None:
        hint = next((i.info.gps for i in incoming if i.info.gps), None)
        if hint is None:
            raise Unprocessable("location_required", "Send lat and lon.", "Cần gửi vĩ độ và kinh độ.", field="location")
        lon, lat = hint
        raise Unprocessable(
            "location_required",
            "Send lat and lon. Your photo holds a position: "
            'send it as lat/lon with location_source "exif" if it is the place.',
            "Cần gửi vĩ độ và kinh độ. Ảnh của bạn có vị trí: nếu đúng nơi xảy ra, "
            'hãy gửi vị trí đó kèm location_source "exif".',
            field="location",
            suggested_location={"lat": round(lat, 6), "lon": round(lon, 6), "source": "exif"},
        )
    if s.lat is None or s.lon is None:
        raise Unprocessable("coordinates_incomplete", "Send both lat and lon.", "Cần gửi cả vĩ độ và kinh độ.")
    if not (math.isfinite(s.lat) and math.isfinite(s.lon) and -90 <= s.lat <= 90 and -180 <= s.lon <= 180):
        raise Unprocessable(
            "invalid_coordinates",
            "lat must be within ±90 and lon within ±180.",
            "Vĩ độ phải trong khoảng ±90 và kinh độ trong khoảng ±180.",
        )
    return s.lon, s.lat, s.location_source or "device"


def service_area(lon: float, lat: float) -> tuple[int, str | None]:
    """(area id, province code) of the report: its commune by the one point → commune lookup
    (communes.locate), so a report is filed under the commune it is routed in, border points
    included. A point with no commune of a province the deployment serves (setting PROVINCES)
    within BORDER_SNAP_METERS is refused: 422 outside_service_area.
    """
    commune = communes.locate(lon, lat)[0]
    if commune is None or not provinces.serves(commune.province_code):
        raise Unprocessable(
            "outside_service_area",
            "The place is outside the province's service area.",
            "Vị trí nằm ngoài địa bàn tiếp nhận của tỉnh.",
        )
    return commune.id, commune.province_code


def new_upload(client_ip: str) -> dict:
    """A presigned PUT slot for one photo, valid UPLOAD_TTL; the report then references its id."""
    cfg = current_app.config
    ip_key = client_key(client_ip)
    ratelimit.hit(f"upload:{ip_key}", cfg["SUBMIT_RATE_PER_HOUR"] * cfg["PHOTO_MAX_COUNT"])
    upload_id = secrets.token_urlsafe(18)
    now = utcnow()
    row = Upload(
        id=upload_id, key=f"up/{upload_id}", client_key=ip_key, created_at=now, expires_at=now + photos.UPLOAD_TTL
    )
    url = storage.presigned_put(row.key)  # signing needs no network
    db.session.add(row)
    uow.commit()
    return {
        "upload_id": upload_id,
        "method": "PUT",
        "url": url,
        "url_expires_at": now + timedelta(seconds=cfg["PRESIGN_SECONDS"]),
        "expires_at": row.expires_at,
        "max_bytes": cfg["PHOTO_MAX_BYTES"],
    }
