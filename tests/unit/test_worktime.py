"""Unit tests for the Vietnamese working-time calendar, with hand-worked deadlines."""

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldreport.worktime import TZ, Calendar, parse_office_hours

# Default office hours: 07:30–11:30 and 13:30–17:00, i.e. 7.5 working hours a day.
CAL = Calendar()


def vn(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def weekdays_off(cal, year):
    """Every Monday–Friday of `year` that is not a working day."""
    day, off = date(year, 1, 1), set()
    while day.year == year:
        if day.weekday() < 5 and not cal.is_working_day(day):
            off.add(day)
        day += timedelta(days=1)
    return off


# -- what `holidays` 0.109 gives, reduced to Labour Code art. 112 ------------------------


def test_public_holidays_2026():
    # Package: 1/1 Thu; Tết 16–20/2 Mon–Fri (eve + days 1–4 of Bính Ngọ, lunar new year
    # 17/2); Hùng Kings 10/3 lunar = Sun 26/4, compensated Mon 27/4 (art. 111(3));
    # 30/4 Thu, 1/5 Fri; 2/9 Wed with adjacent 1/9 Tue. The package also lists Mon 31/8
    # (swap for Sat 22/8) and Tue 24/11 (Vietnam Cultural Day); neither is art. 112.
    off = [(1, 1), (2, 16), (2, 17), (2, 18), (2, 19), (2, 20)]
    off += [(4, 27), (4, 30), (5, 1), (9, 1), (9, 2)]
    assert weekdays_off(CAL, 2026) == {date(2026, m, d) for m, d in off}
    assert CAL.is_working_day(date(2026, 8, 31))
    assert CAL.is_working_day(date(2026, 11, 24))
    assert not CAL.is_working_day(date(2026, 4, 26))  # a Sunday anyway


def test_public_holidays_2027():
    # Package: 1/1 Fri; lunar new year Sat 6/2/2027, so Tết runs 4/2 (29 Tết) to 10/2
    # (day 5): five weekdays Thu 4, Fri 5, Mon 8, Tue 9, Wed 10 around the weekend;
    # Hùng Kings Fri 16/4; 30/4 Fri; 1/5 Sat compensated Mon 3/5; 2/9 Thu + 3/9 Fri.
    off = [(1, 1), (2, 4), (2, 5), (2, 8), (2, 9), (2, 10)]
    off += [(4, 16), (4, 30), (5, 3), (9, 2), (9, 3)]
    assert weekdays_off(CAL, 2027) == {date(2027, m, d) for m, d in off}


def test_holiday_names():
    assert CAL.holiday_name(date(2026, 2, 17)) == "Tết Nguyên Đán"
    assert CAL.holiday_name(date(2026, 2, 17), "en_US") == "Lunar New Year"
    assert CAL.holiday_name(date(2026, 4, 26), "en_US") == "Hung Kings' Commemoration Day"
    assert CAL.holiday_name(date(2026, 4, 27)) == "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"
    assert CAL.holiday_name(date(2026, 9, 1)) == "Quốc khánh"
    assert CAL.holiday_name(date(2026, 8, 31)) is None  # package swap day, dropped
    assert CAL.holiday_name(date(2026, 11, 24)) is None  # not in art. 112
    assert CAL.holiday_name(date(2026, 3, 10)) is None


def test_package_swap_days_are_not_used_but_admin_data_is():
    # 2025: the package hard-codes Fri 2/5 off, made up on Sat 26/4. Only the admins'
    # table decides swaps, so by default 2/5 is worked and 26/4 is not.
    assert CAL.is_working_day(date(2025, 5, 2))
    assert not CAL.is_working_day(date(2025, 4, 26))
    swapped = Calendar(extra_days_off={date(2025, 5, 2)}, makeup_days={date(2025, 4, 26)})
    assert not swapped.is_working_day(date(2025, 5, 2))
    assert swapped.is_working_day(date(2025, 4, 26))


# -- days limits ------------------------------------------------------------------------


def test_tet_2026_days_and_hours():
    start = vn(2026, 2, 13, 15)  # Fri 13/2, the last working day before Tết
    # Days: Sat–Sun, Tết 16–20/2, Sat–Sun; counting starts Mon 23/2:
    # 1 = Mon 23, 2 = Tue 24, 3 = Wed 25 -> Wed 25/2 17:00.
    assert CAL.add_working_days(start, 3) == vn(2026, 2, 25, 17)
    # Hours: Fri 15:00–17:00 = 2 h; 2 h more from Mon 23/2 07:30 -> 09:30.
    assert CAL.add_working_hours(start, 4) == vn(2026, 2, 23, 9, 30)


def test_tet_2027_days_and_hours():
    start = vn(2027, 2, 3, 16)  # Wed 3/2/2027, the day before 29 Tết
    # Days: off Thu 4 – Wed 10/2; 1 = Thu 11, 2 = Fri 12, 3 = Mon 15 -> Mon 15/2 17:00.
    assert CAL.add_working_days(start, 1) == vn(2027, 2, 11, 17)
    assert CAL.add_working_days(start, 3) == vn(2027, 2, 15, 17)
    # Hours: Wed 16:00–17:00 = 1 h; 3 h from Thu 11/2 07:30 -> 10:30.
    assert CAL.add_working_hours(start, 4) == vn(2027, 2, 11, 10, 30)


def test_friday_afternoon():
    start = vn(2026, 3, 6, 14)  # Fri 6/3/2026 14:00
    # Days: 1 = Mon 9, 2 = Tue 10, 3 = Wed 11 -> Wed 11/3 17:00.
    assert CAL.add_working_days(start, 3) == vn(2026, 3, 11, 17)
    # 10 days: Mon 9 … Fri 13 (5), Mon 16 … Fri 20 (10) -> Fri 20/3 17:00.
    assert CAL.add_working_days(start, 10) == vn(2026, 3, 20, 17)
    # Hours (intake, 8 h): Fri 14:00–17:00 = 3 h; Mon 07:30–11:30 = 4 h (7 h);
    # 1 h from 13:30 -> Mon 9/3 14:30.
    assert CAL.add_working_hours(start, 8) == vn(2026, 3, 9, 14, 30)
    assert CAL.due(start, 8, "hours") == vn(2026, 3, 9, 14, 30)
    assert CAL.due(start, 3, "days") == vn(2026, 3, 11, 17)


def test_days_count_from_next_working_day_even_before_opening():
    # Tue 10/3 07:00, before the office opens: day 1 is still Wed 11/3.
    assert CAL.add_working_days(vn(2026, 3, 10, 7), 1) == vn(2026, 3, 11, 17)
    # Sat 7/3: the next working day is Mon 9/3.
    assert CAL.add_working_days(vn(2026, 3, 7, 10), 1) == vn(2026, 3, 9, 17)


def test_makeup_saturday_and_swap_day():
    # The real 2026 swap: work Sat 22/8, off Mon 31/8 (bridging to 1–2/9).
    cal = Calendar(extra_days_off={date(2026, 8, 31)}, makeup_days={date(2026, 8, 22)})
    fri = vn(2026, 8, 21, 15)
    # Days: 1 = Sat 22 (make-up) -> Sat 22/8 17:00; 2 = Mon 24/8.
    assert cal.add_working_days(fri, 1) == vn(2026, 8, 22, 17)
    assert cal.add_working_days(fri, 2) == vn(2026, 8, 24, 17)
    # Hours: Fri 15:00–17:00 = 2 h; Sat 07:30 + 2 h -> 09:30.
    assert cal.add_working_hours(fri, 4) == vn(2026, 8, 22, 9, 30)
    # Fri 28/8: Mon 31 swap, Tue 1/9 + Wed 2/9 National Day -> day 1 = Thu 3/9.
    assert cal.add_working_days(vn(2026, 8, 28, 10), 1) == vn(2026, 9, 3, 17)
    # Without the admin data Mon 31/8 is worked: day 1 = Mon 31/8.
    assert CAL.add_working_days(vn(2026, 8, 28, 10), 1) == vn(2026, 8, 31, 17)


def test_reunification_and_labour_day_2026():
    # Wed 29/4: Thu 30/4, Fri 1/5 off, weekend -> day 1 = Mon 4/5.
    assert CAL.add_working_days(vn(2026, 4, 29, 10), 1) == vn(2026, 5, 4, 17)
    # Hours: Wed 16:00–17:00 = 1 h; Mon 4/5 07:30 + 3 h -> 10:30.
    assert CAL.add_working_hours(vn(2026, 4, 29, 16), 4) == vn(2026, 5, 4, 10, 30)


def test_hung_kings_2026():
    # 10/3 lunar = Sun 26/4/2026, compensated Mon 27/4. From Fri 24/4:
    # 1 = Tue 28, 2 = Wed 29 -> Wed 29/4 17:00; 3 = (30/4, 1/5 off, weekend) Mon 4/5.
    assert CAL.add_working_days(vn(2026, 4, 24, 10), 2) == vn(2026, 4, 29, 17)
    assert CAL.add_working_days(vn(2026, 4, 24, 10), 3) == vn(2026, 5, 4, 17)


def test_national_day_and_adjacent_day():
    # 2026: 2/9 Wed + 1/9 Tue. From Mon 31/8 10:00: 1 = Thu 3/9.
    assert CAL.add_working_days(vn(2026, 8, 31, 10), 1) == vn(2026, 9, 3, 17)
    # 2027: 2/9 Thu + 3/9 Fri. From Wed 1/9: 1 = Mon 6/9.
    assert CAL.add_working_days(vn(2027, 9, 1, 10), 1) == vn(2027, 9, 6, 17)


def test_new_year():
    # Wed 31/12/2025: Thu 1/1/2026 off -> day 1 = Fri 2/1.
    assert CAL.add_working_days(vn(2025, 12, 31, 10), 1) == vn(2026, 1, 2, 17)


# -- hours limits -----------------------------------------------------------------------


def test_urgent_four_hours_over_lunch_and_night():
    # Tue 10/3 11:15: 11:15–11:30 = 0.25 h, 13:30–17:00 = 3.5 h (3.75 h);
    # 0.25 h from Wed 07:30 -> Wed 11/3 07:45.
    assert CAL.add_working_hours(vn(2026, 3, 10, 11, 15), 4) == vn(2026, 3, 11, 7, 45)
    # From 11:00: 0.5 h + 3.5 h = 4 h exactly -> the close, Tue 17:00 (not Wed 07:30).
    assert CAL.add_working_hours(vn(2026, 3, 10, 11), 4) == vn(2026, 3, 10, 17)
    # A count ending with the morning ends at 11:30, not 13:30.
    assert CAL.add_working_hours(vn(2026, 3, 10, 7, 30), 4) == vn(2026, 3, 10, 11, 30)


def test_hours_clock_starts_at_next_opening():
    assert CAL.add_working_hours(vn(2026, 3, 10, 6), 4) == vn(2026, 3, 10, 11, 30)
    # Lunch 12:00: 13:30–17:00 = 3.5 h, then Wed 07:30 + 0.5 h -> 08:00.
    assert CAL.add_working_hours(vn(2026, 3, 10, 12), 4) == vn(2026, 3, 11, 8)
    assert CAL.add_working_hours(vn(2026, 3, 10, 20), 4) == vn(2026, 3, 11, 11, 30)
    assert CAL.add_working_hours(vn(2026, 3, 7, 10), 4) == vn(2026, 3, 9, 11, 30)  # Sat


def test_big_hours_skip_whole_days():
    # 75 h = 10 days of 7.5 h from Mon 9/3 07:30 -> close of the 10th day, Fri 20/3.
    assert CAL.add_working_hours(vn(2026, 3, 9, 7, 30), 75) == vn(2026, 3, 20, 17)
    # 7.5 h a day × 250 days from the first opening of 2026 (Fri 2/1) lands on a close.
    due = CAL.add_working_hours(vn(2026, 1, 2, 7, 30), 7.5 * 250)
    assert due.time() == time(17) and CAL.working_hours_between(vn(2026, 1, 1), due) == 1875


def test_custom_office_hours():
    hours = parse_office_hours("08:00-12:00, 13:00-17:00")
    assert hours == ((time(8), time(12)), (time(13), time(17)))
    cal = Calendar(office_hours=hours)
    # Fri 6/3 16:00–17:00 = 1 h; Mon 9/3 08:00–12:00 = 4 h (5 h); 13:00 + 3 h -> 16:00.
    assert cal.add_working_hours(vn(2026, 3, 6, 16), 8) == vn(2026, 3, 9, 16)
    assert cal.add_working_days(vn(2026, 3, 6, 16), 1) == vn(2026, 3, 9, 17)


# -- pauses and elapsed time ------------------------------------------------------------


def test_pause_in_the_middle_of_a_days_limit():
    start = vn(2026, 3, 9, 8)  # Mon 9/3; 3 days -> Thu 12/3 17:00 unpaused
    # Paused Tue 15:00 – Wed 09:00: Tue 15:00–17:00 = 2 h + Wed 07:30–09:00 = 1.5 h.
    # The due moves 3.5 working hours past Thu 17:00 -> Fri 13/3 07:30 + 3.5 h = 11:00.
    pause = [(vn(2026, 3, 10, 15), vn(2026, 3, 11, 9))]
    assert CAL.due(start, 3, "days") == vn(2026, 3, 12, 17)
    assert CAL.due(start, 3, "days", pause) == vn(2026, 3, 13, 11)


def test_pause_in_the_middle_of_an_hours_limit():
    # Tue 10/3 10:30, 4 h, paused 11:00–14:30. Clock: 10:30–11:00 = 0.5 h; from 14:30
    # 2.5 h to 17:00 (3 h); Wed 07:30 + 1 h -> 08:30.
    pause = [(vn(2026, 3, 10, 11), vn(2026, 3, 10, 14, 30))]
    assert CAL.due(vn(2026, 3, 10, 10, 30), 4, "hours", pause) == vn(2026, 3, 11, 8, 30)
    # Elapsed check: Tue 10:30 → Wed 08:30 is 6 - 0.5 + 1 = 5.5 office hours,
    # minus 1.5 paused (11:00–11:30, 13:30–14:30) = 4 h.
    assert CAL.working_hours_between(vn(2026, 3, 10, 10, 30), vn(2026, 3, 11, 8, 30), pause) == 4


def test_pauses_that_do_not_move_the_due():
    start = vn(2026, 3, 9, 8)
    # Same day as submission: a days limit has not started counting yet.
    before = [(vn(2026, 3, 9, 9), vn(2026, 3, 9, 16))]
    assert CAL.due(start, 3, "days", before) == vn(2026, 3, 12, 17)
    # After the due: the report was already late.
    after = [(vn(2026, 3, 13, 8), vn(2026, 3, 16, 8))]
    assert CAL.due(start, 3, "days", after) == vn(2026, 3, 12, 17)
    # Paused from the very moment the limit is reached (Tue 10:30 + 1 h = 11:30, paused
    # 11:30–14:00): the due is 11:30, not the end of the pause.
    lunch = [(vn(2026, 3, 10, 11, 30), vn(2026, 3, 10, 14))]
    assert CAL.due(vn(2026, 3, 10, 10, 30), 1, "hours", lunch) == vn(2026, 3, 10, 11, 30)
    # A pause over the weekend holds no office time.
    weekend = [(vn(2026, 3, 7, 0), vn(2026, 3, 8, 23))]
    assert CAL.due(vn(2026, 3, 6, 14), 8, "hours", weekend) == vn(2026, 3, 9, 14, 30)


def test_overlapping_pauses_count_once():
    # Paused Tue 15:00–17:00 twice, overlapping with 16:00–Wed 09:00: 2 + 1.5 = 3.5 h.
    pauses = [
        (vn(2026, 3, 10, 16), vn(2026, 3, 11, 9)),
        (vn(2026, 3, 10, 15), vn(2026, 3, 10, 17)),
    ]
    assert CAL.due(vn(2026, 3, 9, 8), 3, "days", pauses) == vn(2026, 3, 13, 11)
    assert CAL.working_hours_between(vn(2026, 3, 10, 7), vn(2026, 3, 11, 17), pauses) == 11.5


def test_open_pause():
    start = vn(2026, 3, 9, 8)
    # Still awaiting info since before the limit was reached: no due yet.
    assert CAL.due(start, 3, "days", [(vn(2026, 3, 10, 9), None)]) is None
    # Opened after the due: the due stands.
    assert CAL.due(start, 3, "days", [(vn(2026, 3, 13, 9), None)]) == vn(2026, 3, 12, 17)
    # For elapsed time an open pause runs to the end: Mon 08:00–10:00 = 2 h.
    assert CAL.working_hours_between(start, vn(2026, 3, 9, 16), [(vn(2026, 3, 9, 10), None)]) == 2


def test_working_hours_between():
    # Mon 9/3 08:00 → Tue 10/3 08:00: 3.5 + 3.5 on Monday + 0.5 on Tuesday = 7.5 h.
    assert CAL.working_hours_between(vn(2026, 3, 9, 8), vn(2026, 3, 10, 8)) == 7.5
    # Paused Mon 10:00–14:00: 1.5 h + 0.5 h of office time -> 5.5 h.
    pause = [(vn(2026, 3, 9, 10), vn(2026, 3, 9, 14))]
    assert CAL.working_hours_between(vn(2026, 3, 9, 8), vn(2026, 3, 10, 8), pause) == 5.5
    # Across Tết 2026: Fri 13/2 16:00–17:00 = 1 h, Mon 23/2 07:30–08:30 = 1 h.
    assert CAL.working_hours_between(vn(2026, 2, 13, 16), vn(2026, 2, 23, 8, 30)) == 2
    # Across a year end: 2026 has 250 working days (261 weekdays - 11 holidays).
    assert CAL.working_hours_between(vn(2025, 12, 31, 17), vn(2027, 1, 1)) == 250 * 7.5


# -- time zones and validation ----------------------------------------------------------


def test_other_time_zones_are_converted():
    # Fri 6/3 07:00 UTC = 14:00 in Vietnam (UTC+7).
    start = datetime(2026, 3, 6, 7, tzinfo=UTC)
    due = CAL.add_working_hours(start, 8)
    assert due == vn(2026, 3, 9, 14, 30) and due.tzinfo is TZ
    # 20:00 UTC Thu 5/3 is already Fri 6/3 03:00 in Vietnam: day 1 = Mon 9/3.
    assert CAL.add_working_days(datetime(2026, 3, 5, 20, tzinfo=UTC), 1) == vn(2026, 3, 9, 17)


def test_invalid_inputs():
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_hours(datetime(2026, 3, 6, 14), 4)
    with pytest.raises(ValueError):
        CAL.add_working_hours(vn(2026, 3, 6), -1)
    with pytest.raises(ValueError):
        CAL.add_working_days(vn(2026, 3, 6), 0)
    with pytest.raises(ValueError):
        CAL.due(vn(2026, 3, 6), 1.5, "days")
    with pytest.raises(ValueError):
        CAL.due(vn(2026, 3, 6), 1, "weeks")
    with pytest.raises(ValueError):
        CAL.due(vn(2026, 3, 6), 1, "hours", [(vn(2026, 3, 6, 10), vn(2026, 3, 6, 9))])
    with pytest.raises(ValueError):
        CAL.working_hours_between(vn(2026, 3, 6, 10), vn(2026, 3, 6, 9))
    with pytest.raises(ValueError):
        Calendar(extra_days_off={date(2026, 8, 22)}, makeup_days={date(2026, 8, 22)})
    for bad in ("", "07:30", "11:30-07:30", "07:30-11:30,11:00-17:00", "25:00-26:00"):
        with pytest.raises(ValueError):
            parse_office_hours(bad)
    assert CAL.due(vn(2026, 3, 6, 14), 3.0, "days") == vn(2026, 3, 11, 17)


# -- properties -------------------------------------------------------------------------

CALENDARS = st.sampled_from(
    [
        CAL,
        Calendar(extra_days_off={date(2026, 8, 31)}, makeup_days={date(2026, 8, 22)}),
        Calendar(office_hours=parse_office_hours("08:00-12:00,13:00-17:00")),
        Calendar(
            extra_days_off={date(2025, 12, 31), date(2027, 2, 11)},
            makeup_days={date(2025, 12, 27), date(2027, 2, 6), date(2028, 1, 1)},
            office_hours=parse_office_hours("07:00-11:00,13:00-16:30,18:00-19:00"),
        ),
    ]
)
STARTS = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 6, 30),
    timezones=st.sampled_from([TZ, UTC, timezone(timedelta(hours=-5))]),
)
HOURS = st.floats(min_value=0, max_value=2000, allow_nan=False)


def in_office_on_working_day(cal, moment):
    t = moment.astimezone(TZ).time()
    on_duty = any(start < t <= end for start, end in cal.office_hours)
    return on_duty and cal.is_working_day(moment.astimezone(TZ).date())


@given(CALENDARS, STARTS, HOURS)
def test_round_trip_with_working_hours_between(cal, start, hours):
    due = cal.due(start, hours, "hours")
    assert cal.working_hours_between(start, due) == pytest.approx(hours, abs=1e-9)


@given(CALENDARS, STARTS, HOURS, HOURS)
def test_more_hours_never_earlier(cal, start, h1, h2):
    h1, h2 = sorted((h1, h2))
    assert cal.add_working_hours(start, h1) <= cal.add_working_hours(start, h2)


@given(CALENDARS, STARTS, st.floats(min_value=1e-6, max_value=2000))
def test_due_is_in_office_hours_on_a_working_day(cal, start, hours):
    assert in_office_on_working_day(cal, cal.add_working_hours(start, hours))


@given(CALENDARS, STARTS, st.integers(min_value=1, max_value=120 * 60))
def test_matches_day_by_day_reference(cal, start, minutes):
    # A slow walk through each day's office periods, as one would count on paper.
    left, moment = timedelta(minutes=minutes), start.astimezone(TZ)
    day = moment.date()
    while True:
        if cal.is_working_day(day):
            for opens, closes in cal.office_hours:
                lo = max(datetime.combine(day, opens, TZ), moment)
                span = datetime.combine(day, closes, TZ) - lo
                if span > timedelta(0):
                    if left <= span:
                        assert cal.add_working_hours(start, minutes / 60) == lo + left
                        return
                    left -= span
        day += timedelta(days=1)


@given(CALENDARS, STARTS, st.integers(min_value=1, max_value=40))
def test_days_limit_is_a_close_after_n_working_days(cal, start, days):
    due = cal.add_working_days(start, days)
    assert due.time() == cal.office_hours[-1][1] and cal.is_working_day(due.date())
    counted, day = 0, start.astimezone(TZ).date()
    while day < due.date():
        day += timedelta(days=1)
        counted += cal.is_working_day(day)
    assert counted == days
    assert cal.due(start, days, "days") == due


@given(CALENDARS, STARTS, HOURS, STARTS, st.floats(min_value=0, max_value=300))
def test_paused_due_is_later_by_paused_time(cal, start, hours, pause_start, pause_hours):
    pause = [(pause_start, pause_start + timedelta(hours=pause_hours))]
    due = cal.due(start, hours, "hours", pause)
    assert due >= cal.due(start, hours, "hours")
    # Running time from start to due, pauses excluded, is exactly the limit.
    assert cal.working_hours_between(start, due, pause) == pytest.approx(hours, abs=1e-9)


def office_hours_per_day(cal):
    today = date(2026, 1, 1)
    return sum(
        (datetime.combine(today, e) - datetime.combine(today, s)).total_seconds() / 3600 for s, e in cal.office_hours
    )


@given(CALENDARS, STARTS, st.integers(min_value=1, max_value=20), STARTS, HOURS)
def test_paused_days_due_moves_by_paused_office_time(cal, start, days, pause_start, length):
    pause = [(pause_start, pause_start + timedelta(hours=length))]
    due, unpaused = cal.due(start, days, "days", pause), cal.due(start, days, "days")
    # The days clock starts at the opening of the first counted day and runs for
    # `days` full days of office time, minus nothing while paused.
    first = datetime.combine(cal.add_working_days(start, 1).date(), cal.office_hours[0][0], TZ)
    limit = days * office_hours_per_day(cal)
    assert cal.working_hours_between(first, due, pause) == pytest.approx(limit, abs=1e-9)
    assert due >= unpaused
    if pause[0][1] <= unpaused:
        # A pause over before the due simply pushes it by the office time it held.
        held = limit - cal.working_hours_between(first, unpaused, pause)
        assert cal.working_hours_between(unpaused, due) == pytest.approx(held, abs=1e-9)
