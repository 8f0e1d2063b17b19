"""Writing the append-only history: every change to a report is one Event row."""

from __future__ import annotations

from fieldreport.extensions import db
from fieldreport.models import Event, Report, Role, User
from fieldreport.services import notify


def record(
    report: Report,
    type_: str,
    *,
    user: User | None = None,
    actor: str | None = None,
    to_status: str | None = None,
    to_unit_id: int | None = None,
    reason: str | None = None,
    note: str | None = None,
    public: bool = True,
    data: dict | None = None,
) -> Event:
    """Append an event and apply the status/unit change it describes to the report.

    `actor` labels the channel when there is no user (e.g. "citizen", "system:router",
    "open311:<client>"). A staff member is "<role>:<username>"; a signed-in citizen is plain
    "citizen" (their username is their phone number, which unit staff must not read in the
    history; actor_user_id keeps the link). Nothing else in the code changes `report.status` or `report.unit_id`.
    A public event the citizen should hear about also writes its notifications (outbox-style
    rows, each with a delivery job recorded in the same transaction).
    """
    ev = Event(
        report_id=report.id,
        type=type_,
        actor_user_id=user.id if user else None,
        actor=actor or _actor(user),
        from_status=report.status,
        to_status=to_status or report.status,
        from_unit_id=report.unit_id,
        to_unit_id=to_unit_id if to_unit_id is not None else report.unit_id,
        reason=reason,
        note=note,
        public=public,
        data=data or {},
    )
    if to_status is not None:
        report.status = to_status
    if to_unit_id is not None:
        report.unit_id = to_unit_id
    db.session.add(ev)
    kind = notify.kind_for(ev)
    if kind is not None:
        db.session.flush()  # the notification rows point at the event
        notify.for_event(report, ev, kind)
    return ev


def _actor(user: User | None) -> str:
    if user is None:
        return "system"
    return Role.CITIZEN if user.role == Role.CITIZEN else f"{user.role}:{user.username}"


def shown_actor(actor: str | None) -> str | None:
    """An event's actor as staff read it: rows written before citizens were recorded as plain
    "citizen" carry "citizen:<phone number>", never shown."""
    return Role.CITIZEN if actor and actor.startswith(f"{Role.CITIZEN}:") else actor
