"""Who may see and do what: the roles and the object-level rules, free of Flask.

Used by the services (which check every act themselves) and by the interfaces (which only
pick the roles of a page or an endpoint); fieldreport/auth.py turns a request into a user.
- citizen: no staff access;
- staff: the reports of their own unit;
- dispatcher: every report (and the reporter's contact), the triage queue, assignment;
- supervisor: read everything in their unit's subtree, reopen and reassign there;
- admin: everything, plus the admin endpoints;
- operator: records hotline calls and reception-desk visits for citizens (the console's call
  page), and nothing else: no queue, no report's details, no indicators.
In a deployment of several provinces (services/provinces.py), a user whose unit belongs to a
province works in that province only: its dispatcher and admins see and act on that
province's reports and units alone (another province's report answers 403 like another
unit's); users of national units (no province) see every province.
A report of another unit answers 403, not 404: report codes are public tracking codes (the
citizen's view shows any report by its code), so hiding existence protects nothing, and staff
given a code by phone learn that it is with another unit.

A user's province and a supervisor's subtree are memoised in the unit of work (the database
session's `info`, which lives as long as the request or job).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true

from fieldreport.errors import Forbidden
from fieldreport.extensions import db
from fieldreport.models import Report, Role, Unit, User

STAFF_ROLES = (Role.STAFF, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
ALL_REPORTS_ROLES = (Role.DISPATCHER, Role.ADMIN)
CONTACT_ROLES = (Role.DISPATCHER, Role.ADMIN)  # who sees the reporter's identity
INTAKE_ROLES = (Role.OPERATOR, Role.DISPATCHER, Role.ADMIN)  # who records a call for a citizen
CONSOLE_ROLES = (*STAFF_ROLES, Role.OPERATOR)  # who may sign in to the console


def _memo(name: str) -> dict:
    return db.session.info.setdefault(name, {})


def unit_subtree(unit_id: int) -> set[int]:
    """The unit and every unit under it (recursive CTE; UNION stops on a cycle)."""
    tree = select(Unit.id).where(Unit.id == unit_id).cte("subtree", recursive=True)
    tree = tree.union(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return set(db.session.scalars(select(tree.c.id)))


def province_of(user: User | None) -> str | None:
    """The province the user works in (their unit's), or None: national, every province."""
    if user is None or user.unit_id is None:
        return None
    cache = _memo("policy_provinces")
    if user.unit_id not in cache:
        cache[user.unit_id] = db.session.scalar(select(Unit.province_code).where(Unit.id == user.unit_id))
    return cache[user.unit_id]


def in_province(user: User | None, report: Report) -> bool:
    province = province_of(user)
    return province is None or report.province_code == province


def unit_allowed(user: User | None, unit: Unit) -> bool:
    """May hand reports to this unit: national units, or units of the user's own province."""
    province = province_of(user)
    return province is None or unit.province_code in (None, province)


def units_scope(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause limiting a select of Unit to the user's province (and national units)."""
    province = province_of(user)
    return true() if province is None else Unit.province_code.is_(None) | (Unit.province_code == province)


def province_for(user: User | None, requested: str | None) -> str | None:
    """The province an admin's calendar edit is for: a province's admin always their own
    (another one is 403), a national admin the one requested (None: every province)."""
    own = province_of(user)
    if own is None:
        return requested or None
    if requested not in (None, "", own):
        raise Forbidden(
            "province_forbidden", "That is another province's calendar.", "Đây là lịch làm việc của tỉnh khác."
        )
    return own


def visible_unit_ids(user: User | None) -> set[int] | None:
    """Units whose reports the user may read; None means every report (dispatcher, admin);
    a dispatcher or admin of one province: the units of that province."""
    if user is None or user.role not in STAFF_ROLES:
        return set()
    if user.role in ALL_REPORTS_ROLES:
        province = province_of(user)
        if province is None:
            return None
        return set(db.session.scalars(select(Unit.id).where(Unit.province_code == province)))
    if user.unit_id is None:
        return set()
    if user.role == Role.SUPERVISOR:
        cache = _memo("policy_subtrees")
        if user.unit_id not in cache:
            cache[user.unit_id] = unit_subtree(user.unit_id)
        return cache[user.unit_id]
    return {user.unit_id}


def report_scope(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause limiting a select of Report to what the user may read."""
    if user is not None and user.role in ALL_REPORTS_ROLES:
        province = province_of(user)
        return true() if province is None else Report.province_code == province
    ids = visible_unit_ids(user)
    if ids is None:
        return true()
    return Report.unit_id.in_(ids) if ids else false()


def can_see_report(user: User | None, report: Report) -> bool:
    if user is not None and user.role in ALL_REPORTS_ROLES:
        return in_province(user, report)
    ids = visible_unit_ids(user)
    return ids is None or report.unit_id in ids


def can_see_contact(user: User | None) -> bool:
    return user is not None and user.role in CONTACT_ROLES


def can_act(user: User | None, report: Report) -> bool:
    """May do the unit's work on it (accept, transfer, resolve...): its own unit's staff.

    The dispatcher is the staff of the dispatcher unit, so this covers the triage queue
    (and reports not routed yet); admins may do anything.
    """
    if user is None:
        return False
    if user.role == Role.ADMIN:
        return in_province(user, report)
    if user.role == Role.DISPATCHER and report.unit_id is None:
        return in_province(user, report)
    return user.role in (Role.STAFF, Role.DISPATCHER) and user.unit_id is not None and user.unit_id == report.unit_id


def can_triage(user: User | None) -> bool:
    """May assign any report to any unit (the dispatcher's job)."""
    return user is not None and user.role in (Role.DISPATCHER, Role.ADMIN)


def can_supervise(user: User | None, report: Report) -> bool:
    """May reopen and reassign it: a supervisor over its unit, or an admin."""
    if user is None:
        return False
    if user.role == Role.ADMIN:
        return in_province(user, report)
    return user.role == Role.SUPERVISOR and report.unit_id in (visible_unit_ids(user) or set())
