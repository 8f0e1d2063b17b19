"""Reporting periods (day to year, or custom) and the moment T each one is read at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from fieldreport.errors import Invalid, Unprocessable
from fieldreport.models.base import utcnow
from fieldreport.services.deadlines import zone

PERIODS = ("day", "week", "month", "quarter", "year", "custom")
MAX_CUSTOM_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # exclusive

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)


def add_months(d: date, n: int) -> date:
    """The first day of the month `n` months after `d`'s."""
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def check_dates(kind: str, start: date | None, end: date | None) -> None:
    """The rules between period, from and to (the API's query schema applies them too, so its
    document and its validation say the same): `to` only with a custom period, which needs
    both dates, `to` not before `from`, at most 3 years."""
    if kind != "custom":
        if end is not None:
            raise Invalid("to_needs_custom", "to is only for period=custom.", "Chỉ dùng 'to' với period=custom.")
        return
    if start is None or end is None:
        raise Invalid(
            "custom_period_needs_dates",
            "A custom period needs from and to.",
            "Kỳ tùy chọn cần có từ ngày và đến ngày.",
        )
    if end < start:
        raise Unprocessable("bad_period_range", "to is before from.", "Đến ngày trước từ ngày.")
    if (end - start).days >= MAX_CUSTOM_DAYS:
        raise Invalid("period_too_long", "A custom period is at most 3 years.", "Kỳ tùy chọn tối đa 3 năm.")


def period(
    kind: str = "month", start: date | None = None, end: date | None = None, today: date | None = None
) -> Period:
    """The period containing `start` (default today); custom needs both dates, `end` inclusive."""
    today = today or datetime.now(zone()).date()
    if kind not in PERIODS:
        raise Unprocessable(
            "bad_period",
            f"period must be one of {', '.join(PERIODS)}.",
            f"period phải là một trong {', '.join(PERIODS)}.",
        )
    check_dates(kind, start, end)
    d = start or today
    if kind == "custom":
        assert start is not None and end is not None
        return Period(kind, start, end + timedelta(days=1))
    if kind == "day":
        return Period(kind, d, d + timedelta(days=1))
    if kind == "week":
        monday = d - timedelta(days=d.weekday())
        return Period(kind, monday, monday + timedelta(days=7))
    if kind == "month":
        first = d.replace(day=1)
        return Period(kind, first, add_months(first, 1))
    if kind == "quarter":
        first = date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
        return Period(kind, first, add_months(first, 3))
    return Period(kind, date(d.year, 1, 1), date(d.year + 1, 1, 1))


def as_of(p: Period, now: datetime | None = None) -> datetime:
    """T: the period end (local midnight), or now while the period is not over."""
    tz = zone()
    end = datetime.combine(p.end, time(0), tzinfo=tz)
    now = now or utcnow()
    return min(end, now.astimezone(tz))


def first_day_after(t: datetime) -> date:
    """The first local day starting at or after T."""
    local = t.astimezone(zone())
    return local.date() if local.time() == time(0) else local.date() + timedelta(days=1)


def tiles(start: date, stop: date) -> tuple[list[date], list[date], list[date]]:
    """Whole years, whole months and single days exactly covering [start, stop)."""
    years, months, days = [], [], []
    d = start
    while d < stop:
        if d.month == 1 and d.day == 1 and date(d.year + 1, 1, 1) <= stop:
            years.append(d)
            d = date(d.year + 1, 1, 1)
            continue
        if d.day == 1:
            nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
            if nxt <= stop:
                months.append(d)
                d = nxt
                continue
        days.append(d)
        d += timedelta(days=1)
    return years, months, days
