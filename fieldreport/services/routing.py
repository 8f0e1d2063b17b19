"""Spatial routing: find the commune of the point, then the most specific rule for the category.

The lookup runs in PostGIS on the GiST indexes, one prepared statement (the commune and the
rule; the dispatcher only when no rule applies), chosen by measurement (bench/routing.py):
an in-memory STRtree answers a point in ~12 µs against ~120-220 µs for a prepared PostGIS
ST_Contains, but one routing job in an RQ worker costs ~100-200 ms (a fork, a fresh database
backend, commits), of which the whole PostGIS decision is about 1%. An in-memory index would
save that 1% and add a cache to keep consistent across processes and hosts whenever
boundaries or rules change; PostGIS is consistent by construction.

Decision, recorded on the report as `routing` (the "explain"):
1. the commune containing the point (two: the smallest code, the others listed); none, but
   within BORDER_SNAP_METERS of one (the simplified boundaries leave gaps): the nearest,
   with the distance; a commune of a province the deployment does not serve (setting
   PROVINCES), or none: the dispatcher ("outside_province");
2. the active rules of the category (or of every category) whose scope holds the point —
   a commune rule only for the chosen commune, a larger area rule for it or its ancestors
   or by geometry, a drawn scope by geometry — ordered by priority (high first), then scope
   area (small first), then rule id;
3. no rule, or the category is "other": the dispatcher's triage queue — the dispatcher of the
   commune's province when it has one of its own (services/provinces.py), else the first one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TypedDict

from sqlalchemy import or_, select

from fieldreport import geo
from fieldreport import queue as jobs
from fieldreport.extensions import db, queues
from fieldreport.models import AssignReason, Category, Event, EventType, Report, Status, Unit
from fieldreport.models.base import utcnow
from fieldreport.services import communes, deadlines, provinces, uow, workflow

ROUTABLE = (Status.SUBMITTED, Status.REOPENED)
HANDOVERS = (
    EventType.REOPENED,
    EventType.ASSIGNED,
    EventType.TRANSFERRED,
    EventType.REASSIGNED,
    EventType.RETURNED,
)
ROUTER = "system:router"


@dataclass(frozen=True)
class Decision:
    unit_id: int
    unit_code: str
    reason: str  # rule | no_rule | category_other | outside_province | reopened
    method: str  # contains | nearest | none
    area_id: int | None = None
    area_code: str | None = None
    area_name: str | None = None
    province_code: str | None = None
    distance_m: float | None = None
    rule_id: int | None = None
    rule_note: str | None = None
    also_in: tuple[str, ...] = field(default_factory=tuple)

    def explain(self) -> dict:
        out = asdict(self)
        out["also_in"] = list(self.also_in)
        out.pop("unit_id")
        out.pop("area_id")
        return out


# One statement, prepared once per connection: the commune (communes.LOCATE) and the winning
# rule for it, $5 the category, $6 whether a rule is looked for at all. The rules whose scope
# holds the point — of the commune and its ancestors, drawn scopes around the point, other
# larger areas around it (e.g. old districts) — ordered by priority (high first), scope area
# (small first), id. A snapped point lies on a commune's border, so it is matched within
# 1 cm (a distance test) rather than by point-in-polygon.
_DECIDE_TYPES = (*communes.TYPES, "int", "boolean")
_TOUCH = 1e-7  # degrees (~1 cm): a snapped point on a border still touches the scope
_DECIDE = f"""
WITH RECURSIVE {communes.LOCATE},
  chain(id, parent_id) AS (
    SELECT a.id, a.parent_id FROM areas a JOIN here h ON a.id = h.id
    UNION SELECT a.id, a.parent_id FROM areas a JOIN chain c ON a.id = c.parent_id),
  pt AS (SELECT ST_SetSRID(ST_MakePoint(h.x, h.y), 4326) AS g, h.method = 'nearest' AS snapped FROM here h),
  candidates AS (
    SELECT r.id FROM routing_rules r
    WHERE $6 AND (r.category_id = $5 OR r.category_id IS NULL) AND r.area_id IN (SELECT id FROM chain)
    UNION ALL
    SELECT r.id FROM routing_rules r, pt
    WHERE $6 AND (r.category_id = $5 OR r.category_id IS NULL) AND r.area_id IS NULL
      AND ((NOT pt.snapped AND ST_Intersects(r.scope, pt.g)) OR (pt.snapped AND ST_DWithin(r.scope, pt.g, {_TOUCH})))
    UNION ALL
    SELECT r.id FROM routing_rules r JOIN areas a ON a.id = r.area_id, pt
    WHERE $6 AND (r.category_id = $5 OR r.category_id IS NULL) AND a.level <> 'commune'
      AND a.id NOT IN (SELECT id FROM chain)
      AND ((NOT pt.snapped AND ST_Intersects(a.geom, pt.g)) OR (pt.snapped AND ST_DWithin(a.geom, pt.g, {_TOUCH})))),
  rule AS (
    SELECT r.id, r.note, u.id AS unit_id, u.code AS unit_code
    FROM routing_rules r JOIN units u ON u.id = r.unit_id
    WHERE r.id IN (SELECT id FROM candidates) AND r.active AND u.active
    ORDER BY r.priority DESC, r.scope_area_m2 ASC NULLS LAST, r.id LIMIT 1)
SELECT h.*, rule.* FROM here h LEFT JOIN rule ON true"""


class _Place(TypedDict):
    """Where the report is, as a Decision records it."""

    method: str
    distance_m: float | None
    also_in: tuple[str, ...]
    area_id: int | None
    area_code: str | None
    area_name: str | None
    province_code: str | None


def decide(lon: float, lat: float, category: Category) -> Decision:
    """Where a report of `category` at (lon, lat) goes, and why: one prepared statement
    (the commune and its rule), and the dispatcher when no rule applies."""
    rows = db.prepared(
        "routing_decide", _DECIDE_TYPES, _DECIDE, (*communes.arguments(lon, lat), category.id, not category.is_other)
    )
    row = rows[0] if rows else None
    commune, method, distance, also_in, _ = communes.located(row, lon, lat)
    place = _Place(
        method=method,
        distance_m=distance,
        also_in=also_in,
        area_id=commune.id if commune else None,
        area_code=commune.code if commune else None,
        area_name=commune.full_name if commune else None,
        province_code=commune.province_code if commune else None,
    )
    if commune is None or not provinces.serves(commune.province_code):
        reason = AssignReason.OUTSIDE_PROVINCE
    elif category.is_other:
        reason = AssignReason.CATEGORY_OTHER
    elif row is not None and row[9] is not None:
        rule_id, note, unit_id, unit_code = row[9:13]
        return Decision(
            unit_id=unit_id, unit_code=unit_code, reason=AssignReason.RULE, rule_id=rule_id, rule_note=note, **place
        )
    else:
        reason = AssignReason.NO_RULE
    dispatcher = workflow.dispatcher_unit(place["province_code"])
    return Decision(unit_id=dispatcher.id, unit_code=dispatcher.code, reason=reason, **place)


def preload() -> None:
    """Warm, in the worker's parent, what every forked job would otherwise redo (measured:
    ~80 ms a job): the working calendar of the years around today, and SQLAlchemy's compiled
    statements, by rehearsing a routing in a transaction that is rolled back (the prepared
    decision statement lives with the connection, which is not kept across the fork). There
    is no index to load: the lookup runs in PostGIS."""
    cal = deadlines.calendar()
    now = utcnow()
    cal.working_hours_between(now - timedelta(days=400), now + timedelta(days=400))
    category = db.session.scalar(select(Category).order_by(Category.id).limit(1))
    if category is not None:
        try:
            rehearsal = Report(
                code="-warmup-",
                citizen_token_hash="-",
                category_id=category.id,
                status=Status.SUBMITTED,
                location=geo.point(0.0, 0.0),
            )
            db.session.add(rehearsal)
            db.session.flush()
            db.session.scalar(select(Report).where(Report.id == rehearsal.id).with_for_update())
            needs_routing(rehearsal)
            decision = decide(0.0, 0.0, category)  # nowhere: the dispatcher
            workflow.assign_unit(
                rehearsal,
                db.session.get_one(Unit, decision.unit_id),
                type_=EventType.ASSIGNED,
                actor=ROUTER,
                reason=decision.reason,
            )
            db.session.flush()
        finally:
            uow.rollback()
    deadlines.forget_calendar()  # keep the warm memo, not a per-job copy read at start-up
    db.session.remove()  # no connection or transaction may cross the fork


def needs_routing(report: Report) -> bool:
    """New and not routed yet, or reopened and not handed back to a unit since."""
    if report.status == Status.SUBMITTED:
        return report.unit_id is None
    if report.status == Status.REOPENED:
        last = db.session.scalar(
            select(Event.type)
            .where(Event.report_id == report.id, Event.type.in_(HANDOVERS))
            .order_by(Event.id.desc())
            .limit(1)
        )
        return last == EventType.REOPENED
    return False


def route_report(report_id: int) -> str:
    """The routing job's use case; idempotent and safe with many workers at once.

    The row lock makes a second worker wait for the first one's commit, then see that the
    report no longer needs routing and do nothing. A reopened report goes back to the unit
    that handled it while that unit is active (the citizen is unhappy with its work);
    otherwise it is routed like a new one.
    """
    # The report with its category in one round trip (the category lands in the session's
    # identity map, where decide() and assign_unit() find it); only the report row is locked.
    found = db.session.execute(
        select(Report, Category)
        .join(Category, Category.id == Report.category_id)
        .where(Report.id == report_id)
        .with_for_update(of=Report)
    ).first()
    if found is None or not needs_routing(found[0]):
        uow.commit()  # nothing to do: end the transaction, release the lock
        return "skipped"
    report, category = found
    unit = db.session.get(Unit, report.unit_id) if report.unit_id else None
    area_id, province_code = report.area_id, report.province_code
    if report.status == Status.REOPENED and unit is not None and unit.active:
        explain = {
            **(report.routing or {}),
            "reason": AssignReason.REOPENED,
            "unit_code": unit.code,
            "decided_at": utcnow().isoformat(),
        }
        outcome = "triage" if unit.kind == workflow.DISPATCHER_KIND else "assigned"
    else:
        decision = decide(*geo.lonlat(report.location), category)
        unit = db.session.get_one(Unit, decision.unit_id)
        explain = {**decision.explain(), "decided_at": utcnow().isoformat()}
        area_id, province_code = decision.area_id, decision.province_code
        outcome = "assigned" if decision.reason == AssignReason.RULE else "triage"
    # Every read before the first change to the report, so that the report is one UPDATE
    # (flushed with the event) rather than one per autoflush.
    cal = deadlines.calendar(province_code)
    report.area_id, report.province_code = area_id, province_code
    report.routing = explain
    status = Status.ASSIGNED if report.status == Status.SUBMITTED and outcome == "assigned" else None
    workflow.assign_unit(
        report,
        unit,
        type_=EventType.ASSIGNED,
        status=status,
        actor=ROUTER,
        reason=explain["reason"],
        data={"routing": explain},
        cal=cal,
    )
    uow.commit()
    return outcome


def requeue_unrouted(older_than_seconds: int = 120, limit: int = 500) -> int:
    """Re-send the routing job of reports still waiting after a while (periodic).

    Covers what the outbox cannot see: a job lost with Redis data, or a worker killed with
    no retry left. Jobs are idempotent, so an extra send is harmless.
    """
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    candidates = db.session.scalars(
        select(Report)
        .where(
            Report.status.in_(ROUTABLE),
            Report.updated_at <= cutoff,
            or_(Report.unit_id.is_(None), Report.status == Status.REOPENED),
        )
        .order_by(Report.updated_at)
        .limit(limit)
    ).all()
    ids = [r.id for r in candidates if needs_routing(r)]
    uow.commit()  # read only: end the transaction before talking to Redis
    for rid in ids:
        queues.enqueue(*jobs.ROUTE_REPORT, rid, job_id=f"route-{rid}")
    return len(ids)
