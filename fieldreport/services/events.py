"""Writing the append-only history: every change to a report is one Event row."""
from __future__ import annotations

from fieldreport.extensions import db
from fieldreport.models import Event, Report, User


def record(report: Report, type_: str, *, user: User | None = None, actor: str | None = None,
           to_status: str | None = None, to_unit_id: int | None = None, reason: str | None = None,
           note: str | None = None, public: bool = True, data: dict | None = None) -> Event:
    """Append an event and apply the status/unit change it describes to the report.

    `actor` labels the channel when there is no user (e.g. "citizen", "system:router",
    "open311:<client>"). Nothing else in the code changes `report.status` or `report.unit_id`.
    """
    ev = Event(report_id=report.id, type=type_, actor_user_id=user.id if user else None,
               actor=actor or (f"{user.role}:{user.username}" if user else "system"),
               from_status=report.status, to_status=to_status or report.status,
               from_unit_id=report.unit_id,
               to_unit_id=to_unit_id if to_unit_id is not None else report.unit_id,
               reason=reason, note=note, public=public, data=data or {})
    if to_status is not None:
        report.status = to_status
    if to_unit_id is not None:
        report.unit_id = to_unit_id
    db.session.add(ev)
    return ev
