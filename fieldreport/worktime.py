"""Vietnamese working-time calendar: working days, office hours and deadlines (pure, no I/O)."""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

import holidays

# The default zone (the TIMEZONE setting's default); a Calendar carries the one it works in.
TZ = ZoneInfo("Asia/Ho_Chi_Minh")

DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 30), time(17, 0)),
)

_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000

# Labour Code 2019 art. 112 holidays under the en_US names `holidays` gives them; a
# "(observed)" suffix is the compensating weekday of art. 111(3) and is kept. Everything
# else the package ships is dropped on purpose: the government's yearly swap days
# ("Day off (substituted from ...)") because swaps and make-up days belong to the admins'
# table, never to code; and, from 2026, "Vietnam Cultural Day" (24/11) because it is not
# in art. 112 — admins add it as an extra day off if the province observes it. An
# allowlist (not a denylist) so that a package upgrade cannot slip in a new day off.
_ART_112_NAMES = frozenset(
    {
        "New Year's Day",
        "29 of Lunar New Year",
        "Lunar New Year's Eve",
        "Lunar New Year",
        "Second Day of Lunar New Year",
        "Third Day of Lunar New Year",
        "Fourth Day of Lunar New Year",
        "Fifth Day of Lunar New Year",
        "Sixth Day of Lunar New Year",
        "Hung Kings' Commemoration Day",
        "Liberation Day/Reunification Day",
        "International Labor Day",
        "National Day",
    }
)


@cache
def _statutory_holidays(year: int, language: str = "en_US") -> dict[date, str]:
    """Art. 112 holidays of one year, named in `language` (cached: building one costs ~1 ms)."""
    english = holidays.country_holidays("VN", years=year, language="en_US")
    named = english if language == "en_US" else holidays.country_holidays("VN", years=year, language=language)
    kept: dict[date, str] = {}
    for day, name in english.items():
        # Two holidays on one date come joined by "; ", in the same order in every language.
        parts = name.split("; ")
        keep = [i for i, part in enumerate(parts) if part.split(" (")[0] in _ART_112_NAMES]
        if keep:
            local_parts = named[day].split("; ")
            kept[day] = "; ".join(local_parts[i] for i in keep)
    return kept


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _periods_us(office_hours: Iterable[tuple[time, time]]) -> tuple[tuple[int, int], ...]:
    periods = tuple((_time_us(s), _time_us(e)) for s, e in office_hours)
    if not periods:
        raise ValueError("office hours need at least one period")
    previous_end = -1
    for start, end in periods:
        if start >= end:
            raise ValueError("each office period must start before it ends")
        if start < previous_end:
            raise ValueError("office periods must be in order and must not overlap")
        previous_end = end
    return periods


def parse_office_hours(text: str) -> tuple[tuple[time, time], ...]:
    """Parse "07:30-11:30,13:30-17:00" into ((time, time), ...); raise ValueError if malformed."""
    periods = []
    for chunk in text.split(","):
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*", chunk)
        if not match:
            raise ValueError(f"bad office-hours period {chunk.strip()!r}, expected HH:MM-HH:MM")
        h1, m1, h2, m2 = map(int, match.groups())
        periods.append((time(h1, m1), time(h2, m2)))
    _periods_us(periods)
    return tuple(periods)


def _local_us(moment: datetime, tz: ZoneInfo = TZ) -> int:
    """Microseconds on the local wall clock since 0001-01-01.

    Wall-clock arithmetic: exact in zones without daylight saving (Vietnam's UTC+7 has had
    none since 1975); elsewhere a DST jump inside office hours is not corrected for.
    """
    if moment.tzinfo is not tz:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment!r}: working time needs an aware datetime")
        moment = moment.astimezone(tz)
    return (
        moment.toordinal() * _US_PER_DAY
        + ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000
        + moment.microsecond
    )


def _from_local_us(us: int, tz: ZoneInfo = TZ) -> datetime:
    ordinal, of_day = divmod(us, _US_PER_DAY)
    day = date.fromordinal(ordinal)
    seconds, micro = divmod(of_day, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=tz)


def _hours_us(hours: float) -> int:
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"working hours must be a finite number >= 0, got {hours!r}")
    return round(hours * _US_PER_HOUR)


def _whole_days(days: float) -> int:
    if isinstance(days, bool) or not float(days).is_integer() or days < 1:
        raise ValueError(f"working days must be a whole number >= 1, got {days!r}")
    return int(days)


def _as_date(day: date, tz: ZoneInfo = TZ) -> date:
    # A datetime is a date too, but never equal to one: compare its local calendar day.
    if isinstance(day, datetime):
        return _from_local_us(_local_us(day, tz), tz).date()
    return day


Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class Calendar:
    """Working time in Vietnam: Mon–Fri office hours minus public holidays and swap days.

    A date is a working day when it is in `makeup_days`, or when it is Monday–Friday,
    not an art. 112 public holiday (with its art. 111(3) compensating weekday) and not
    in `extra_days_off`. Make-up days win over holidays so admins can correct any year
    from data. Every make-up day uses the same `office_hours`. Inputs may be in any
    time zone (naive datetimes raise ValueError); outputs are in `tz` (the deployment's
    TIMEZONE setting; Asia/Ho_Chi_Minh by default).

    Instances cache each year's working days, so build one per set of admin data and
    reuse it.
    """

    extra_days_off: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()
    office_hours: tuple[tuple[time, time], ...] = DEFAULT_OFFICE_HOURS
    tz: ZoneInfo = TZ
    # Derived in __post_init__; not arguments, not compared (two equal calendars share them).
    _periods: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)
    _workdays_by_year: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Accept any iterables from callers while keeping the instance hashable.
        object.__setattr__(self, "extra_days_off", frozenset(self.extra_days_off))
        object.__setattr__(self, "makeup_days", frozenset(self.makeup_days))
        object.__setattr__(self, "office_hours", tuple((s, e) for s, e in self.office_hours))
        clash = self.extra_days_off & self.makeup_days
        if clash:
            raise ValueError(f"dates both off and make-up: {sorted(clash)}")
        periods = _periods_us(self.office_hours)
        object.__setattr__(self, "_periods", periods)
        object.__setattr__(self, "_day_us", sum(e - s for s, e in periods))
        object.__setattr__(self, "_workdays_by_year", {})

    # -- days ---------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Whether `d` (a date, or an aware datetime's day in Vietnam) is a working day."""
        d = _as_date(d, self.tz)
        if d in self.makeup_days:
            return True
        if d.weekday() >= 5 or d in self.extra_days_off:
            return False
        return d not in _statutory_holidays(d.year)

    def holiday_name(self, d: date, language: str = "vi") -> str | None:
        """Name of the art. 112 public holiday on `d` ("vi", "en_US" or "th"), else None.

        Swap days are not named here: their labels live with them in the admins' table.
        """
        d = _as_date(d, self.tz)
        return _statutory_holidays(d.year, language).get(d)

    def _workdays(self, year: int) -> list[int]:
        days = self._workdays_by_year.get(year)
        if days is None:
            first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
            days = [o for o in range(first, last + 1) if self.is_working_day(date.fromordinal(o))]
            self._workdays_by_year[year] = days
        return days

    def _is_working(self, ordinal: int) -> bool:
        days = self._workdays(date.fromordinal(ordinal).year)
        i = bisect_left(days, ordinal)
        return i < len(days) and days[i] == ordinal

    def _nth_workday_after(self, ordinal: int, n: int) -> int:
        """Ordinal of the n-th (n >= 1) working day strictly after `ordinal`."""
        year = date.fromordinal(ordinal).year
        days = self._workdays(year)
        i = bisect_right(days, ordinal) + n - 1
        while i >= len(days):
            i -= len(days)
            year += 1
            days = self._workdays(year)
        return days[i]

    def _count_workdays(self, first: int, stop: int) -> int:
        """Working days with first <= ordinal < stop."""
        if first >= stop:
            return 0
        y1, y2 = date.fromordinal(first).year, date.fromordinal(stop).year
        days = self._workdays(y1)
        if y1 == y2:
            return bisect_left(days, stop) - bisect_left(days, first)
        count = len(days) - bisect_left(days, first)
        for year in range(y1 + 1, y2):
            count += len(self._workdays(year))
        return count + bisect_left(self._workdays(y2), stop)

    # -- office time on the local microsecond axis ---------------------------------------

    def _in_day(self, t1: int, t2: int) -> int:
        return sum(max(0, min(e, t2) - max(s, t1)) for s, e in self._periods)

    def _work(self, a: int, b: int) -> int:
        """Office microseconds in [a, b], a <= b."""
        oa, ta = divmod(a, _US_PER_DAY)
        ob, tb = divmod(b, _US_PER_DAY)
        if oa == ob:
            return self._in_day(ta, tb) if self._is_working(oa) else 0
        total = self._count_workdays(oa + 1, ob) * self._day_us
        if self._is_working(oa):
            total += self._in_day(ta, _US_PER_DAY)
        if self._is_working(ob):
            total += self._in_day(0, tb)
        return total

    def _add(self, x: int, need: int) -> int:
        """Earliest instant with `need` (> 0) office microseconds in [x, instant]."""
        ordinal, t = divmod(x, _US_PER_DAY)
        if self._is_working(ordinal):
            for s, e in self._periods:
                if t < e:
                    s = max(s, t)
                    if need <= e - s:
                        return ordinal * _US_PER_DAY + s + need
                    need -= e - s
        # Jump straight to the landing day; a remainder of a whole day lands at the close.
        full, part = divmod(need, self._day_us)
        if part == 0:
            full, part = full - 1, self._day_us
        ordinal = self._nth_workday_after(ordinal, full + 1)
        for s, e in self._periods:
            if part <= e - s:
                return ordinal * _US_PER_DAY + s + part
            part -= e - s
        raise AssertionError("unreachable: part never exceeds a day of office time")

    # -- public arithmetic ---------------------------------------------------------------

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of office time have elapsed since `start`.

        Outside office hours the clock starts at the next opening. The result is the
        earliest such moment, so a count that ends with a period ends at its closing
        time (11:30, not 13:30). `hours == 0` returns `start` itself, in `tz`.
        """
        need = _hours_us(hours)
        x = _local_us(start, self.tz)
        return _from_local_us(self._add(x, need) if need else x, self.tz)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Close of office on the `days`-th working day after the day of `start`.

        Counting starts on the next working day whatever the hour of `start`, even
        07:00 on a working day; `days` must be a whole number >= 1.
        """
        n = _whole_days(days)
        ordinal = _local_us(start, self.tz) // _US_PER_DAY
        last = self._nth_workday_after(ordinal, n)
        return _from_local_us(last * _US_PER_DAY + self._periods[-1][1], self.tz)

    def due(
        self,
        start: datetime,
        amount: float,
        unit: str,
        pauses: Iterable[Pause] = (),
    ) -> datetime | None:
        """Deadline for a limit of `amount` `unit` ("hours" or "days") from `start`.

        The clock stops during `pauses` (awaiting_info spans; an end of None means still
        paused), so the due moment moves later by the office time paused while the clock
        was running. For "hours" the clock runs from `start`, as add_working_hours. For
        "days" it runs from the opening of the next working day, for `amount` full days
        of office time: unpaused that is add_working_days; paused for, say, 2 office
        hours it is 2 office hours after that close. Pauses before the clock starts, or
        after the limit is reached, change nothing. Returns None when an open pause
        began before the limit was reached: no due date exists until it ends.
        """
        x = _local_us(start, self.tz)
        spans = self._spans(pauses)
        if unit == "hours":
            clock, need = x, _hours_us(amount)
        elif unit == "days":
            n = _whole_days(amount)
            if not spans:
                return self.add_working_days(start, n)
            first = self._nth_workday_after(x // _US_PER_DAY, 1)
            clock, need = first * _US_PER_DAY + self._periods[0][0], n * self._day_us
        else:
            raise ValueError(f"unit must be 'hours' or 'days', got {unit!r}")
        if need == 0:
            return _from_local_us(clock, self.tz)
        for pause_start, pause_end in spans:
            if pause_start > clock:
                running = self._work(clock, pause_start)
                if need <= running:
                    break
                need -= running
            if pause_end is None:
                return None
            clock = max(clock, pause_end)
        return _from_local_us(self._add(clock, need), self.tz)

    def working_hours_between(self, a: datetime, b: datetime, pauses: Iterable[Pause] = ()) -> float:
        """Office hours between `a` and `b` (b >= a), not counting time inside `pauses`.

        An open pause (end None) runs to `b`; overlapping pauses count once.
        """
        xa, xb = _local_us(a, self.tz), _local_us(b, self.tz)
        if xb < xa:
            raise ValueError(f"end {b!r} is before start {a!r}")
        total = self._work(xa, xb)
        covered = xa
        for pause_start, pause_end in self._spans(pauses):
            lo = max(pause_start, covered)
            hi = xb if pause_end is None else min(pause_end, xb)
            if hi > lo:
                total -= self._work(lo, hi)
                covered = hi
        return total / _US_PER_HOUR

    def _spans(self, pauses: Iterable[Pause]) -> list[tuple[int, int | None]]:
        spans = []
        for pause_start, pause_end in pauses:
            lo = _local_us(pause_start, self.tz)
            hi = None if pause_end is None else _local_us(pause_end, self.tz)
            if hi is not None and hi < lo:
                raise ValueError(f"pause ends {pause_end!r} before it starts {pause_start!r}")
            spans.append((lo, hi))
        spans.sort(key=lambda span: span[0])
        return spans
