"""A reporter's identity (name, phone, e-mail) as staff see it: masked by default; revealed
only on an explicit request with a reason, each reveal written to the append-only audit log
in the same transaction (Decree 13/2023/NĐ-CP). Admins read the log."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldreport.errors import Forbidden, Unprocessable
from fieldreport.extensions import db
from fieldreport.models import IdentityView, Report, User
from fieldreport.models.base import utcnow
from fieldreport.services import policy, uow

# The privacy notice the citizen form shows (messages "privacy_notice", "contact_consent"):
# its version is kept with every report, so what a reporter was told can be shown later.
# Change the texts → add a new version here (old ones stay known for replays and the record).
NOTICE_VERSION = "2026-11-30"
NOTICE_VERSIONS = ("2026-11-30",)
# Channels whose notice is not ours to show: the Zalo OA's own welcome text, an Open311
# client's app (consent collected by the client under its API-key terms).
ZALO_NOTICE = f"zalo:{NOTICE_VERSION}"
# The texts of NOTICE_VERSION: (Vietnamese, English).
NOTICE_PURPOSE = (
    "Thông tin, ảnh và vị trí bạn gửi được dùng để chuyển phản ánh đến cơ quan có thẩm quyền, xử lý "
    "và báo kết quả cho bạn (Nghị định 13/2023/NĐ-CP). Phản ánh được công khai không kèm danh tính; "
    "vị trí trong ảnh gốc không được công khai. Bạn có thể yêu cầu xoá dữ liệu cá nhân bất cứ lúc nào "
    "trên trang theo dõi; dữ liệu cá nhân được tự động xoá {months} tháng sau khi phản ánh kết thúc.",
    "The details, photos and position you send are used to pass your report to the competent "
    "authority, handle it and tell you the result (Decree 13/2023/NĐ-CP). Reports are published "
    "without your identity; the position inside your original photos is not published. You can ask "
    "for your personal data to be erased at any time on the tracking page; they are erased "
    "automatically {months} months after the report is finished.",
)
CONSENT_TEXT = (
    "Tôi đồng ý cho cơ quan xử lý dùng họ tên, số điện thoại, email trên để liên hệ và báo kết quả về phản ánh này.",
    "I agree that the handling authority uses the name, phone and e-mail above to contact me and "
    "tell me the result of this report.",
)


def notice(vi: bool, months: int) -> dict:
    """The current privacy notice, as the form shows it and GET /privacy-notice gives it."""
    i = 0 if vi else 1
    return {
        "version": NOTICE_VERSION,
        "purpose": NOTICE_PURPOSE[i].format(months=months),
        "contact_consent": CONSENT_TEXT[i],
        "retention_months": months,
    }


OPEN311_NOTICE = "open311:client"
# A hotline or desk operator reads NOTICE_VERSION's purpose to the caller (the call page shows it
# as the script) before taking a phone number; the caller's giving it for the SMS is the consent.
CALL_NOTICE = f"call:{NOTICE_VERSION}"

REASON_MIN = 5  # a word or two: "gọi xác minh vị trí", not "x"
REASON_MAX = 500


def mask_phone(phone: str | None) -> str | None:
    """ "0905000678" → "09xx xxx 678": enough to recognise a number one already has."""
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) < 6:
        return "xxx"
    return f"{'+' if phone.strip().startswith('+') else ''}{digits[:2]}xx xxx {digits[-3:]}"


def mask_email(email: str | None) -> str | None:
    """ "dan@example.org" → "d•••@e•••.org"."""
    if not email:
        return None
    local, _, domain = email.partition("@")
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}•••@{host[:1]}•••.{tld}" if host else f"{local[:1]}•••"


def mask_name(name: str | None) -> str | None:
    """ "Trần Thị Bình" → "T. T. B.": initials only."""
    if not name or not name.strip():
        return None
    return " ".join(f"{word[0]}." for word in name.split())


def has_identity(report: Report) -> bool:
    return bool(report.reporter_name or report.reporter_phone or report.reporter_email)


def masked(report: Report, user: User | None) -> dict | None:
    """What the detail shows of the reporter: masked for the roles that may reveal it, nothing
    for the others (a unit's staff never see the reporter)."""
    if not policy.can_see_contact(user) or not has_identity(report):
        return None
    return {
        "name": mask_name(report.reporter_name),
        "phone": mask_phone(report.reporter_phone),
        "email": mask_email(report.reporter_email),
        "masked": True,
    }


def reveal(report: Report, user: User, reason: str | None) -> dict:
    """The reporter's identity in clear, after recording who asked, for which report and why.

    One unit of work: the audit row commits with the reveal or nothing is shown."""
    if not policy.can_see_contact(user):
        raise Forbidden(
            "identity_forbidden",
            "Only dispatchers and administrators may see the reporter's identity.",
            "Chỉ điều phối viên và quản trị viên được xem danh tính người phản ánh.",
        )
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN or len(reason) > REASON_MAX:
        raise Unprocessable(
            "missing_reason",
            f"Say why you need the reporter's identity ({REASON_MIN}–{REASON_MAX} characters); it is recorded.",
            f"Cần ghi lý do xem danh tính người phản ánh ({REASON_MIN}–{REASON_MAX} ký tự); lý do được lưu lại.",
            field="reason",
        )
    view = IdentityView(
        user_id=user.id, actor=f"{user.role}:{user.username}", report_id=report.id, reason=reason, at=utcnow()
    )
    db.session.add(view)
    uow.commit()
    return {
        "name": report.reporter_name,
        "phone": report.reporter_phone,
        "email": report.reporter_email,
        "masked": False,
        "viewed_at": view.at,
    }


def views(*, report_code: str | None = None, page: int = 1, page_size: int = 50) -> dict:
    """The audit log, newest first (admins): who read which reporter's identity, when and why."""
    q = (
        select(IdentityView.at, IdentityView.actor, IdentityView.reason, Report.code, User.username, User.role)
        .join(Report, Report.id == IdentityView.report_id)
        .join(User, User.id == IdentityView.user_id)
    )
    if report_code:
        q = q.where(Report.code == report_code.upper())
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.session.execute(
        q.order_by(IdentityView.at.desc(), IdentityView.id.desc()).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return {
        "items": [
            {"at": at, "actor": actor, "reason": reason, "report_code": code, "username": username, "role": role}
            for at, actor, reason, code, username, role in rows
        ],
        "page": page,
        "page_size": page_size,
        "total": total,
    }
