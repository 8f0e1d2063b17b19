"""Citizen accounts by phone number: a one-time code by SMS, then a bearer session.

Answers never tell whether a phone is known: asking for a code always sends one (the account
is made on first sign-in), and a wrong code, a code never asked for and a code of someone
else all answer `otp_invalid`. Only a keyed hash of each code is stored; the newest code of a
phone is the only one that counts, for OTP_TTL_SECONDS and OTP_MAX_TRIES checks. Sending is
limited per phone and per client (Redis windows shared by every process, see ratelimit) with
a resend cool-down. The code's SMS is sent inside the request on purpose: the citizen is
waiting for it, and a gateway failure must be an answer (503) rather than a silent job.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from fieldreport import ratelimit, security
from fieldreport.errors import RateLimited, ServiceUnavailable, Unauthorized, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import OtpChallenge, Report, Role, User
from fieldreport.models.base import utcnow
from fieldreport.services import accounts, sms, uow

CITIZEN_ROLE = Role.CITIZEN
PHONE_LEVEL = "phone"  # identity proved by a code sent to the phone; see User.identity_level
MAX_CLAIMS = 100
_UNUSABLE_PASSWORD = "!"  # no password sign-in for citizens: verify_password() never accepts it


def parse_phone(raw: str | None) -> str:
    """A Vietnamese mobile number (0xx…, +84xx…) in E.164, or a clear 422."""
    try:
        number = phonenumbers.parse((raw or "").strip(), "VN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Unprocessable(
            "invalid_phone", "This is not a valid phone number.", "Số điện thoại không hợp lệ.", field="phone"
        )
    if phonenumbers.region_code_for_number(number) != "VN":
        raise Unprocessable(
            "phone_not_vietnamese",
            "Only Vietnamese mobile numbers can sign in.",
            "Chỉ đăng nhập được bằng số di động Việt Nam.",
            field="phone",
        )
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        raise Unprocessable(
            "phone_not_mobile",
            "Give a mobile number: the code is sent by SMS.",
            "Hãy nhập số di động: mã xác thực được gửi qua tin nhắn.",
            field="phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _code_hash(phone: str, code: str) -> str:
    return security.keyed(current_app.config["SECRET_KEY"], "otp", phone, code)


@dataclass
class CodeSent:
    expires_in: int
    resend_after: int


def request_code(raw_phone: str, client_key: str) -> CodeSent:
    """Send a new code to the phone (the previous one stops counting)."""
    cfg = current_app.config
    phone = parse_phone(raw_phone)
    ratelimit.hit(f"otp-client:{client_key}", cfg["OTP_PER_CLIENT_PER_HOUR"])
    ratelimit.cooldown(
        f"otp-resend:{phone}",
        cfg["OTP_RESEND_SECONDS"],
        "otp_resend_too_soon",
        "Wait a moment before asking for a new code.",
        "Vui lòng chờ một lát trước khi yêu cầu mã mới.",
    )
    ratelimit.hit(f"otp-phone:{phone}", cfg["OTP_PER_PHONE_PER_HOUR"])
    now = utcnow()
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.execute(
        update(OtpChallenge).where(OtpChallenge.phone == phone, OtpChallenge.used_at.is_(None)).values(used_at=now)
    )
    challenge = OtpChallenge(
        phone=phone,
        code_hash=_code_hash(phone, code),
        client_key=client_key,
        expires_at=now + timedelta(seconds=cfg["OTP_TTL_SECONDS"]),
        attempts=0,
    )
    db.session.add(challenge)
    db.session.flush()
    text = cfg["SMS_OTP_TEMPLATE"].format(code=code, minutes=max(1, cfg["OTP_TTL_SECONDS"] // 60))
    try:
        sms.send(phone, text, ref=f"otp-{challenge.id}")
    except sms.SmsError as exc:
        uow.rollback()
        ratelimit.release(f"otp-resend:{phone}")
        current_app.logger.warning("OTP SMS not sent: %s", exc)
        raise ServiceUnavailable(
            "sms_unavailable",
            "The SMS could not be sent; try again shortly.",
            "Chưa gửi được tin nhắn; vui lòng thử lại sau ít phút.",
        ) from None
    uow.commit()
    return CodeSent(expires_in=cfg["OTP_TTL_SECONDS"], resend_after=cfg["OTP_RESEND_SECONDS"])


def _invalid() -> Unauthorized:
    return Unauthorized("otp_invalid", "Wrong phone number or code.", "Sai số điện thoại hoặc mã xác thực.")


@dataclass
class Session:
    token: str
    expires_at: datetime
    user: User
    claimed: list[str]


def sign_in(raw_phone: str, code: str, client_key: str, citizen_tokens: list[str] | None = None) -> Session:
    """Check the code; on success a bearer session, the account (made on first sign-in) and the
    reports this device proved with their citizen tokens now belong to it."""
    cfg = current_app.config
    phone = parse_phone(raw_phone)
    ratelimit.hit(f"otp-check:{client_key}", cfg["OTP_CHECKS_PER_CLIENT_PER_HOUR"])
    now = utcnow()
    challenge = db.session.scalar(
        select(OtpChallenge)
        .where(OtpChallenge.phone == phone, OtpChallenge.used_at.is_(None))
        .order_by(OtpChallenge.created_at.desc(), OtpChallenge.id.desc())
        .limit(1)
        .with_for_update()
    )
    if challenge is None:
        uow.rollback()
        raise _invalid()
    if challenge.expires_at <= now:
        uow.rollback()
        raise Unauthorized(
            "otp_expired",
            "This code has expired; ask for a new one.",
            "Mã xác thực đã hết hạn; vui lòng yêu cầu mã mới.",
        )
    if challenge.attempts >= cfg["OTP_MAX_TRIES"]:
        uow.rollback()
        raise RateLimited(
            "otp_attempts_exhausted",
            "Too many wrong codes; ask for a new one.",
            "Nhập sai mã quá nhiều lần; vui lòng yêu cầu mã mới.",
        )
    challenge.attempts += 1
    if not hmac.compare_digest(challenge.code_hash, _code_hash(phone, (code or "").strip())):
        uow.commit()  # the failed try counts, whatever happens next
        raise _invalid()
    challenge.used_at = now
    user = _account(phone, now)
    token, expires = accounts.issue_token(user, timedelta(days=cfg["CITIZEN_SESSION_DAYS"]))
    claimed = _claim(user, citizen_tokens or [])
    uow.commit()
    return Session(token=token, expires_at=expires, user=user, claimed=claimed)


def _account(phone: str, now: datetime) -> User:
    """The citizen account of this phone, made on first sign-in (safe against a concurrent one)."""
    db.session.execute(
        pg_insert(User)
        .values(
            username=phone,
            phone=phone,
            full_name="",
            role=CITIZEN_ROLE,
            active=True,
            password_hash=_UNUSABLE_PASSWORD,
            identity_level=PHONE_LEVEL,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["username"])
    )
    user = db.session.scalar(select(User).where(User.username == phone))
    assert user is not None  # inserted just now, or already there (the conflict)
    if user.role != CITIZEN_ROLE or not user.active:
        raise _invalid()  # a staff username can never be a phone, but never sign one in this way
    user.last_login_at = now
    user.identity_level = user.identity_level or PHONE_LEVEL
    return user


def _claim(user: User, citizen_tokens: list[str]) -> list[str]:
    """Attach the reports proved by these citizen tokens to the user (not someone else's)."""
    hashes = list({security.token_hash(t) for t in citizen_tokens[:MAX_CLAIMS] if t})
    if not hashes:
        return []
    rows = (
        db.session.execute(
            update(Report)
            .where(
                Report.citizen_token_hash.in_(hashes),
                Report.reporter_user_id.is_(None) | (Report.reporter_user_id == user.id),
            )
            .values(reporter_user_id=user.id, updated_at=Report.updated_at)  # not a change of the report
            .returning(Report.code)
        )
        .scalars()
        .all()
    )
    return sorted(rows)


def claim(user: User, citizen_tokens: list[str]) -> list[str]:
    """A signed-in citizen claims more of the reports this device holds."""
    codes = _claim(user, citizen_tokens)
    uow.commit()
    return codes
