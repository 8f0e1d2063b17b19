"""The one public-data rule: what a viewer may see of a report, its events, notes and photos.

Every surface that shows a report outside the staff console goes through this module: the
`/api/v1` public view, listings and nearby, Open311 requests and servicerequestupdates (JSON
and XML), the public pages, open data, Atom feeds and the citizen's notifications. The rule
(docs/open-data.md writes it out for readers):

- Viewers: the PUBLIC; the REPORTER (proved by the report's citizen token or a signed-in
  citizen who sent it), who also sees what is addressed to them (the unit's question) and
  their own words; STAFF, who see everything their role lets them open (the console and
  staff API keep their own checks and are not narrowed here).
- A report in a category that is not public exists only for staff and its reporter: every
  public surface answers as if there were no such report (404, absent from lists).
- A report rejected for a WITHHELD reason keeps its status and the reason in plain words
  public, and nothing of its content: no description, no address, no photo, a location
  rounded to about 1 km. Withheld reasons: `offensive` (abusive or obscene content must not
  be republished) and `complaint_channel` (complaints and denunciations follow the Law on
  Denunciations / Law on Complaints, which protects the denouncer and the denounced: their
  text, pictures and exact place are not published).
- Staff notes are internal unless public by nature: the answer of a resolution, the apology
  and new date of an extension, the rejection reason in plain words (from its code, never the
  staff member's note), the text a unit's own system posts as an Open311 update. The question
  of an info request is for the reporter. Transfer, return, triage and reassignment reasons,
  rejection and duplicate notes, SLA events (`public=False`) stay internal.
- Citizens' words (rating comment, reopen reason, the answer to a question) are never
  public; their author sees them.
- The unit's name is shown, never a staff member's (an event's `actor` never leaves): this
  includes the operator who took a call or a desk visit for a citizen (`operator:<name>`,
  the intake actor of a `hotline`/`counter` report), and the report's channel stays internal.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from enum import IntEnum

from fieldreport import security
from fieldreport.models import Category, EventType, RejectReason, Report, Role, Status

WITHHELD_REASONS = (RejectReason.OFFENSIVE, RejectReason.COMPLAINT_CHANNEL)
COARSE_DEGREES = 0.01  # about 1.1 km: where a withheld report is, without whose house it is

# The rejection reasons in plain words (en, vi): what the public and the reporter are told.
REASON_WORDS: dict[str, tuple[str, str]] = {
    RejectReason.UNCLEAR: ("the report is unclear", "nội dung không rõ ràng"),
    RejectReason.DUPLICATE: ("it duplicates another report", "trùng với phản ánh khác"),
    RejectReason.OUT_OF_SCOPE: ("it is outside the scope of this service", "không thuộc phạm vi tiếp nhận"),
    RejectReason.COMPLAINT_CHANNEL: (
        "it belongs to the complaints and denunciations procedure",
        "thuộc thủ tục khiếu nại, tố cáo",
    ),
    RejectReason.OFFENSIVE: ("it contains offensive content", "có nội dung không phù hợp"),
}


class Viewer(IntEnum):
    """Who is looking; a higher viewer sees everything a lower one does."""

    PUBLIC = 0
    REPORTER = 1
    STAFF = 2


# Whose eyes an event's note is for, by event type. Types not listed: staff only.
_NOTE_AUDIENCE: dict[str, Viewer] = {
    EventType.RESOLVED: Viewer.PUBLIC,  # the unit's answer
    EventType.EXTENDED: Viewer.PUBLIC,  # the apology (the reason stays internal)
    EventType.EXTERNAL_UPDATE: Viewer.PUBLIC,  # a unit's system posts it to publish it
    EventType.INFO_REQUESTED: Viewer.REPORTER,  # the question, addressed to the reporter
}
# Events whose note is the citizen's own words: the reporter sees them, nobody public.
_CITIZEN_WORDS = (EventType.RATED, EventType.INFO_PROVIDED)


def viewer_of(
    token_hash: str | None, user_id: int | None, *, report_token_hash: str, reporter_user_id: int | None
) -> Viewer:
    """REPORTER when the citizen token or the signed-in citizen proves the report, else PUBLIC."""
    if user_id is not None and reporter_user_id == user_id:
        return Viewer.REPORTER
    if token_hash and hmac.compare_digest(token_hash, report_token_hash):
        return Viewer.REPORTER
    return Viewer.PUBLIC


def viewer_for_token(token: str | None, user_id: int | None, report) -> Viewer:
    """viewer_of() for a plain citizen token and a Report (or a row with the same columns)."""
    return viewer_of(
        security.token_hash(token) if token else None,
        user_id,
        report_token_hash=report.citizen_token_hash,
        reporter_user_id=report.reporter_user_id,
    )


# -- the report ---------------------------------------------------------------------------


def report_visible(category_public: bool, viewer: Viewer) -> bool:
    """Whether the report exists at all for this viewer."""
    return bool(category_public) or viewer >= Viewer.REPORTER


def public_categories():
    """SQL: the categories whose reports the public may see (report_visible for PUBLIC)."""
    return Category.public.is_(True)


def withheld(status: str | None, reject_reason: str | None) -> bool:
    """Rejected for a reason whose content is never republished."""
    return status == Status.REJECTED and reject_reason in WITHHELD_REASONS


def sql_withheld():
    """SQL: withheld() of a reports row (for queries that place or count reports in bulk)."""
    return (Report.status == Status.REJECTED) & Report.reject_reason.in_(WITHHELD_REASONS)


def content_visible(status: str | None, reject_reason: str | None, viewer: Viewer) -> bool:
    """Description, address and photos."""
    return viewer >= Viewer.REPORTER or not withheld(status, reject_reason)


def location(
    lon: float, lat: float, status: str | None, reject_reason: str | None, viewer: Viewer
) -> tuple[float, float]:
    """(lon, lat) as this viewer may see it: exact, or rounded for a withheld report."""
    if content_visible(status, reject_reason, viewer):
        return lon, lat
    return _coarse(lon), _coarse(lat)


def _coarse(value: float) -> float:
    return round(round(value / COARSE_DEGREES) * COARSE_DEGREES, 6)


def reason_words(code: str | None, vi: bool) -> str | None:
    pair = REASON_WORDS.get(code or "")
    return pair[1 if vi else 0] if pair else None


def report_fields(r, viewer: Viewer) -> dict:
    """The content fields of a report (Report or row with status, reject_reason, description,
    address_hint, public_answer) as this viewer may see them."""
    shown = content_visible(r.status, r.reject_reason, viewer)
    return {
        "description": r.description if shown else None,
        "address_hint": r.address_hint if shown else None,
        "public_answer": r.public_answer,
    }


def photos_visible(status: str | None, reject_reason: str | None, viewer: Viewer) -> bool:
    return content_visible(status, reject_reason, viewer)


# -- events -------------------------------------------------------------------------------


def event_shown(public: bool, viewer: Viewer) -> bool:
    """Internal events (SLA warnings, escalations) are for staff only."""
    return bool(public) or viewer >= Viewer.STAFF


def event_note(ev, viewer: Viewer, vi: bool = True) -> str | None:
    """The words of an event this viewer may read, or None.

    `ev` is an Event (or a row with type, actor, reason, note, data). A rejection reads as
    its reason in plain Vietnamese (the staff member's note stays internal)."""
    if viewer >= Viewer.STAFF:
        return ev.note or (ev.data or {}).get("text")
    if ev.type == EventType.REJECTED:
        words = reason_words(ev.reason, vi)
        return (f"Không tiếp nhận: {words}." if vi else f"Not accepted: {words}.") if words else None
    if ev.type in _CITIZEN_WORDS or (ev.type == EventType.REOPENED and _by_citizen(ev)):
        if viewer < Viewer.REPORTER:
            return None
        return ev.note or (ev.data or {}).get("text")
    audience = _NOTE_AUDIENCE.get(ev.type)
    if audience is None or viewer < audience:
        return None
    return ev.note


def event_reason(ev, vi: bool) -> str | None:
    """A rejection's reason in plain words (vi or en); None for any other event."""
    return reason_words(ev.reason, vi) if ev.type in (EventType.REJECTED, EventType.DUPLICATE) else None


def _by_citizen(ev) -> bool:
    return ev.actor == Role.CITIZEN or ev.reason == "citizen_not_satisfied"


def event_due(ev) -> datetime | None:
    """The new date an extension promises (public with its apology)."""
    raw = (ev.data or {}).get("new_due_at") if ev.type == EventType.EXTENDED else None
    return datetime.fromisoformat(raw) if raw else None


def event_view(ev, viewer: Viewer, unit_name: str | None = None, vi: bool = True) -> dict | None:
    """One history entry for this viewer, or None when the event is not theirs to see.

    Names the unit that holds the report after the event, never the person who acted."""
    if not event_shown(ev.public, viewer):
        return None
    out = {
        "type": ev.type,
        "status": ev.to_status,
        "at": ev.at,
        "note": event_note(ev, viewer, vi),
        "unit": unit_name,
        "due_at": event_due(ev),
    }
    if ev.type == EventType.DUPLICATE:
        out["duplicate_of"] = (ev.data or {}).get("parent_code")
    return out


def citizen_due(
    citizen_due_at: datetime | None, due_at: datetime | None, extended_to: datetime | None
) -> datetime | None:
    """The date the citizen is promised: the first one, or the latest extension's new date."""
    first = citizen_due_at or due_at
    if extended_to is not None and (first is None or extended_to > first):
        return extended_to
    return first


# -- notifications ------------------------------------------------------------------------


def notice_fields(report, ev, unit_name: str | None, vi: bool, viewer: Viewer = Viewer.REPORTER) -> dict:
    """What a citizen notification about `ev` may say (services/notify formats its message
    from these and nothing else): code, unit, due, note, reason, parent, status."""
    data = ev.data or {}
    due = event_due(ev) or report.citizen_due_at or report.due_at
    if ev.type in (EventType.ASSIGNED, EventType.TRANSFERRED, EventType.REASSIGNED):
        due = report.citizen_due_at or report.due_at
    return {
        "code": report.code,
        "unit": unit_name or "-",
        "note": event_note(ev, viewer, vi) if ev.type != EventType.REJECTED else "",
        "reason": event_reason(ev, vi) or "",
        "parent": data.get("parent_code", "-"),
        "due": due,
        "status": report.status,
    }
