"""Hand-worked deadlines at the services level: categories, the admins' calendar rows, pauses.

Office hours 07:30–11:30 and 13:30–17:00 (7.5 h a day). street_light: 3 working days;
road_damage: 10 working days; power_outage: 4 working hours (demo categories).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import delete, select

from fieldreport.extensions import db
from fieldreport.models import CalendarDay, Category, IndicatorFact
from fieldreport.services import deadlines, workflow
from fieldreport.services.indicators import rollups
from fieldreport.worktime import TZ
from tests import factories as f


def vn(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture()
def cat(db_session):
    return lambda code: db.session.scalar(select(Category).where(Category.code == code))


@pytest.fixture()
def swaps_2026(db_session):
    """The 2026 announcement (Mon 31/8 off, worked on Sat 22/8): shipped by migration 0006."""
    assert {(d.day, d.kind) for d in db.session.scalars(select(CalendarDay))} >= {
        (date(2026, 8, 31), "off"),
        (date(2026, 8, 22), "work"),
    }
    deadlines.forget_calendar()
    yield
    deadlines.forget_calendar()


@pytest.fixture()
def no_admin_rows(db_session):
    """A calendar table emptied by the admins (the rollback of the test restores it)."""
    db.session.execute(delete(CalendarDay))
    db.session.flush()
    deadlines.forget_calendar()
    yield
    deadlines.forget_calendar()


def test_tet_2026_friday_afternoon(cat):
    # Fri 13/2 15:00, the last working day before Tết (Mon 16 – Fri 20/2 off): counting
    # starts Mon 23/2 → 23, 24, 25 → Wed 25/2 at the close.
    assert deadlines.due_for(cat("street_light"), vn(2026, 2, 13, 15)) == vn(2026, 2, 25, 17)


def test_tet_2027_ten_days(cat):
    # Wed 3/2/2027; Tết Thu 4 – Wed 10/2 (lunar new year Sat 6/2): days 11, 12, 15, 16, 17,
    # 18, 19, 22, 23, 24/2 → Wed 24/2 17:00.
    assert deadlines.due_for(cat("road_damage"), vn(2027, 2, 3, 10)) == vn(2027, 2, 24, 17)


def test_friday_afternoon_counts_from_monday(cat):
    assert deadlines.due_for(cat("street_light"), vn(2026, 3, 6, 16, 30)) == vn(2026, 3, 11, 17)


def test_makeup_saturday_counts(cat, swaps_2026):
    # Thu 20/8: Fri 21, Sat 22 (make-up day), Mon 24 → Mon 24/8; without the row, Tue 25.
    assert deadlines.due_for(cat("street_light"), vn(2026, 8, 20, 10)) == vn(2026, 8, 24, 17)


def test_without_admin_rows_no_swap(cat, no_admin_rows):
    assert deadlines.due_for(cat("street_light"), vn(2026, 8, 20, 10)) == vn(2026, 8, 25, 17)
    assert deadlines.due_for(cat("street_light"), vn(2026, 8, 27, 9)) == vn(2026, 9, 3, 17)


def test_swap_day_and_national_day(cat, swaps_2026):
    # Thu 27/8: Fri 28; Mon 31/8 swapped off; Tue 1/9 + Wed 2/9 National Day; Thu 3, Fri 4.
    assert deadlines.due_for(cat("street_light"), vn(2026, 8, 27, 9)) == vn(2026, 9, 4, 17)


def test_urgent_hours_span_lunch_and_night(cat):
    # Mon 11:15: 0.25 h to 11:30, lunch, 3.5 h to 17:00, night, 0.25 h → Tue 07:45.
    assert deadlines.due_for(cat("power_outage"), vn(2026, 3, 9, 11, 15)) == vn(2026, 3, 10, 7, 45)
    # Mon 15:30: 1.5 h, night, 2.5 h → Tue 10:00.
    assert deadlines.due_for(cat("power_outage"), vn(2026, 3, 9, 15, 30)) == vn(2026, 3, 10, 10)


def test_urgent_report_submitted_before_tet(cat):
    # Fri 13/2/2026 16:00: 1 h, then nine days off, then 3 h from Mon 23/2 07:30.
    assert deadlines.due_for(cat("power_outage"), vn(2026, 2, 13, 16)) == vn(2026, 2, 23, 10, 30)


def test_pause_moves_the_due(cat):
    # Mon 9/3 09:00 → Thu 12/3 17:00. Awaiting info Tue 10:00–15:00 = 1.5 + 1.5 = 3 office
    # hours → Fri 13/3 10:30.
    start = vn(2026, 3, 9, 9)
    assert deadlines.due_for(cat("street_light"), start) == vn(2026, 3, 12, 17)
    pause = [(vn(2026, 3, 10, 10), vn(2026, 3, 10, 15))]
    assert deadlines.due_for(cat("street_light"), start, pauses=pause) == vn(2026, 3, 13, 10, 30)
    # Still paused: no due exists yet.
    assert deadlines.due_for(cat("street_light"), start, pauses=[(vn(2026, 3, 10, 10), None)]) is None


def test_recorded_limit_and_pauses_one_rule(cat):
    cal = deadlines.calendar()
    pause = [(vn(2026, 3, 10, 10), vn(2026, 3, 10, 15))]
    # The limit recorded with the assignment wins over the category's; the same pause rule.
    assert deadlines.due_for(cat("power_outage"), vn(2026, 3, 9, 9), cal, limit=(3.0, "days"), pauses=pause) == vn(
        2026, 3, 13, 10, 30
    )
    # A pause after the due has passed changes nothing.
    late = [(vn(2026, 3, 13, 8), vn(2026, 3, 13, 12))]
    assert deadlines.due_for(cat("street_light"), vn(2026, 3, 9, 9), cal, pauses=late) == vn(2026, 3, 12, 17)


def test_limits_triage_and_urgency(cat, app):
    assert deadlines.limit_for(cat("street_light")) == (3.0, "days")
    assert deadlines.limit_for(cat("street_light"), triage=True) == (8.0, "hours")
    assert deadlines.limit_for(cat("street_light"), "urgent") == (4.0, "hours")
    assert deadlines.limit_for(cat("road_damage"), "complex") == (15.0, "days")
    assert deadlines.limit_for(cat("road_damage"), "no-such-urgency") == (10.0, "days")
    with pytest.raises(ValueError):
        deadlines.parse_limit("4 weeks")


def test_extension_keeps_the_indicator_due(db_session):
    report = f.make_report(db_session, "street_light", *f.BMT, area_id=None)
    f.assign(db_session, report, "UBND-24133")
    first_due = report.indicator_due_at
    user = f.user(db_session, "bmt.staff")
    # A year on, moved to a working day: the same date a year later may be a weekend or a
    # holiday, which extend() refuses (this test failed on 2026-11-30: 2027-12-04 is a Saturday).
    new_due = deadlines.calendar().add_working_days(first_due.replace(year=first_due.year + 1), 1)
    workflow.extend(report, user, new_due, "cần vật tư", "Xin lỗi, chúng tôi cần thêm thời gian.")
    assert report.due_at > first_due and report.indicator_due_at == first_due
    rollups.refresh()
    fact = db.session.scalar(select(IndicatorFact).where(IndicatorFact.report_id == report.id))
    assert fact.due_at == first_due
