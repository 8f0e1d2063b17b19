"""The crafted histories of issue 17: nothing escapes by transfer, nothing is lost at a boundary.

Each report's events are written as the workflow writes them (from/to unit and status) and
the indicators read through the service (facts, rollups, the query), as the API does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from sqlalchemy import insert, select, text

from fieldreport.extensions import db
from fieldreport.models import Area, Event, IndicatorFact
from fieldreport.services import console_read, deadlines, indicators, notify, public_map
from fieldreport.services.indicators import rollups
from fieldreport.services.indicators.facts import EventRow, build_facts
from fieldreport.services.indicators.query import fetch
from fieldreport.worktime import TZ, Calendar
from tests import factories as f


def vn(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def story(session, category, steps, area_code="24133"):
    """A report whose events are `steps`: (at, type, to_status, unit code, data, actor)."""
    area = session.scalar(select(Area).where(Area.code == area_code))
    report = f.make_report(session, category, *f.BMT, area_id=area.id)
    status, unit, rows = None, None, []
    for at, type_, to_status, unit_code, data, actor in steps:
        to_unit = f.unit(session, unit_code).id if unit_code else unit
        rows.append(
            {
                "report_id": report.id,
                "at": at,
                "type": type_,
                "actor": actor,
                "actor_user_id": None,
                "from_status": status,
                "to_status": to_status or status,
                "from_unit_id": unit,
                "to_unit_id": to_unit,
                "public": True,
                "data": data or {},
            }
        )
        status, unit = to_status or status, to_unit
    session.execute(insert(Event), rows)
    session.flush()
    rollups.refresh()
    return report


def month(session, first: date) -> dict[str, dict]:
    """The month's table per unit code (units with nothing are absent), through fetch()."""
    p = indicators.period("month", first)
    got = fetch(p.start, p.end, indicators.as_of(p), "unit_id")
    codes = {f.unit(session, c).id: c for c in ("UBND-24133", "URENCO-BMT", "PC-66", "WATER-66")}
    cal = deadlines.calendar()
    return {codes.get(uid, uid): totals.render(cal, indicators.as_of(p)) for uid, totals in got.items()}


def province(session, first: date) -> dict:
    p = indicators.period("month", first)
    return indicators.compute(p, indicators.scope("UBND-66", None, None, None), "unit", depth=0)["total"]


S, R, C = "staff:s", "system:router", "citizen"


def test_a_bad_rating_and_a_reopen_stay_with_the_unit_whose_answer_they_judge(db_session, redis_clean):
    story(
        db_session,
        "street_light",
        [
            (vn(2026, 3, 2, 8), "assigned", "assigned", "URENCO-BMT", None, R),
            (vn(2026, 3, 3, 9), "resolved", "resolved", None, None, S),
            (vn(2026, 3, 3, 15), "rated", None, None, {"rating": 1}, C),
            (vn(2026, 3, 4, 9), "reopened", "reopened", None, None, C),
            (vn(2026, 3, 4, 10), "transferred", "assigned", "UBND-24133", None, S),
            (vn(2026, 3, 5, 10), "resolved", "resolved", None, None, S),
            (vn(2026, 3, 6, 10), "rated", None, None, {"rating": 5}, C),
        ],
    )
    rows = month(db_session, date(2026, 3, 1))
    a, b = rows["URENCO-BMT"], rows["UBND-24133"]
    assert (a["answered"], a["satisfaction"]["ratings"]["1"], a["satisfaction"]["reopened"]) == (1, 1, 1)
    assert a["satisfaction"]["dissatisfied"] == 1 and a["satisfaction"]["rate"] == 0.0
    assert (b["answered"], b["satisfaction"]["ratings"]["5"], b["satisfaction"]["rate"]) == (1, 1, 100.0)
    assert b["satisfaction"]["ratings"]["1"] == 0 and b["satisfaction"]["reopened"] == 0
    top = province(db_session, date(2026, 3, 1))  # each rated answer once
    assert top["satisfaction"]["rated"] == 2 and top["satisfaction"]["ratings"] == {
        "1": 1,
        "2": 0,
        "3": 0,
        "4": 0,
        "5": 1,
    }
    assert (top["answered"], top["satisfaction"]["dissatisfied"]) == (2, 1)


def test_the_unit_that_held_a_report_past_its_due_carries_the_lateness(db_session, redis_clean):
    # street_light: 3 working days. URENCO-BMT receives Mon 2/3 08:00 (due Thu 5/3 17:00) and
    # hands it on Mon 9/3; UBND-24133 is judged on its own due (Thu 12/3 17:00) and makes it.
    story(
        db_session,
        "street_light",
        [
            (vn(2026, 3, 2, 8), "assigned", "assigned", "URENCO-BMT", None, R),
            (vn(2026, 3, 9, 9), "transferred", "assigned", "UBND-24133", None, S),
            (vn(2026, 3, 11, 9), "resolved", "resolved", None, None, S),
        ],
    )
    rows = month(db_session, date(2026, 3, 1))
    a, b = rows["URENCO-BMT"], rows["UBND-24133"]
    assert (a["reports"], a["late"], a["on_time_rate"], a["transfers"]) == (1, 1, 0.0, 1)
    assert (b["reports"], b["on_time"], b["late"]) == (1, 1, 0)
    # Handed on before its due, a unit is not judged on the report (a transfer only).
    story(
        db_session,
        "street_light",
        [
            (vn(2026, 3, 16, 8), "assigned", "assigned", "URENCO-BMT", None, R),
            (vn(2026, 3, 17, 9), "transferred", "assigned", "UBND-24133", None, S),
        ],
    )
    a = month(db_session, date(2026, 3, 1))["URENCO-BMT"]
    assert (a["reports"], a["late"], a["transfers"]) == (1, 1, 2)


def test_an_answer_exactly_at_a_period_boundary_is_counted_once(db_session, redis_clean):
    story(
        db_session,
        "street_light",
        [
            (vn(2026, 3, 2, 8), "assigned", "assigned", "UBND-24133", None, R),
            (vn(2026, 4, 1, 0, 0), "resolved", "resolved", None, None, S),
        ],
    )
    march, april = month(db_session, date(2026, 3, 1)), month(db_session, date(2026, 4, 1))
    ward_m, ward_a = march["UBND-24133"], april["UBND-24133"]
    # At 1/4 00:00 (March's end) the answer has not happened "before T": open and late.
    assert (ward_m["answered"], ward_m["backlog"], ward_m["late"], ward_m["reports"]) == (0, 1, 1, 1)
    # April counts the answer (late), though the report was received in March.
    assert (ward_a["answered"], ward_a["resolved"], ward_a["late"], ward_a["received"]) == (1, 1, 1, 0)
    assert ward_a["handling_time"]["count"] == 1 and ward_a["backlog"] == 0


def test_a_transfer_after_the_period_end_lands_in_the_next_period(db_session, redis_clean):
    story(
        db_session,
        "road_damage",
        [
            (vn(2026, 3, 30, 8), "assigned", "assigned", "UBND-24133", None, R),
            (vn(2026, 4, 2, 9), "transferred", "assigned", "URENCO-BMT", None, S),
        ],
    )
    march, april = month(db_session, date(2026, 3, 1)), month(db_session, date(2026, 4, 1))
    assert march["UBND-24133"]["transfers"] == 0 and march["UBND-24133"]["backlog"] == 1
    assert april["UBND-24133"]["transfers"] == 1 and april["URENCO-BMT"]["received"] == 1


def test_a_pause_on_the_day_of_receipt_does_not_move_a_day_based_due():
    """Mon 2/3/2026 09:00, 3 working days, paused 09:30–16:00: the clock starts Tue 07:30 → Thu 17:00."""
    cal = Calendar()
    cat = SimpleNamespace(id=1, deadline_amount=3, deadline_unit="days", urgency="simple")
    pause = [(vn(2026, 3, 2, 9, 30), vn(2026, 3, 2, 16))]
    assert deadlines.due_for(cat, vn(2026, 3, 2, 9), cal, pauses=pause) == vn(2026, 3, 5, 17)

    def events(data):
        return [
            EventRow(1, vn(2026, 3, 2, 9), "assigned", R, None, "assigned", None, 7, data),
            EventRow(2, vn(2026, 3, 2, 9, 30), "info_requested", S, None, "awaiting_info", 7, 7, {}),
            EventRow(3, vn(2026, 3, 2, 16), "info_provided", C, None, "assigned", 7, 7, {}),
        ]

    recorded = {
        "due_at": vn(2026, 3, 5, 17).isoformat(),
        "indicator_due_at": vn(2026, 3, 5, 17).isoformat(),
        "limit": "3d",
    }
    for data in (recorded, {"due_at": vn(2026, 3, 5, 17).isoformat()}, {}):  # one rule, with or without
        (fact,) = build_facts(1, cat, 3, events(data), cal, lambda _: False)
        assert fact.due_at == vn(2026, 3, 5, 17), data


def test_announced_days_are_shipped_with_their_source(db_session):
    cal = deadlines.calendar()
    # Fri 28/8/2026 09:00 + 3 working days: Mon 31/8 is the announced swap day, 1–2/9 the
    # National Day: Thu 3, Fri 4, Mon 7/9 (a day early without the announced day).
    cat = SimpleNamespace(id=1, deadline_amount=3, deadline_unit="days", urgency="simple")
    assert deadlines.due_for(cat, vn(2026, 8, 28, 9), cal) == vn(2026, 9, 7, 17)
    assert cal.is_working_day(date(2026, 8, 22)) and not cal.is_working_day(date(2026, 1, 2))
    days = {d["day"].isoformat(): d for d in deadlines.list_days()}
    for day in ("2025-04-26", "2025-05-02", "2026-01-02", "2026-01-10", "2026-08-22", "2026-08-31"):
        assert days[day]["note"] and ("Bộ" in days[day]["note"] or "Thủ tướng" in days[day]["note"])


def test_facts_keep_a_late_hand_on(db_session, redis_clean):
    report = story(
        db_session,
        "street_light",
        [
            (vn(2026, 3, 2, 8), "assigned", "assigned", "URENCO-BMT", None, R),
            (vn(2026, 3, 9, 9), "transferred", "assigned", "UBND-24133", None, S),
        ],
    )
    fact = db.session.scalar(
        select(IndicatorFact).where(
            IndicatorFact.report_id == report.id, IndicatorFact.unit_id == f.unit(db_session, "URENCO-BMT").id
        )
    )
    assert fact.handed_late_at == vn(2026, 3, 9, 9) and fact.due_at == vn(2026, 3, 5, 17)


def test_the_timezone_setting_decides_local_days_and_office_hours(app, db_session, redis_clean):
    """TIMEZONE was a setting that worktime and the indicator SQL ignored (Asia/Ho_Chi_Minh hard-coded)."""
    story(
        db_session,
        "street_light",
        [  # 20:00 UTC on 31/3 is 03:00 on 1/4 in Vietnam
            (datetime(2026, 3, 31, 20, tzinfo=UTC), "assigned", "assigned", "UBND-24133", None, R)
        ],
    )
    assert month(db_session, date(2026, 4, 1))["UBND-24133"]["received"] == 1
    app.config["TIMEZONE"] = "UTC"
    deadlines.forget_calendar()
    try:
        db.session.execute(text("INSERT INTO indicator_dirty (report_id) SELECT report_id FROM indicator_facts"))
        rollups.refresh()
        assert month(db_session, date(2026, 3, 1))["UBND-24133"]["received"] == 1
        assert month(db_session, date(2026, 4, 1))["UBND-24133"]["received"] == 0  # still open there
        cat = SimpleNamespace(id=1, deadline_amount=3, deadline_unit="days", urgency="simple")
        start = datetime(2026, 3, 2, 9, tzinfo=UTC)
        assert deadlines.due_for(cat, start) == datetime(2026, 3, 5, 17, tzinfo=UTC)
        # The console's due dates, the public map's days and the citizen's messages too (they
        # used worktime's default zone whatever the setting said).
        assert console_read.close_of_office(date(2026, 3, 2)) == datetime(2026, 3, 2, 17, tzinfo=UTC)
        assert public_map._local_midnight(date(2026, 3, 2)) == datetime(2026, 3, 2, tzinfo=UTC)
        assert notify._when(datetime(2026, 3, 31, 20, tzinfo=UTC)) == "20:00 31/03/2026"
    finally:
        app.config["TIMEZONE"] = "Asia/Ho_Chi_Minh"
        deadlines.forget_calendar()
