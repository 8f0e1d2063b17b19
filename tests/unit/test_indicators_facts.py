"""Facts from histories written by the real workflow; refresh idempotency; percentile estimates."""

from __future__ import annotations

import random
from datetime import date, datetime

import pytest
from sqlalchemy import func, insert, select, text

from fieldreport.extensions import db
from fieldreport.models import Event, IndicatorDirty, IndicatorFact, IndicatorRollup, Unit
from fieldreport.services import deadlines, routing, workflow
from fieldreport.services.indicators import rollups
from fieldreport.services.indicators.measures import WH_BOUNDS
from fieldreport.services.indicators.periods import tiles
from fieldreport.services.indicators.totals import percentile
from fieldreport.worktime import TZ
from tests import factories as f


def facts(report) -> dict[str, IndicatorFact]:
    rows = db.session.execute(
        select(IndicatorFact, Unit.code)
        .join(Unit, Unit.id == IndicatorFact.unit_id)
        .where(IndicatorFact.report_id == report.id)
    ).all()
    return {code: fact for fact, code in rows}


def test_workflow_history_gives_one_fact_per_unit(db_session, redis_clean):
    report = f.make_report(db_session, "street_light", *f.BMT)
    assert routing.route_report(report.id) == "assigned"  # the old city: URENCO-BMT
    first_unit = f.unit(db_session, "URENCO-BMT").id
    assert report.unit_id == first_unit
    urenco = f.user(db_session, "urenco.staff")
    workflow.accept(report, urenco)
    workflow.transfer(report, urenco, "UBND-24133", "đèn trong hẻm do phường quản lý")
    staff = f.user(db_session, "bmt.staff")
    workflow.request_info(report, staff, "Số nhà gần nhất?")
    workflow.provide_info(report, "Trước số 12")
    workflow.reject(report, staff, "out_of_scope", "đèn của hộ dân")
    assert db.session.scalar(select(func.count()).select_from(IndicatorDirty)) > 0  # the trigger
    rollups.refresh()
    assert db.session.scalar(select(func.count()).select_from(IndicatorDirty)) == 0

    got = facts(report)
    assert set(got) == {"URENCO-BMT", "UBND-24133"}
    first, second = got["URENCO-BMT"], got["UBND-24133"]
    assert first.auto_routed and not second.auto_routed
    assert first.left_at is not None and first.first_response_at is not None
    assert first.answered_at is None and first.settle_day is not None
    assert second.left_at is None and second.answer_kind == "rejected"
    assert second.first_response_at < second.answered_at
    # The workflow's due, moved by the (milliseconds-long) pause; its clock reads differ
    # from the events' timestamps by a few microseconds.
    assert abs((second.due_at - report.indicator_due_at).total_seconds()) < 1
    assert second.settle_day == second.answered_at.astimezone(TZ).date()


def test_refresh_is_idempotent_and_matches_a_full_rebuild(db_session, redis_clean):
    rng = random.Random(5)
    for i in range(6):
        report = f.make_report(db_session, rng.choice(["road_damage", "power_outage", "rubbish"]), *f.BMT)
        routing.route_report(report.id)
        user = f.user(
            db_session,
            "urenco.staff"
            if report.unit_id == f.unit(db_session, "URENCO-BMT").id
            else "power.staff"
            if report.unit_id == f.unit(db_session, "PC-66").id
            else "bmt.staff",
        )
        if i % 2:
            workflow.accept(report, user)
        if i % 3 == 0:
            workflow.reject(report, user, "unclear")
    rollups.refresh()

    def snapshot():  # hour sums rounded: deltas add floats in another order than a rebuild
        cols = list(IndicatorRollup.__table__.columns)
        return sorted(
            tuple(round(v, 6) if isinstance(v, float) else v for v in r)
            for r in db.session.execute(select(*cols)).all()
        )

    first = snapshot()
    assert first and all(r[0] in "dmy" for r in first)
    db.session.execute(text("INSERT INTO indicator_dirty (report_id) SELECT report_id FROM indicator_facts"))
    rollups.refresh()
    assert snapshot() == first
    rollups.rebuild_all()
    assert snapshot() == first
    facts = db.session.scalar(select(func.count()).select_from(IndicatorFact))
    for grain in "dmy":  # column 5 is `received` (every fact's receipt, open or not); category 0: unit totals
        assert sum(r[5] for r in first if r[0] == grain and r[3] == 0) == facts
        assert sum(r[5] for r in first if r[0] == grain and r[3] != 0) == (facts if grain != "d" else 0)


def test_percentile_estimate_stays_in_the_exact_values_bucket():
    rng = random.Random(7)
    for _ in range(200):
        values = sorted(
            rng.choice([rng.uniform(0, 8), rng.uniform(0, 120), rng.expovariate(0.05)])
            for _ in range(rng.randint(1, 60))
        )
        hist = [0] * (len(WH_BOUNDS) + 1)
        for v in values:
            hist[sum(1 for b in WH_BOUNDS if v >= b)] += 1
        for num, den in ((1, 2), (9, 10)):
            exact = values[(num * len(values) + den - 1) // den - 1]  # nearest rank
            i = sum(1 for b in WH_BOUNDS if exact >= b)
            lo = 0 if i == 0 else WH_BOUNDS[i - 1]
            hi = WH_BOUNDS[i] if i < len(WH_BOUNDS) else float("inf")
            est = percentile(hist, WH_BOUNDS, num, den)
            assert lo - 0.005 <= est <= hi + 0.005, (values, exact, est)


@pytest.mark.parametrize(
    "start,stop,expect",
    [
        ("2026-01-01", "2027-01-01", (["2026-01-01"], [], [])),
        ("2026-02-01", "2026-03-01", ([], ["2026-02-01"], [])),
        ("2025-12-30", "2026-03-02", ([], ["2026-01-01", "2026-02-01"], ["2025-12-30", "2025-12-31", "2026-03-01"])),
        ("2026-02-16", "2026-02-23", ([], [], [f"2026-02-{d}" for d in range(16, 23)])),
    ],
)
def test_tiles_cover_the_range_with_the_coarsest_rows(start, stop, expect):
    got = tiles(date.fromisoformat(start), date.fromisoformat(stop))
    assert tuple([d.isoformat() for d in part] for part in got) == expect


def test_a_calendar_edit_moves_dues_and_working_hours(db_session, redis_clean):
    report = f.make_report(db_session, "street_light", *f.BMT)
    unit = f.unit(db_session, "UBND-24133").id
    at = lambda d, h: datetime(2026, 3, d, h, tzinfo=TZ)  # noqa: E731
    db.session.execute(
        insert(Event),
        [
            dict(
                report_id=report.id,
                at=at(9, 9),
                type="assigned",
                actor="system:router",
                from_status="submitted",
                to_status="assigned",
                to_unit_id=unit,
                public=True,
                data={},
            ),
            dict(
                report_id=report.id,
                at=at(12, 16),
                type="resolved",
                actor="staff:s",
                from_status="assigned",
                to_status="resolved",
                from_unit_id=unit,
                to_unit_id=unit,
                public=True,
                data={},
            ),
        ],
    )
    rollups.refresh()
    fact = db.session.scalar(select(IndicatorFact).where(IndicatorFact.report_id == report.id))
    # Mon 09:00 → Thu 16:00: 6 + 7.5 + 7.5 + 6.5 office hours.
    assert fact.due_at == at(12, 17) and fact.handling_wh == 27.5
    deadlines.save_day(date(2026, 3, 10), "off", "nghỉ bù", create=True)  # the job queues the report
    assert rollups.refresh() >= 1
    db.session.refresh(fact)
    assert fact.due_at == at(13, 17) and fact.handling_wh == 20.0  # Tuesday off now
    assert (
        db.session.scalar(
            select(func.sum(IndicatorRollup.received)).where(
                IndicatorRollup.grain == "y", IndicatorRollup.category_id == 0, IndicatorRollup.unit_id == unit
            )
        )
        == 1
    )


def test_sla_and_refresh_jobs_are_scheduled():
    from workers.schedule import PERIODIC

    funcs = {func for func, _, _ in PERIODIC}
    assert {"workers.jobs.sla_sweep", "workers.jobs.refresh_rollups"} <= funcs
