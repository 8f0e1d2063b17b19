"""Keeping indicator facts and rollups equal to what the events say, incrementally.

A trigger on `events` queues every touched report in indicator_dirty (same transaction as
the event). refresh() takes a batch, recomputes those reports' facts from all their events
(so a late event — a report resolved today that was received last month — rewrites the
fact), and moves every rollup row the reports touch by (new − old) contributions of just
those facts, computed with the same SQL as a full rebuild. Counts stay exact; hour sums
may differ from a rebuild in the last float digits. A rerun changes nothing (the
difference is zero); one refresher at a time (advisory lock), so deltas never interleave.
"""
from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import select, text

from fieldreport.extensions import db
from fieldreport.models import Category, Event, IndicatorFact, Report, Unit
from fieldreport.services import deadlines, indicator_cache
from fieldreport.services.indicator_facts import EventRow, build_facts, copy_facts
from fieldreport.services.indicators_sql import apply_contributions, insert_rollups, stash_contributions

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
    if done:
        log.info("indicator facts recomputed for %d queued reports", done)
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
    changed_from = recompute_reports(sorted(set(taken))) if taken else None
    session.commit()
    if changed_from is not None:
        indicator_cache.bump(changed_from)
    return len(taken)


def recompute_reports(report_ids: list[int]) -> datetime | None:
    """Rewrite the facts of these reports from their events and move the rollups by the difference.

    Rollup rows change by (new contributions − old contributions) of these reports only, so
    a refresh costs what the touched reports cost, not what their units' months hold.
    Returns the earliest moment from which the facts read differently (None: no change),
    so cached tables of periods that ended before it stay valid.
    """
    session = db.session
    mine = "f.report_id = ANY(CAST(:ids AS bigint[]))"
    session.execute(text("DROP TABLE IF EXISTS rollup_old, rollup_new, facts_old"))
    session.execute(text(stash_contributions("rollup_old", mine)), {"ids": report_ids})
    session.execute(text(f"CREATE TEMPORARY TABLE facts_old AS SELECT * FROM indicator_facts f WHERE {mine}"),
                    {"ids": report_ids})
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
    facts = [fact for rid, category_id, area_id in reports
             for fact in build_facts(rid, categories[category_id], area_id, events.get(rid, ()), cal,
                                     dispatchers.__contains__)]
    if facts:
        session.flush()
        copy_facts(session.connection().connection.cursor(), facts)
    session.execute(text(stash_contributions("rollup_new", mine)), {"ids": report_ids})
    session.execute(text(apply_contributions("rollup_old", "rollup_new")))
    # A row whose last settled fact went away (e.g. moved to another unit) is removed.
    key = "grain, bucket, unit_id, category_id, area_id"
    session.execute(text(
        f"DELETE FROM indicator_rollups WHERE ({key}) IN "
        f"(SELECT {key} FROM rollup_old EXCEPT SELECT {key} FROM rollup_new) AND received <= 0"))
    changed_from = session.execute(text(CHANGED_FROM), {"ids": report_ids}).scalar()
    session.execute(text("DROP TABLE rollup_old, rollup_new, facts_old"))
    return changed_from


# The state of a fact as of T compares each of its moments with T, and reads a value only
# when the moment that gates it (answer, first response, rating) is before T. So where only
# moments and gated values changed, T ≤ the earliest old or new value of a changed moment
# reads the same; anything else (a fact appearing or going, its receipt, its spans away,
# category, commune) counts from the receipt.
_MOMENTS = {"left_at": (), "due_at": (), "reopened_at": (),
            "answered_at": ("answer_kind", "handling_wh", "handling_ch"),
            "first_response_at": ("first_response_wh", "first_response_ch"), "rated_at": ("rating",)}
_REST = ("received_at", "category_id", "area_id", "away_from", "away_to", "auto_routed")


def _differs(cols) -> str:
    return f"({', '.join(f'o.{c}' for c in cols)}) IS DISTINCT FROM ({', '.join(f'n.{c}' for c in cols)})"


CHANGED_FROM = f"""
    SELECT min(CASE WHEN o.report_id IS NULL OR n.report_id IS NULL OR {_differs(_REST)}
      THEN least(o.received_at, n.received_at)
      ELSE least({", ".join(f"CASE WHEN {_differs((m, *gated))} THEN least(o.{m}, n.{m}) END"
                            for m, gated in _MOMENTS.items())}) END)
    FROM facts_old o
    FULL JOIN (SELECT * FROM indicator_facts WHERE report_id = ANY(CAST(:ids AS bigint[]))) n
      USING (report_id, unit_id)"""
