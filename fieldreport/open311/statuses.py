"""Our workflow statuses in Open311 terms: open/closed, notes, and mySociety's extended states."""

from __future__ import annotations

from fieldreport.models import Event, EventType, RejectReason, Status
from fieldreport.services import disclosure

# status → (en, vi) wording for status_notes and update descriptions
LABELS: dict[str, tuple[str, str]] = {
    Status.SUBMITTED: (
        "Received; being routed to the responsible unit.",
        "Đã tiếp nhận; đang chuyển đến đơn vị có trách nhiệm.",
    ),
    Status.ASSIGNED: ("Assigned to the responsible unit.", "Đã chuyển đến đơn vị có trách nhiệm."),
    Status.IN_PROGRESS: ("Being handled.", "Đang xử lý."),
    Status.AWAITING_INFO: (
        "Waiting for more information from the reporter.",
        "Đang chờ người phản ánh bổ sung thông tin.",
    ),
    Status.REOPENED: ("Reopened.", "Đã mở lại."),
    Status.RESOLVED: ("Resolved.", "Đã xử lý xong."),
    Status.CLOSED: ("Closed.", "Đã đóng."),
    Status.REJECTED: ("Not accepted.", "Không tiếp nhận."),
    Status.DUPLICATE: ("Duplicate of another report.", "Trùng với phản ánh khác."),
}
REASONS = disclosure.REASON_WORDS  # the plain words are the public-data rule's
# mySociety's extended states (Open311 FMS "Additional states"), lower case as their endpoints emit.
MYSOCIETY: dict[str, str] = {
    Status.SUBMITTED: "open",
    Status.ASSIGNED: "open",
    Status.REOPENED: "open",
    Status.IN_PROGRESS: "in_progress",
    Status.AWAITING_INFO: "investigating",
    Status.RESOLVED: "fixed",
    Status.CLOSED: "closed",
    Status.DUPLICATE: "duplicate",
}
REJECTED: dict[str, str] = {
    RejectReason.OUT_OF_SCOPE: "not_councils_responsibility",
    RejectReason.DUPLICATE: "duplicate",
    RejectReason.COMPLAINT_CHANNEL: "not_councils_responsibility",
}
TRANSFERS = (EventType.TRANSFERRED, EventType.RETURNED, EventType.REASSIGNED)


def label(status: str | None, vi: bool) -> str | None:
    pair = LABELS.get(status or "")
    return pair[1 if vi else 0] if pair else None


def notes(r, parent_code: str | None, unit_name: str | None, vi: bool) -> str | None:
    """The detailed status in words (the spec's status_notes)."""
    if r.status in (Status.RESOLVED, Status.CLOSED) and r.public_answer:
        return r.public_answer
    if r.status == Status.DUPLICATE and parent_code:
        return f"Trùng với phản ánh {parent_code}." if vi else f"Duplicate of {parent_code}."
    if r.status == Status.REJECTED and r.reject_reason in REASONS:
        reason = REASONS[r.reject_reason][1 if vi else 0]
        return f"Không tiếp nhận: {reason}." if vi else f"Not accepted: {reason}."
    if r.status == Status.ASSIGNED and unit_name:
        return f"Đã chuyển đến {unit_name}." if vi else f"Assigned to {unit_name}."
    return label(r.status, vi)


def notice(cat, vi: bool) -> str:
    """What the city commits to (the spec's service_notice): the category's working deadline.

    `cat` is a Category or a row with its deadline_amount and deadline_unit."""
    amount = int(cat.deadline_amount) if float(cat.deadline_amount).is_integer() else cat.deadline_amount
    if vi:
        unit = "giờ làm việc" if cat.deadline_unit == "hours" else "ngày làm việc"
        return f"Thời hạn xử lý: {amount} {unit}."
    unit = "working hours" if cat.deadline_unit == "hours" else "working days"
    return f"Handled within {amount} {unit}."


def update_status(ev: Event) -> str:
    """mySociety's state for the report after this event."""
    if ev.type in TRANSFERS and ev.to_status not in (Status.RESOLVED, Status.CLOSED, Status.REJECTED, Status.DUPLICATE):
        return "internal_referral"
    if ev.to_status == Status.REJECTED:
        return REJECTED.get(ev.reason or "", "no_further_action")
    return MYSOCIETY.get(ev.to_status or "", "open")
