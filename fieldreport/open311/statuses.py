"""Our workflow statuses in Open311 terms: open/closed, notes, and mySociety's extended states."""

from __future__ import annotations

from fieldreport.models import Event
from fieldreport.services import disclosure

# status → (en, vi) wording for status_notes and update descriptions
LABELS = {
    "submitted": (
        "Received; being routed to the responsible unit.",
        "Đã tiếp nhận; đang chuyển đến đơn vị có trách nhiệm.",
    ),
    "assigned": ("Assigned to the responsible unit.", "Đã chuyển đến đơn vị có trách nhiệm."),
    "in_progress": ("Being handled.", "Đang xử lý."),
    "awaiting_info": ("Waiting for more information from the reporter.", "Đang chờ người phản ánh bổ sung thông tin."),
    "reopened": ("Reopened.", "Đã mở lại."),
    "resolved": ("Resolved.", "Đã xử lý xong."),
    "closed": ("Closed.", "Đã đóng."),
    "rejected": ("Not accepted.", "Không tiếp nhận."),
    "duplicate": ("Duplicate of another report.", "Trùng với phản ánh khác."),
}
REASONS = disclosure.REASON_WORDS  # the plain words are the public-data rule's
# mySociety's extended states (Open311 FMS "Additional states"), lower case as their endpoints emit.
MYSOCIETY = {
    "submitted": "open",
    "assigned": "open",
    "reopened": "open",
    "in_progress": "in_progress",
    "awaiting_info": "investigating",
    "resolved": "fixed",
    "closed": "closed",
    "duplicate": "duplicate",
}
REJECTED = {
    "out_of_scope": "not_councils_responsibility",
    "duplicate": "duplicate",
    "complaint_channel": "not_councils_responsibility",
}
TRANSFERS = ("transfer", "transferred", "return", "returned", "reassign", "reassigned")


def label(status: str | None, vi: bool) -> str | None:
    pair = LABELS.get(status or "")
    return pair[1 if vi else 0] if pair else None


def notes(r, parent_code: str | None, unit_name: str | None, vi: bool) -> str | None:
    """The detailed status in words (the spec's status_notes)."""
    if r.status in ("resolved", "closed") and r.public_answer:
        return r.public_answer
    if r.status == "duplicate" and parent_code:
        return f"Trùng với phản ánh {parent_code}." if vi else f"Duplicate of {parent_code}."
    if r.status == "rejected" and r.reject_reason in REASONS:
        reason = REASONS[r.reject_reason][1 if vi else 0]
        return f"Không tiếp nhận: {reason}." if vi else f"Not accepted: {reason}."
    if r.status == "assigned" and unit_name:
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
    if ev.type in TRANSFERS and ev.to_status not in ("resolved", "closed", "rejected", "duplicate"):
        return "internal_referral"
    if ev.to_status == "rejected":
        return REJECTED.get(ev.reason or "", "no_further_action")
    return MYSOCIETY.get(ev.to_status or "", "open")
