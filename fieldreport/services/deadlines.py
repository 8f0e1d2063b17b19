"""Due times in working time, from the category's deadline and the deployment's calendar."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from fieldreport.extensions import db
from fieldreport.models import CalendarDay, Category
from fieldreport.worktime import Calendar, parse_office_hours


def calendar() -> Calendar:
    """The working calendar: statutory holidays plus the admin-edited swap/make-up days."""
    days = db.session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    return Calendar(
        extra_days_off=frozenset(d for d, k in days if k == "off"),
        makeup_days=frozenset(d for d, k in days if k == "work"),
        office_hours=parse_office_hours(current_app.config["OFFICE_HOURS"]),
    )


def due_for(category: Category, start: datetime, cal: Calendar | None = None) -> datetime:
    """When a report of this category, assigned at `start`, is due."""
    cal = cal or calendar()
    return cal.due(start, category.deadline_amount, category.deadline_unit)
