"""A straightforward reference for the indicators: replay each report's events, count each event once.

Written apart from the facts/rollups code on purpose: no settle days, no rollups, no SQL.
It replays every history in full, keeps what each unit did with the report (its receipt,
hand-ons, answer, the ratings and reopenings of its answer), and then, for a period
[start, end) read as of T, counts every event that happened in [start, T) in the period
(flows) and reads who holds what at T (stock: the open reports and the backlog).
"""

from __future__ import annotations

from datetime import date, datetime, time

from fieldreport.services import deadlines
from fieldreport.services.indicators.measures import HISTS
from fieldreport.services.indicators.totals import Totals, band_of, overdue_days

ANSWERS = {"resolved", "rejected", "duplicate", "closed"}
RESPONSES = {
    "accepted",
    "started",
    "in_progress",
    "commented",
    "info_requested",
    "extended",
    "resolved",
    "rejected",
    "duplicate",
    "closed",
    "transferred",
    "returned",
    "assigned",
}


def _bucket(value: float, bounds) -> int:
    return sum(1 for b in bounds if value >= b)


def _limit_from(data: dict):
    raw = (data or {}).get("limit")
    return deadlines.parse_limit(raw) if raw else None  # a due written in data is not an input


def unit_records(report, events, cal, dispatchers: set[int]) -> list[dict]:
    """What each unit did with the report over its whole history."""
    seen = sorted(events, key=lambda e: (e["at"], e["id"]))
    holder, status, pauses, judged = None, None, [], None
    units: dict[int, dict] = {}
    for e in seen:
        before_holder, before_status = holder, status
        after_holder = e["to_unit_id"] if e["to_unit_id"] is not None else holder
        after_status = e["to_status"] or status
        if before_holder is not None:
            u = units[before_holder]
            if u["first_response"] is None and e["type"] in RESPONSES and e["from_unit_id"] == before_holder:
                u["first_response"] = e["at"]
            if after_holder != before_holder:
                u["hand_ons"].append(e["at"])
        if after_holder != before_holder and after_holder is not None:
            if after_holder not in units:
                units[after_holder] = dict(
                    unit=after_holder,
                    received=e["at"],
                    first_response=None,
                    hand_ons=[],
                    backs=[],
                    answered=None,
                    kind=None,
                    rating=None,
                    rated=None,
                    reopened=None,
                    limit=_limit_from(e["data"]),
                    urgency=(e["data"] or {}).get("urgency"),
                    auto=(
                        e["type"] == "assigned"
                        and e["actor_user_id"] is None
                        and (e["actor"] or "").startswith("system")
                        and after_holder not in dispatchers
                    ),
                )
            else:
                units[after_holder]["backs"].append(e["at"])
        if after_status != before_status:
            if after_status == "awaiting_info":
                pauses.append([e["at"], None])
            elif before_status == "awaiting_info":
                pauses[-1][1] = e["at"]
        holder, status = after_holder, after_status
        if holder is not None and after_status != before_status and after_status in ANSWERS:
            u = units[holder]
            if u["answered"] is None:
                u["answered"], u["kind"] = e["at"], after_status
            judged = u  # ratings and reopenings from now on judge this unit's answer
        if judged is None:
            continue
        rating = (e["data"] or {}).get("rating")
        if e["type"] == "rated" and judged["rated"] is None and isinstance(rating, int) and 1 <= rating <= 5:
            judged["rating"], judged["rated"] = rating, e["at"]
        if judged["reopened"] is None and (
            e["type"] == "reopened" or (after_status != before_status and after_status == "reopened")
        ):
            judged["reopened"] = e["at"]
    spans = [(a, b) for a, b in pauses]
    for u in units.values():
        u["due"] = deadlines.due_for(
            report["category"],
            u["received"],
            cal,
            urgency=u["urgency"],
            triage=u["unit"] in dispatchers,
            limit=u["limit"],
            pauses=spans,
        )
        u["spans"], u["report"] = spans, report
        # Lateness carried on: the first hand-on after the due, by a unit without an answer by then.
        u["handed_late"] = next(
            (
                m
                for m in u["hand_ons"]
                if u["due"] is not None and m > u["due"] and (u["answered"] is None or u["answered"] > m)
            ),
            None,
        )
        outcomes = [m for m in (u["answered"], u["handed_late"]) if m is not None]
        u["outcome"] = min(outcomes) if outcomes else None
        late_answer = u["answered"] is not None and u["due"] is not None and u["answered"] > u["due"]
        u["late_answer"] = late_answer
        u["late_outcome"] = u["handed_late"] is not None or late_answer
    return list(units.values())


def holder_at(events, t: datetime):
    """Who holds the report at T: the holder after the events strictly before T."""
    holder = None
    for e in sorted(events, key=lambda e: (e["at"], e["id"])):
        if e["at"] >= t:
            break
        if e["to_unit_id"] is not None:
            holder = e["to_unit_id"]
    return holder


def reference(
    reports: list[dict],
    events: dict[int, list[dict]],
    start: date,
    end: date,
    t: datetime,
    key: str,
    cal,
    dispatchers: set[int],
) -> dict[int, Totals]:
    """Totals per `key` ('unit_id', 'area_id', 'category_id', 'channel' or None) of [start, end) as of T."""
    start_at = datetime.combine(start, time(0), tzinfo=cal.tz)
    out: dict[int, Totals] = {}
    for report in reports:
        evs = events.get(report["id"], [])
        held_by = holder_at(evs, t)
        for u in unit_records(report, evs, cal, dispatchers):
            k = {
                "unit_id": u["unit"],
                "area_id": report["area_id"] or 0,
                "category_id": report["category"].id,
                "channel": report.get("channel", "app"),
                None: 0,
            }[key]
            acc = out.setdefault(k, Totals())

            def within(m) -> bool:
                return m is not None and start_at <= m < t

            _flows(acc.values, acc.hists, u, cal, within)
            if held_by == u["unit"] and u["received"] < t:  # the stock at T
                if u["outcome"] is None or u["outcome"] >= t:
                    overdue = u["due"] is not None and u["due"] < t
                    acc.values["reports"] += 1
                    acc.values["late" if overdue else "on_time"] += 1
                if u["answered"] is None or u["answered"] >= t:
                    overdue = u["due"] is not None and u["due"] < t
                    band = band_of(overdue_days(cal, u["due"].astimezone(cal.tz).date(), t)) if overdue else None
                    acc.backlog[band] = acc.backlog.get(band, 0) + 1
    return out


def _flows(v, hists, u, cal, within) -> None:
    """Each event of this unit's record that happened in the period, counted once."""
    if within(u["received"]):
        v["received"] += 1
        v["auto_routed"] += u["auto"]
    v["transfers"] += sum(1 for m in u["hand_ons"] if within(m))
    if within(u["first_response"]):
        wh = cal.working_hours_between(u["received"], u["first_response"])
        ch = (u["first_response"] - u["received"]).total_seconds() / 3600
        v["fr_n"] += 1
        v["fr_wh_sum"] += wh
        v["fr_ch_sum"] += ch
        hists["fr_wh_hist"][_bucket(wh, HISTS["fr_wh_hist"][2])] += 1
        hists["fr_ch_hist"][_bucket(ch, HISTS["fr_ch_hist"][2])] += 1
    if within(u["outcome"]):
        v["reports"] += 1
        v["late" if u["late_outcome"] else "on_time"] += 1
    if within(u["answered"]):
        v["answered"] += 1
        v["answered_late"] += u["late_answer"]
        v["dissatisfied"] += (
            u["late_answer"] or (u["rating"] is not None and u["rating"] <= 2) or u["reopened"] is not None
        )
        if u["kind"] == "resolved":
            wh = cal.working_hours_between(u["received"], u["answered"], u["spans"])
            ch = (u["answered"] - u["received"]).total_seconds() / 3600
            v["resolved"] += 1
            v["ht_n"] += 1
            v["ht_wh_sum"] += wh
            v["ht_ch_sum"] += ch
            hists["ht_wh_hist"][_bucket(wh, HISTS["ht_wh_hist"][2])] += 1
            hists["ht_ch_hist"][_bucket(ch, HISTS["ht_ch_hist"][2])] += 1
        else:
            v["rejected"] += 1
    if within(u["rated"]):
        v["rated"] += 1
        v[f"r{u['rating']}"] += 1
    if within(u["reopened"]):
        v["reopened"] += 1


def test_the_reference_on_a_hand_worked_history():
    """Routed Mon 2/2/2026 08:05, accepted 09:05, resolved Wed 4/2 10:05 (due Thu 5/2 17:00)."""
    from types import SimpleNamespace

    from fieldreport.worktime import TZ, Calendar

    def at(d, h, m=0):
        return datetime(2026, 2, d, h, m, tzinfo=TZ)

    cat = SimpleNamespace(id=1, deadline_amount=3, deadline_unit="days", urgency="simple")
    evs = [
        (at(2, 8, 5), "assigned", "assigned", 7, "system:router"),
        (at(2, 9, 5), "accepted", "in_progress", 7, "s"),
        (at(4, 10, 5), "resolved", "resolved", 7, "s"),
    ]
    events = [
        {
            "id": i,
            "at": a,
            "type": t,
            "to_status": st,
            "to_unit_id": u,
            "from_unit_id": None if i == 0 else 7,
            "actor": actor,
            "actor_user_id": None,
            "data": {},
        }
        for i, (a, t, st, u, actor) in enumerate(evs)
    ]
    report = {"id": 1, "category": cat, "area_id": 3}
    got = reference(
        [report],
        {1: events},
        date(2026, 2, 1),
        date(2026, 3, 1),
        datetime(2026, 3, 1, tzinfo=TZ),
        "unit_id",
        Calendar(),
        set(),
    )[7].values
    assert (got["reports"], got["on_time"], got["resolved"], got["auto_routed"]) == (1, 1, 1, 1)
    assert got["ht_wh_sum"] == 17.0 and got["ht_ch_sum"] == 50.0 and got["fr_wh_sum"] == 1.0
