"""A straightforward reference for the indicators: replay each report's events up to T.

Written apart from the facts/rollups code on purpose: no settle days, no rollups, no SQL.
For a period [start, end) read as of T it cuts every history at T, replays it, and
measures each unit the report reached, then adds the numbers up per group.
"""
from __future__ import annotations

from datetime import date, datetime, time

from fieldreport.services import deadlines
from fieldreport.services.indicators.measures import HISTS
from fieldreport.services.indicators.totals import Totals, band_of, overdue_days
from fieldreport.worktime import TZ

ANSWERS = {"resolved", "rejected", "duplicate", "closed"}
RESPONSES = {"accepted", "started", "in_progress", "commented", "info_requested", "extended",
             "resolved", "rejected", "duplicate", "closed", "transferred", "returned", "assigned"}


def _bucket(value: float, bounds) -> int:
    return sum(1 for b in bounds if value >= b)


def _due_from(data: dict):
    raw = (data or {}).get("indicator_due_at") or (data or {}).get("due_at")
    return datetime.fromisoformat(raw) if raw else None


def unit_facts(report, events, t: datetime, cal, dispatchers: set[int]) -> list[dict]:
    """What each unit did with the report as of T (events strictly before T)."""
    seen = [e for e in sorted(events, key=lambda e: (e["at"], e["id"])) if e["at"] < t]
    holder, status, pauses = None, None, []
    units: dict[int, dict] = {}
    for e in seen:
        before_holder, before_status = holder, status
        after_holder = e["to_unit_id"] if e["to_unit_id"] is not None else holder
        after_status = e["to_status"] or status
        if before_holder is not None:
            u = units[before_holder]
            if (u["first_response"] is None and e["type"] in RESPONSES
                    and e["from_unit_id"] == before_holder):
                u["first_response"] = e["at"]
            if after_holder != before_holder:
                u["transfers"] += 1
        if after_holder != before_holder and after_holder is not None and after_holder not in units:
            units[after_holder] = dict(
                unit=after_holder, received=e["at"], first_response=None, transfers=0,
                answered=None, kind=None, rating=None, reopened=None,
                recorded=_due_from(e["data"]), urgency=(e["data"] or {}).get("urgency"),
                auto=(e["type"] == "assigned" and e["actor_user_id"] is None
                      and (e["actor"] or "").startswith("system") and after_holder not in dispatchers))
        if after_status != before_status:
            if after_status == "awaiting_info":
                pauses.append([e["at"], None])
            elif before_status == "awaiting_info":
                pauses[-1][1] = e["at"]
        holder, status = after_holder, after_status
        if holder is None:
            continue
        u = units[holder]
        if u["answered"] is None and after_status != before_status and after_status in ANSWERS:
            u["answered"], u["kind"] = e["at"], after_status
        rating = (e["data"] or {}).get("rating")
        if e["type"] == "rated" and u["rating"] is None and isinstance(rating, int) and 1 <= rating <= 5:
            u["rating"] = rating
        if u["reopened"] is None and (e["type"] == "reopened"
                                      or (after_status != before_status and after_status == "reopened")):
            u["reopened"] = e["at"]
    spans = [(a, b) for a, b in pauses]
    out = []
    for u in units.values():
        due = deadlines.indicator_due(cal, report["category"], u["received"], urgency=u["urgency"],
                                      triage=u["unit"] in dispatchers, recorded=u["recorded"],
                                      pauses=spans)
        counted = holder == u["unit"]
        answered = u["answered"] if counted else None
        late = counted and due is not None and due < t and not (answered is not None and answered <= due)
        u.update(due=due, counted=counted, answered=answered, late=late, spans=spans,
                 report=report)
        out.append(u)
    return out


def reference(reports: list[dict], events: dict[int, list[dict]], start: date, end: date,
              t: datetime, key: str, cal, dispatchers: set[int]) -> dict[int, Totals]:
    """Totals per `key` ('unit_id', 'area_id', 'category_id' or None) as of T."""
    start_at = datetime.combine(start, time(0), tzinfo=TZ)
    end_at = datetime.combine(end, time(0), tzinfo=TZ)
    out: dict[int, Totals] = {}
    for report in reports:
        for u in unit_facts(report, events.get(report["id"], []), t, cal, dispatchers):
            k = {"unit_id": u["unit"], "area_id": report["area_id"] or 0,
                 "category_id": report["category"].id, None: 0}[key]
            acc = out.setdefault(k, Totals())
            v = acc.values
            if u["counted"] and u["answered"] is None:
                overdue = u["due"] is not None and u["due"] < t
                band = band_of(overdue_days(cal, u["due"].astimezone(TZ).date(), t)) if overdue else None
                acc.backlog[band] = acc.backlog.get(band, 0) + 1
            if not (start_at <= u["received"] < end_at):
                continue
            _measure(v, acc.hists, u, cal, t)
    return out


def _measure(v, hists, u, cal, t) -> None:
    v["received"] += 1
    v["transfers"] += u["transfers"]
    if u["first_response"] is not None:
        wh = cal.working_hours_between(u["received"], u["first_response"])
        ch = (u["first_response"] - u["received"]).total_seconds() / 3600
        v["fr_n"] += 1
        v["fr_wh_sum"] += wh
        v["fr_ch_sum"] += ch
        hists["fr_wh_hist"][_bucket(wh, HISTS["fr_wh_hist"][2])] += 1
        hists["fr_ch_hist"][_bucket(ch, HISTS["fr_ch_hist"][2])] += 1
    if not u["counted"]:
        return
    v["reports"] += 1
    v["late" if u["late"] else "on_time"] += 1
    v["auto_routed"] += u["auto"]
    rated = u["rating"] is not None
    reopened = u["reopened"] is not None
    if u["answered"] is not None:
        late_answer = u["due"] is not None and u["answered"] > u["due"]
        v["answered"] += 1
        v["answered_late"] += late_answer
        v["dissatisfied"] += (rated and u["rating"] <= 2) or late_answer or reopened
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
    if rated:
        v["rated"] += 1
        v[f"r{u['rating']}"] += 1
    v["reopened"] += reopened


def test_the_reference_on_a_hand_worked_history():
    """Routed Mon 2/2/2026 08:05, accepted 09:05, resolved Wed 4/2 10:05 (due Thu 5/2 17:00)."""
    from types import SimpleNamespace

    from fieldreport.worktime import Calendar

    def at(d, h, m=0):
        return datetime(2026, 2, d, h, m, tzinfo=TZ)

    cat = SimpleNamespace(id=1, deadline_amount=3, deadline_unit="days", urgency="simple")
    evs = [(at(2, 8, 5), "assigned", "assigned", 7, "system:router"), (at(2, 9, 5), "accepted", "in_progress", 7, "s"),
           (at(4, 10, 5), "resolved", "resolved", 7, "s")]
    events = [dict(id=i, at=a, type=t, to_status=st, to_unit_id=u, from_unit_id=None if i == 0 else 7,
                   actor=actor, actor_user_id=None, data={}) for i, (a, t, st, u, actor) in enumerate(evs)]
    report = {"id": 1, "category": cat, "area_id": 3}
    got = reference([report], {1: events}, date(2026, 2, 1), date(2026, 3, 1), datetime(2026, 3, 1, tzinfo=TZ),
                    "unit_id", Calendar(), set())[7].values
    assert (got["reports"], got["on_time"], got["resolved"], got["auto_routed"]) == (1, 1, 1, 1)
    assert got["ht_wh_sum"] == 17.0 and got["ht_ch_sum"] == 50.0 and got["fr_wh_sum"] == 1.0
