"""Keeping indicator facts and rollups equal to what the events say, incrementally.

A trigger on `events` queues every touched report in indicator_dirty (same transaction as
the event). refresh() takes a batch, recomputes those reports' facts from all their events
(so a late event — a report resolved today that was received last month — rewrites the
fact), then rebuilds the day rows of every (unit, received day) whose facts changed, the
month rows of those (unit, month) from the day rows, and the year rows from the months.
Rebuilding from the source rather than adding deltas means a rerun changes nothing.
"""
from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import insert, select, text

from fieldreport.extensions import db
from fieldreport.models import Category, Event, IndicatorFact, Report, Unit
from fieldreport.services import deadlines
from fieldreport.services.indicator_facts import EventRow, build_facts
from fieldreport.services.indicators_sql import insert_coarse_rollups, insert_day_rollups

log = logging.getLogger(__name__)
LOCK_KEY = 0x1D1CA7  # pg advisory lock: one refresher rebuilds rollup rows at a time


def refresh(batch: int = 500, max_batches: int | None = None) -> int:
    """Process queued reports until the queue is empty; returns how many were recomputed."""
    done = batches = 0
    while max_batches is None or batches < max_batches:
        n = refresh_batch(batch)
        done += n
        batches += 1
        if n < batch:
            break
    return done


def refresh_batch(limit: int = 500) -> int:
    """One transaction: take up to `limit` dirty reports, recompute, commit."""
    session = db.session
    if not session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}).scalar():
        session.rollback()
        return 0  # another refresher is at work; it will drain the queue
    taken = session.execute(text(
        "DELETE FROM indicator_dirty WHERE id IN ("
        " SELECT id FROM indicator_dirty ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)"
        " RETURNING report_id"), {"n": limit}).scalars().all()
    if taken:
        recompute_reports(sorted(set(taken)))
    session.commit()
    return len(taken)


def _cells(report_ids: list[int]) -> set[tuple[int, date]]:
    rows = db.session.execute(select(IndicatorFact.unit_id, IndicatorFact.received_day)
                              .where(IndicatorFact.report_id.in_(report_ids))).all()
    return {(u, d) for u, d in rows}


def recompute_reports(report_ids: list[int]) -> int:
    """Rewrite the facts of these reports from their events, then the rollup rows they touch."""
    session = db.session
    before = _cells(report_ids)
    session.execute(IndicatorFact.__table__.delete().where(IndicatorFact.report_id.in_(report_ids)))
    reports = session.execute(select(Report.id, Report.category_id, Report.area_id)
                              .where(Report.id.in_(report_ids))).all()
    events: dict[int, list[EventRow]] = {}
    cols = (Event.report_id, Event.id, Event.at, Event.type, Event.actor, Event.actor_user_id,
            Event.to_status, Event.from_unit_id, Event.to_unit_id, Event.data)
    for row in session.execute(select(*cols).where(Event.report_id.in_(report_ids))
                               .order_by(Event.report_id, Event.at, Event.id)):
        events.setdefault(row[0], []).append(EventRow(*row[1:]))
    cal = deadlines.calendar()
    categories = {c.id: c for c in session.scalars(select(Category))}
    dispatchers = set(session.scalars(select(Unit.id).where(Unit.kind == "dispatcher")))
    rows = []
    for rid, category_id, area_id in reports:
        for fact in build_facts(rid, categories[category_id], area_id, events.get(rid, ()), cal,
                                dispatchers.__contains__):
            rows.append(fact.row())
    if rows:
        session.execute(insert(IndicatorFact), rows)
    rebuild_cells(before | {(r["unit_id"], r["received_day"]) for r in rows})
    return len(rows)


def rebuild_cells(cells: set[tuple[int, date]]) -> None:
    """Rebuild the day rows of these (unit, day) pairs, then their months and years."""
    if not cells:
        return
    session = db.session
    units = [u for u, _ in cells]
    days = [d for _, d in cells]
    months = {(u, d.replace(day=1)) for u, d in cells}
    years = {(u, d.replace(month=1, day=1)) for u, d in cells}
    pairs = "SELECT * FROM unnest(CAST(:u AS int[]), CAST(:d AS date[]))"
    session.execute(text(f"DELETE FROM indicator_rollups WHERE grain = 'd' AND (unit_id, bucket) IN ({pairs})"),
                    {"u": units, "d": days})
    session.execute(text(insert_day_rollups(f"(f.unit_id, f.received_day) IN ({pairs})")),
                    {"u": units, "d": days})
    for grain, keys, span in (("m", months, "1 month"), ("y", years, "1 year")):
        params = {"u": [u for u, _ in keys], "d": [d for _, d in keys]}
        session.execute(text(f"DELETE FROM indicator_rollups WHERE grain = '{grain}' "
                             f"AND (unit_id, bucket) IN ({pairs})"), params)
        finer = (f"EXISTS (SELECT 1 FROM unnest(CAST(:u AS int[]), CAST(:d AS date[])) k(u, d) "
                 f"WHERE r.unit_id = k.u AND r.bucket >= k.d AND r.bucket < k.d + interval '{span}')")
        session.execute(text(insert_coarse_rollups(grain, finer)), params)


def rebuild_all() -> None:
    """Rebuild every rollup row from the facts (after a bulk load or a bounds change)."""
    session = db.session
    session.execute(text("DELETE FROM indicator_rollups"))
    session.execute(text(insert_day_rollups("true")))
    session.execute(text(insert_coarse_rollups("m", "true")))
    session.execute(text(insert_coarse_rollups("y", "true")))
    session.commit()


def mark_calendar_change(day: date) -> int:
    """Queue the reports whose due or working hours may move when `day` changes kind."""
    n = db.session.execute(text(
        "INSERT INTO indicator_dirty (report_id) SELECT DISTINCT report_id FROM indicator_facts "
        "WHERE received_day <= :d AND (settle_day IS NULL OR settle_day >= :d OR due_at >= :d)"),
        {"d": day}).rowcount
    return n
