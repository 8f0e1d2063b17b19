"""The SLA sweep: warning at 80 % of the working time, overdue, escalation, apology; idempotent."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from fieldreport.extensions import db
from fieldreport.models import Event, Notification, Report
from fieldreport.services import sla
from fieldreport.worktime import TZ
from tests import factories as f


def vn(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def held(session, unit_code: str, assigned: datetime, due: datetime, status="assigned") -> Report:
    return f.make_report(
        session,
        "street_light",
        *f.BMT,
        status=status,
        unit_id=f.unit(session, unit_code).id,
        assigned_at=assigned,
        due_at=due,
        indicator_due_at=due,
    )


def kinds(report) -> list[str]:
    return list(db.session.scalars(select(Event.type).where(Event.report_id == report.id).order_by(Event.id)))


def notes(report) -> list[tuple[str, str]]:
    return [
        (n.kind, n.recipient)
        for n in db.session.scalars(
            select(Notification).where(Notification.report_id == report.id).order_by(Notification.id)
        )
    ]


def test_warn_point_is_80_percent_of_office_time(db_session):
    from fieldreport.services import deadlines

    cal = deadlines.calendar()
    # Mon 9/3 07:30 → Wed 11/3 17:00 is 22.5 office hours; 80 % = 18 h → Wed 11/3 10:30.
    assert sla.warn_point(cal, vn(2026, 3, 9, 7, 30), vn(2026, 3, 11, 17), 0.8) == vn(2026, 3, 11, 10, 30)


def test_sweep_warns_then_marks_overdue_escalates_once(db_session, redis_clean):
    report = held(db_session, "UBND-24133", vn(2026, 3, 9, 7, 30), vn(2026, 3, 11, 17))
    assert sla.sweep(now=vn(2026, 3, 11, 10)) == {"warned": 0, "overdue": 0, "escalated": 0}
    assert sla.sweep(now=vn(2026, 3, 11, 10, 45))["warned"] == 1
    assert sla.sweep(now=vn(2026, 3, 11, 11))["warned"] == 0  # once per due
    assert kinds(report) == ["warned"]
    assert notes(report) == [("sla_warning", "unit:UBND-24133")]

    done = sla.sweep(now=vn(2026, 3, 11, 17, 5))
    assert done == {"warned": 0, "overdue": 1, "escalated": 1}
    db.session.refresh(report)
    assert report.overdue_at == vn(2026, 3, 11, 17, 5)
    assert kinds(report) == ["warned", "overdue", "escalated"]
    # The unit is asked for an apology with a new date; UBND-66's supervisor hears of it.
    assert notes(report)[1:] == [("sla_overdue", "unit:UBND-24133"), ("sla_escalation", "user:supervisor")]
    esc = db.session.scalar(select(Event).where(Event.report_id == report.id, Event.type == "escalated"))
    assert esc.public is False and esc.data["to_unit_code"] == "UBND-66"

    assert sla.sweep(now=vn(2026, 3, 12, 9)) == {"warned": 0, "overdue": 0, "escalated": 0}
    assert len(kinds(report)) == 3 and len(notes(report)) == 3


def test_extension_arms_the_sweep_again(db_session, redis_clean):
    report = held(db_session, "WATER-66", vn(2026, 3, 9, 7, 30), vn(2026, 3, 11, 17))
    sla.sweep(now=vn(2026, 3, 11, 18))
    assert kinds(report) == ["overdue", "escalated"]
    # Escalation goes to the nearest ancestor with supervisors: SXD for its utility.
    assert notes(report)[-1] == ("sla_escalation", "user:sxd.supervisor")
    report.due_at = vn(2026, 3, 20, 17)  # as an extension does (in real life before the due)
    db.session.flush()
    assert sla.sweep(now=vn(2026, 3, 16, 8))["overdue"] == 0
    assert sla.sweep(now=vn(2026, 3, 20, 17, 1))["overdue"] == 1


def test_paused_and_closed_reports_are_left_alone(db_session, redis_clean):
    paused = held(db_session, "UBND-24133", vn(2026, 3, 9, 8), vn(2026, 3, 10, 8), status="awaiting_info")
    done = held(db_session, "UBND-24133", vn(2026, 3, 9, 8), vn(2026, 3, 10, 8), status="resolved")
    assert sla.sweep(now=vn(2026, 4, 1))["overdue"] == 0
    assert kinds(paused) == [] and kinds(done) == []


def test_escalation_climbs_past_units_without_supervisors(db_session, redis_clean):
    report = held(db_session, "PC-66", vn(2026, 3, 9, 8), vn(2026, 3, 9, 12))
    sla.sweep(now=vn(2026, 3, 9, 13))
    # PC-66 → SCT (no supervisor) → UBND-66.
    assert notes(report)[-1] == ("sla_escalation", "user:supervisor")


@pytest.mark.parametrize("fraction,expect", [(0.5, 1), (0.95, 0)])
def test_warn_fraction_is_configurable(db_session, redis_clean, app, fraction, expect):
    report = held(db_session, "UBND-24133", vn(2026, 3, 9, 7, 30), vn(2026, 3, 11, 17))
    app.config["SLA_WARN_FRACTION"] = fraction
    try:
        assert sla.sweep(now=vn(2026, 3, 10, 12))["warned"] == expect
    finally:
        app.config.pop("SLA_WARN_FRACTION")
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.report_id == report.id)) == expect


def test_warning_counts_office_time_by_the_reports_province_calendar(db_session, redis_clean):
    from fieldreport.models import CalendarDay

    # Khánh Hòa (56) announces Tuesday 10/3 off; Đắk Lắk (66) works. Mon 07:30 → Wed 17:00 is
    # 22.5 office hours in 66 (warning at 18 h: Wed 10:30), 15 in 56 (at 12 h: Wed 14:00).
    db_session.add(CalendarDay(day=vn(2026, 3, 10).date(), province_code="56", kind="off", note="Lễ hội"))
    r56 = held(db_session, "UBND-24133", vn(2026, 3, 9, 7, 30), vn(2026, 3, 11, 17))
    r66 = held(db_session, "UBND-24133", vn(2026, 3, 9, 7, 30), vn(2026, 3, 11, 17))
    r56.province_code, r66.province_code = "56", "66"
    db_session.flush()
    assert sla.sweep(now=vn(2026, 3, 11, 12))["warned"] == 1
    assert kinds(r66) == ["warned"] and kinds(r56) == []
    assert sla.sweep(now=vn(2026, 3, 11, 14, 5))["warned"] == 1
    assert kinds(r56) == ["warned"]
