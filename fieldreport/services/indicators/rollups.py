"""Keeping indicator facts and rollups equal to what the events say, incrementally.

A trigger on `events` queues every touched report in indicator_dirty (same transaction as
the event). refresh() takes a batch, recomputes those reports' facts from all their events
(so a late event — a report resolved today that was received last month — rewrites the
fact), and moves every rollup row the reports touch by (new − old) contributions of just
those facts (their flows, dated by their events), computed with the same SQL as a full
rebuild. Counts stay exact; hour sums
may differ from a rebuild in the last float digits. A rerun changes nothing (the
difference is zero); one refresher at a time (advisory lock), so deltas never interleave.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import cast

from sqlalchemy import CursorResult, delete, select, text

from fieldreport.extensions import db
from fieldreport.models import Category, Event, IndicatorFact, Report, Unit
from fieldreport.services import deadlines, uow
from fieldreport.services.indicators import cache
from fieldreport.services.indicators.facts import EventRow, build_facts, copy_facts
from fieldreport.services.indicators.measures import (
    ROLLUP_KEY,
    apply_contributions,
    insert_rollups,
    stash_contributions,
)

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
        uow.rollback()
        return 0  # another refresher is at work; it will drain the queue
    taken = (
        session.execute(
            text(
                "DELETE FROM indicator_dirty WHERE id IN ("
                " SELECT id FROM indicator_dirty ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)"
                " RETURNING report_id"
            ),
            {"n": limit},
        )
        .scalars()
        .all()
    )
    changed_from = recompute_reports(sorted(set(taken))) if taken else None
    uow.commit()
    if changed_from is not None:
        cache.bump(changed_from)
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
    tz = deadlines.zone().key
    session.execute(text(stash_contributions("rollup_old", mine, tz)), {"ids": report_ids})
    old = (
        session.execute(select(IndicatorFact.__table__).where(IndicatorFact.report_id.in_(report_ids))).mappings().all()
    )
    session.execute(
        delete(IndicatorFact)
        .where(IndicatorFact.report_id.in_(report_ids))
        .execution_options(synchronize_session=False)  # no fact is loaded as an object
    )
    reports = session.execute(
        select(Report.id, Report.category_id, Report.area_id, Report.channel, Report.province_code).where(
            Report.id.in_(report_ids)
        )
    ).all()
    events: dict[int, list[EventRow]] = {}
    cols = (
        Event.report_id,
        Event.id,
        Event.at,
        Event.type,
        Event.actor,
        Event.actor_user_id,
        Event.to_status,
        Event.from_unit_id,
        Event.to_unit_id,
        Event.data,
    )
    for row in session.execute(
        select(*cols).where(Event.report_id.in_(report_ids)).order_by(Event.report_id, Event.at, Event.id)
    ):
        events.setdefault(row[0], []).append(EventRow(*row[1:]))
    categories = {c.id: c for c in session.scalars(select(Category))}
    dispatchers = set(session.scalars(select(Unit.id).where(Unit.kind == "dispatcher")))
    facts = [
        fact
        for rid, category_id, area_id, channel, province in reports
        for fact in build_facts(
            rid,
            categories[category_id],
            area_id,
            events.get(rid, ()),
            deadlines.calendar(province),  # working time as the workflow counts it: the province's days
            dispatchers.__contains__,
            channel,
        )
    ]
    if facts:
        session.flush()
        copy_facts(session.connection().connection.cursor(), facts)
    session.execute(text(stash_contributions("rollup_new", mine, tz)), {"ids": report_ids})
    session.execute(text(apply_contributions("rollup_old", "rollup_new")))
    # A row whose last fact went away (e.g. moved to another unit) is removed.
    key = ROLLUP_KEY
    session.execute(
        text(
            f"DELETE FROM indicator_rollups WHERE ({key}) IN "
            f"(SELECT {key} FROM rollup_old EXCEPT SELECT {key} FROM rollup_new) AND received <= 0"
        )
    )
    return changed_from(old, facts)


# A table as of T reads each fact's flows dated before T and its stock at T. Where only
# moments and the values they gate changed, T <= the earliest old or new value of a changed
# moment reads the same — except that an answer's dissatisfaction is counted on the answer's
# day and depends on the rating, the reopening and the due, so those count from the answer
# too. Anything else (a fact appearing or going, its receipt, its spans away, category,
# commune, channel) counts from the receipt.
_MOMENTS = {
    "left_at": ((), ()),
    "handed_late_at": ((), ()),
    "due_at": ((), ("answered_at",)),
    "answered_at": (("answer_kind", "handling_wh", "handling_ch"), ()),
    "first_response_at": (("first_response_wh", "first_response_ch"), ()),
    "rated_at": (("rating",), ("answered_at",)),
    "reopened_at": ((), ("answered_at",)),
}
_REST = ("received_at", "category_id", "area_id", "channel", "away_from", "away_to", "auto_routed")
_GATED = tuple(c for m, (gated, _) in _MOMENTS.items() for c in (m, *gated))


def changed_from(old, new) -> datetime | None:
    """The earliest moment from which the new facts read differently from the old ones."""

    def moment(a, b):
        return min((m for m in (a, b) if m is not None), default=None)

    olds = {(o["report_id"], o["unit_id"]): o for o in old}
    news = {(n.report_id, n.unit_id): {c: getattr(n, c) for c in (*_REST, *_GATED)} for n in new}
    out = []
    for key in olds.keys() | news.keys():
        o, n = olds.get(key), news.get(key)
        if o is None or n is None or any(_norm(o[c]) != _norm(n[c]) for c in _REST):
            out.append(moment(o and o["received_at"], n and n["received_at"]))
            continue
        for m, (gated, also) in _MOMENTS.items():
            if any(_norm(o[c]) != _norm(n[c]) for c in (m, *gated)):
                out += [moment(o[c], n[c]) for c in (m, *also)]
    return min((m for m in out if m is not None), default=None)


def _norm(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def rebuild_all() -> None:
    """Rebuild every rollup row from the facts (after a bulk load or a bounds change)."""
    session = db.session
    session.execute(text("DELETE FROM indicator_rollups"))
    tz = deadlines.calendar().tz.key
    for grain in "dmy":
        session.execute(text(insert_rollups(grain, tz)))
    uow.commit()


def mark_calendar_change(day: date) -> int:
    """Queue (and commit) the reports whose due or working hours may move when `day` changes kind."""
    result = db.session.execute(
        text(
            "INSERT INTO indicator_dirty (report_id) SELECT DISTINCT report_id FROM indicator_facts "
            "WHERE received_day <= :d AND (settle_day IS NULL OR settle_day >= :d OR due_at >= :d)"
        ),
        {"d": day},
    )
    n = cast(CursorResult, result).rowcount
    uow.commit()
    return n
