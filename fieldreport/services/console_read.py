"""What the staff console shows beyond a report's detail: unit pickers with suggestions, why a
report came back to the dispatcher, the next report to work on, the working days to pick."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from fieldreport.extensions import db
from fieldreport.models import OPEN_STATUSES, Area, Event, EventType, Report, Role, RoutingRule, Status, Unit, User
from fieldreport.services import deadlines, policy

DISPATCHER_KIND = "dispatcher"
# The order of the groups in a unit picker: who most often receives a report first.
KIND_ORDER = ("commune", "department", "utility", "contractor", "police", "province")


def target_units(exclude_id: int | None = None, user=None) -> list[dict]:
    """Active units a report can be handed to (never the dispatcher, never another
    province's), by kind then name."""
    rows = db.session.scalars(select(Unit).where(Unit.active, Unit.kind != DISPATCHER_KIND, policy.units_scope(user)))
    out = [
        {"id": u.id, "code": u.code, "name": u.name, "name_en": u.name_en, "kind": u.kind}
        for u in rows
        if u.id != exclude_id
    ]
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    return sorted(out, key=lambda u: (rank.get(u["kind"], len(rank)), u["name"]))


def last_return(report_id: int) -> dict | None:
    """The latest "not ours" of a report still held by the dispatcher: which unit, why, when."""
    row = db.session.execute(
        select(Event.reason, Event.at, Unit.code, Unit.name, Unit.name_en, Unit.kind)
        .join(Unit, Unit.id == Event.from_unit_id)
        .where(Event.report_id == report_id, Event.type == EventType.RETURNED)
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    reason, at, code, name, name_en, kind = row
    return {"reason": reason, "at": at, "unit": {"code": code, "name": name, "name_en": name_en, "kind": kind}}


def returns_for(codes: list[str]) -> dict[str, dict]:
    """last_return() for a page of reports (triage), keyed by report code."""
    if not codes:
        return {}
    ids = dict(db.session.execute(select(Report.code, Report.id).where(Report.code.in_(codes))).all())
    out = {}
    for code, rid in ids.items():
        back = last_return(rid)
        if back is not None:
            out[code] = back
    return out


def suggestions(report: Report) -> list[dict]:
    """Units likely to own the report, best first, each with why (for the pickers' top group):
    the unit that returned it, the routing explanation's unit, the commune of the report and
    the communes it borders on, the units owning its category by a routing rule."""
    found: dict[int, dict] = {}

    def add(unit: Unit | None, why: str) -> None:
        if (
            unit is not None
            and unit.active
            and unit.kind != DISPATCHER_KIND
            and unit.id != report.unit_id
            and unit.id not in found
        ):
            found[unit.id] = {
                "code": unit.code,
                "name": unit.name,
                "name_en": unit.name_en,
                "kind": unit.kind,
                "why": why,
            }

    back = db.session.scalar(
        select(Event.from_unit_id)
        .where(Event.report_id == report.id, Event.type == EventType.RETURNED)
        .order_by(Event.at.desc())
        .limit(1)
    )
    if back is not None:
        add(db.session.get(Unit, back), EventType.RETURNED)
    explain = report.routing or {}
    if explain.get("unit_code"):
        add(_unit_by_code(explain["unit_code"]), "routing")
    commune = (
        db.session.scalar(select(Area.code).where(Area.id == report.area_id))
        if report.area_id
        else explain.get("area_code")
    )
    if commune:
        add(_unit_by_code(f"UBND-{commune}"), "commune")
    for code in explain.get("also_in") or ():
        add(_unit_by_code(f"UBND-{code}"), "nearby")
    owners = db.session.scalars(
        select(Unit)
        .join(RoutingRule, RoutingRule.unit_id == Unit.id)
        .where(RoutingRule.category_id == report.category_id)
        .order_by(RoutingRule.priority.desc(), Unit.name)
    )
    for unit in owners:
        add(unit, "category")
    return list(found.values())[:6]


def unit_named(code: str | None) -> dict | None:
    """A unit's names by its code (the routing explanation records codes)."""
    unit = _unit_by_code(code) if code else None
    return {"code": unit.code, "name": unit.name, "name_en": unit.name_en, "kind": unit.kind} if unit else None


def _unit_by_code(code: str) -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def next_report(user: User, after: str | None = None) -> str | None:
    """The code of the open report due soonest that the user can act on, other than `after`."""
    q = select(Report.code).where(
        policy.report_scope(user), Report.status.in_(OPEN_STATUSES), Report.status != Status.AWAITING_INFO
    )
    if user.role == Role.STAFF:
        q = q.where(Report.unit_id == user.unit_id)
    elif user.role == Role.DISPATCHER:
        q = q.where(Report.unit_id.in_(select(Unit.id).where(Unit.kind == DISPATCHER_KIND)))
    if after:
        q = q.where(Report.code != after)
    return db.session.scalar(q.order_by(Report.due_at.asc().nulls_last(), Report.id).limit(1))


# -- the working calendar for the due-date picker -------------------------------------------


def close_of_office(day: date) -> datetime:
    """The end of the last office period of `day`: a due date means that moment."""
    cal = deadlines.calendar()
    return datetime.combine(day, cal.office_hours[-1][1], tzinfo=cal.tz)


def days_off(start: date, days: int = 120, province: str | None = None) -> list[str]:
    """The non-working days from `start` on (ISO), for the picker to refuse them up front: of
    the report's province (its own days off too), as the workflow will check the date."""
    cal = deadlines.calendar(province)
    return [
        (start + timedelta(days=i)).isoformat()
        for i in range(days)
        if not cal.is_working_day(start + timedelta(days=i))
    ]


def next_working_day(day: date, province: str | None = None) -> date:
    cal = deadlines.calendar(province)
    return cal.add_working_days(datetime.combine(day, time(12), tzinfo=cal.tz), 1).date()
