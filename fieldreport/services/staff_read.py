"""What staff see of reports: queue rows, the dispatcher's triage, the full detail (history,
explain, contact) and the units; read by the staff API and the console alike."""

from __future__ import annotations

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from fieldreport import geo
from fieldreport.errors import Forbidden, Unprocessable
from fieldreport.extensions import db, storage
from fieldreport.models import (
    OPEN_STATUSES,
    STATUSES,
    Addition,
    Area,
    Category,
    Event,
    Photo,
    Report,
    Status,
    Unit,
    User,
)
from fieldreport.models.base import utcnow
from fieldreport.services import policy, privacy, workflow
from fieldreport.services.events import shown_actor

_unit = aliased(Unit)
_area = aliased(Area)


def summary_select() -> Select:
    """Reports with the names a queue row shows, in one query.

    Every join is outer (a report always has its category): the page's count then reads the
    reports alone, PostgreSQL dropping joins to unique keys that nothing uses."""
    return (
        select(
            Report,
            Category.code,
            Category.name_vi,
            Category.name_en,
            _unit.code,
            _unit.name,
            _area.code,
            _area.full_name,
        )
        .outerjoin(Category, Category.id == Report.category_id)
        .outerjoin(_unit, _unit.id == Report.unit_id)
        .outerjoin(_area, _area.id == Report.area_id)
    )


def _overdue(report: Report) -> bool:
    return (
        report.status in OPEN_STATUSES
        and report.paused_at is None
        and report.due_at is not None
        and report.due_at < utcnow()
    )


def summary(row, vi: bool) -> dict:
    report, cat_code, cat_vi, cat_en, unit_code, unit_name, area_code, area_name = row
    lon, lat = geo.lonlat(report.location)
    return {
        "code": report.code,
        "status": report.status,
        "category": {"code": cat_code, "name": cat_vi if vi else cat_en},
        "unit": {"code": unit_code, "name": unit_name} if unit_code else None,
        "area": {"code": area_code, "name": area_name} if area_code else None,
        "description": report.description,
        "address_hint": report.address_hint,
        "lon": lon,
        "lat": lat,
        "created_at": report.created_at,
        "assigned_at": report.assigned_at,
        "due_at": report.due_at,
        "overdue": _overdue(report),
        "followers_count": report.followers_count,
        "transfer_count": report.transfer_count,
    }


def _photo(photo: Photo, private: bool) -> dict:
    """Derivative URLs for every staff viewer; the original (with its EXIF time and GPS,
    private evidence) only for the roles that also see the reporter's identity."""
    out = {"id": photo.id, "kind": photo.kind, "mime": photo.mime, "width": photo.width, "height": photo.height}
    if photo.display_key and photo.thumb_key:
        out["display_url"] = storage.presigned_get(photo.display_key)
        out["thumb_url"] = storage.presigned_get(photo.thumb_key)
    if private:
        out["original_url"] = storage.presigned_get(photo.key)
        out["taken_at"] = photo.taken_at.isoformat() if photo.taken_at else None
        if photo.gps is not None:
            out["gps"] = dict(zip(("lon", "lat"), geo.lonlat(photo.gps), strict=True))
    return out


def detail(report: Report, user: User, *, vi: bool) -> dict:
    row = db.session.execute(summary_select().where(Report.id == report.id)).one()
    out = summary(row, vi)
    events = db.session.scalars(select(Event).where(Event.report_id == report.id).order_by(Event.at, Event.id)).all()
    acting: dict[int | None, int | None] = dict(
        db.session.execute(
            select(User.id, User.unit_id).where(User.id.in_({e.actor_user_id for e in events} - {None}))
        ).all()
    )
    unit_ids = {e.from_unit_id for e in events} | {e.to_unit_id for e in events} | set(acting.values())
    units: dict[int | None, Unit] = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids - {None})))
    }
    codes = {i: u.code for i, u in units.items()}

    def named(unit_id):
        u = units.get(unit_id)
        return {"code": u.code, "name": u.name, "name_en": u.name_en, "kind": u.kind} if u else None

    parent = db.session.scalar(select(Report.code).where(Report.id == report.parent_id)) if report.parent_id else None
    out.update(
        {
            "attributes": report.attributes or {},
            "accuracy_m": report.accuracy_m,
            "location_source": report.location_source,
            "channel": report.channel,
            "accepted_at": report.accepted_at,
            "first_response_at": report.first_response_at,
            "resolved_at": report.resolved_at,
            "closed_at": report.closed_at,
            "indicator_due_at": report.indicator_due_at,
            "citizen_due_at": report.citizen_due_at,
            "paused_at": report.paused_at,
            "public_answer": report.public_answer,
            "reject_reason": report.reject_reason,
            "parent_code": parent,
            "reopen_count": report.reopen_count,
            "manually_triaged": report.manually_triaged,
            "rating": report.rating,
            "rating_comment": report.rating_comment,
            "routing": report.routing,
            "photos": [
                _photo(p, policy.can_see_contact(user))
                for p in db.session.scalars(select(Photo).where(Photo.report_id == report.id).order_by(Photo.id))
            ],
            "history": [
                {
                    "at": e.at,
                    "type": e.type,
                    "actor": shown_actor(e.actor),
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "from_unit": codes.get(e.from_unit_id),
                    "to_unit": codes.get(e.to_unit_id),
                    "reason": e.reason,
                    "note": e.note,
                    "public": e.public,
                    "data": e.data or {},
                    # names for people: the acting staff's unit, the units it moved between
                    "actor_unit": named(acting.get(e.actor_user_id)),
                    "from_unit_named": named(e.from_unit_id),
                    "to_unit_named": named(e.to_unit_id),
                }
                for e in events
            ],
            # Supporters' photos and notes ("me too" with their own): staff only, never public.
            "additions": [
                {
                    "at": a.created_at,
                    "note": a.note,
                    "photos": [_photo(p, policy.can_see_contact(user)) for p in a.photos],
                }
                for a in db.session.scalars(
                    select(Addition).where(Addition.report_id == report.id).order_by(Addition.id)
                )
            ],
            # Masked even for the roles that may reveal it: a reveal asks why and is audited.
            "reporter": privacy.masked(report, user),
            "erased_at": report.erased_at,
            "actions": workflow.allowed_actions(user, report),
        }
    )
    return out


def _statuses(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return OPEN_STATUSES
    if text == "all":
        return None
    wanted = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in wanted if s not in STATUSES]
    if bad:
        raise Unprocessable(
            "bad_status",
            f"Unknown status: {', '.join(bad)}.",
            f"Trạng thái không hợp lệ: {', '.join(bad)}.",
            field="status",
        )
    return wanted


def _page(q: Select, page: int, page_size: int, order, vi: bool) -> dict:
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    rows = db.session.execute(q.order_by(*order).offset((page - 1) * page_size).limit(page_size)).all()
    return {"items": [summary(r, vi) for r in rows], "page": page, "page_size": page_size, "total": total}


def queue(
    user: User,
    *,
    vi: bool,
    status: str | None = None,
    category: str | None = None,
    area: str | None = None,
    unit: str | None = None,
    overdue: bool | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """The reports the user may read, filtered, soonest due first."""
    q = summary_select().where(policy.report_scope(user))
    statuses = _statuses(status)
    if statuses is not None:
        q = q.where(Report.status.in_(statuses))
    if category:
        q = q.where(Category.code == category)
    if area:
        q = q.where(_area.code == area)
    if unit:
        target = db.session.scalar(select(Unit).where(Unit.code == unit))
        if target is None:
            raise Unprocessable("unknown_unit", f"No unit {unit}.", f"Không có đơn vị {unit}.", field="unit")
        visible = policy.visible_unit_ids(user)
        if visible is not None and target.id not in visible:
            raise Forbidden(
                "unit_forbidden",
                "That unit's reports are not visible to you.",
                "Bạn không được xem phản ánh của đơn vị này.",
            )
        q = q.where(Report.unit_id == target.id)
    if overdue:
        q = q.where(Report.status.in_(OPEN_STATUSES), Report.paused_at.is_(None), Report.due_at < utcnow())
    elif overdue is False:
        q = q.where(or_(Report.due_at.is_(None), Report.due_at >= utcnow()))
    return _page(q, page, page_size, (Report.due_at.asc().nulls_last(), Report.id), vi)


def triage(user: User | None, page: int = 1, page_size: int = 20, *, vi: bool) -> dict:
    """The dispatcher's queue: reports held by the dispatcher unit, and any not yet routed
    (a report whose routing job is stuck still shows up here, first); of the user's province."""
    dispatchers = select(Unit.id).where(Unit.kind == workflow.DISPATCHER_KIND)
    q = summary_select().where(
        policy.report_scope(user),
        Report.status.in_(OPEN_STATUSES),
        or_(
            Report.unit_id.in_(dispatchers),
            and_(Report.unit_id.is_(None), Report.status.in_((Status.SUBMITTED, Status.REOPENED))),
        ),
    )
    return _page(q, page, page_size, (Report.due_at.asc().nulls_first(), Report.created_at, Report.id), vi)


def units(user: User | None = None) -> list[dict]:
    parent = aliased(Unit)
    rows = db.session.execute(
        select(Unit.code, Unit.name, Unit.kind, parent.code)
        .outerjoin(parent, parent.id == Unit.parent_id)
        .where(policy.units_scope(user))
        .where(Unit.active)
        .order_by(Unit.code)
    ).all()
    return [{"code": c, "name": n, "kind": k, "parent_code": p} for c, n, k, p in rows]


def unit(unit_id: int | None) -> Unit | None:
    """A user's, key's or report's unit (None for none)."""
    return db.session.get(Unit, unit_id) if unit_id else None
