"""Rollup answers equal a direct recomputation from events, on randomized histories.

Hypothesis draws report histories across Tết 2026 (transfers, returns to the dispatcher,
pauses, extensions, answers, ratings, reopenings), loads the first part of every history,
refreshes, loads the rest as late events, refreshes again, then compares every indicator
of several periods and groupings with tests/unit/test_indicators_reference.py.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from fieldreport.extensions import db
from fieldreport.models import Area, Category, Event, Report, Unit
from fieldreport.services import deadlines, indicators
from fieldreport.services.indicators import cache as indicator_cache
from fieldreport.services.indicators import dashboard as board
from fieldreport.services.indicators import rollups
from fieldreport.services.indicators.measures import SCALARS
from fieldreport.services.indicators.query import fetch
from fieldreport.services.indicators.totals import Totals
from fieldreport.worktime import TZ
from tests.unit.test_indicators_reference import reference

UNITS = ["UBND-24133", "UBND-24121", "PC-66", "WATER-66", "URENCO-BMT", "SXD"]
CATS = ["power_outage", "street_light", "road_damage", "pollution"]
AREAS = ["24133", "24121"]
CHANNELS = ["app", "web", "hotline", "counter", "zalo", "open311:seeclickfix"]
WINDOW = datetime(2026, 1, 26, 7, 0, tzinfo=TZ)  # three weeks before Tết 2026


def wipe() -> None:
    for table in ("indicator_dirty", "indicator_rollups", "indicator_facts", "events"):
        db.session.execute(text(f"DELETE FROM {table}"))
    db.session.execute(text("DELETE FROM reports"))


@st.composite
def history(draw, n_units: int):
    """One report's events as (minutes after WINDOW, type, to_status, to_unit index, data, by).

    Assignments record their limit ("limit": "3d") as the workflow does, or sometimes only a
    due (older events): the indicators recompute the due from the limit either way.
    """
    t = draw(st.integers(0, 60 * 24 * 45))
    out = [(t, "submitted", "submitted", None, {}, "citizen")]
    status, unit, resume = "submitted", None, None

    def gap():  # from minutes to weeks, so that events fall on both sides of period ends
        scale = draw(st.sampled_from([7, 50, 190, 1300, 2900, 6100, 13000, 29000]))
        return scale + draw(st.integers(0, scale))

    t += gap()
    if draw(st.booleans()):
        unit = draw(st.integers(1, n_units - 1))
        status = "assigned"
        out.append((t, "assigned", status, unit, _due(draw, t), "system:router"))
    else:
        unit = 0
        out.append((t, "assigned", None, unit, {}, "system:router"))
    for _ in range(draw(st.integers(0, 7))):
        t += gap()
        if status == "submitted":  # in the triage queue
            unit = draw(st.integers(1, n_units - 1))
            status = "assigned"
            out.append((t, "assigned", status, unit, _due(draw, t), "dispatcher:d"))
        elif status == "awaiting_info":
            status = resume
            out.append((t, "info_provided", status, None, {}, "citizen"))
        elif status in ("assigned", "in_progress", "reopened"):
            action = draw(
                st.sampled_from(
                    [
                        "accept",
                        "ask",
                        "transfer",
                        "return",
                        "extend",
                        "resolve",
                        "resolve",
                        "reject",
                        "duplicate",
                        "overdue",
                    ]
                )
            )
            if action == "accept":
                status = "in_progress"
                out.append((t, "accepted", status, None, {}, "staff:s"))
            elif action == "ask":
                resume, status = status, "awaiting_info"
                out.append((t, "info_requested", status, None, {}, "staff:s"))
            elif action == "transfer":
                unit = draw(st.integers(1, n_units - 1).filter(lambda u: u != unit))
                status = "assigned"
                out.append((t, "transferred", status, unit, _due(draw, t), "staff:s"))
            elif action == "return":
                unit, status = 0, "submitted"
                out.append((t, "returned", status, unit, {}, "staff:s"))
            elif action == "extend":
                out.append((t, "extended", None, None, {"new_due_at": "2026-06-01T10:00:00+07:00"}, "staff:s"))
            elif action == "overdue":
                out.append((t, "overdue", None, None, {}, "system:sla"))
            else:
                status = {"resolve": "resolved", "reject": "rejected", "duplicate": "duplicate"}[action]
                out.append((t, status, status, None, {}, "staff:s"))
        elif status in ("resolved", "rejected", "duplicate", "closed"):
            action = draw(st.sampled_from(["rate", "reopen", "close"]))
            if action == "rate":
                out.append((t, "rated", None, None, {"rating": draw(st.integers(1, 5))}, "citizen"))
            elif action == "reopen":
                status = "reopened"
                out.append((t, "reopened", status, None, {}, "supervisor:s"))
            elif status != "closed":
                status = "closed"
                out.append((t, "closed", status, None, {}, "system"))
    return (
        draw(st.sampled_from(CATS)),
        draw(st.sampled_from(AREAS)),
        out,
        draw(st.floats(0, 1)),
        draw(st.sampled_from(CHANNELS)),
    )


def _due(draw, t: int) -> dict:
    """Sometimes the assignment records its limit (and the due it gave then), as the workflow does."""
    kind = draw(st.sampled_from(["none", "due", "limit"]))
    if kind == "none":
        return {}
    due = WINDOW + timedelta(minutes=t + draw(st.integers(30, 60 * 24 * 20)))
    if kind == "due":  # a due written without its limit: not an input, the category's limit counts
        return {"due_at": due.isoformat()}
    return {"due_at": due.isoformat(), "limit": draw(st.sampled_from(["2h", "8h", "1d", "3d", "10d"]))}


def load(histories, ctx, cut_fraction: bool):
    """Insert reports and the first part (or the rest) of each history; return the rows."""
    reports, events = [], {}
    for i, (cat, area, evs, cut, channel) in enumerate(histories):
        rid = ctx["report_ids"][i]
        keep = evs[: max(1, round(len(evs) * cut))] if cut_fraction else evs
        reports.append({"id": rid, "category": ctx["cats"][cat], "area_id": ctx["areas"][area], "channel": channel})
        events[rid] = [_event_row(rid, j, e, ctx) for j, e in enumerate(keep)]
    return reports, events


def _event_row(rid, j, e, ctx) -> dict:
    minutes, type_, to_status, unit_idx, data, actor = e
    return {
        "id": rid * 100 + j,
        "report_id": rid,
        "at": WINDOW + timedelta(minutes=minutes),
        "type": type_,
        "actor": actor,
        "actor_user_id": None,
        "to_status": to_status,
        "to_unit_id": None if unit_idx is None else ctx["units"][unit_idx],
        "data": data,
    }


def write_events(events: dict, already: dict) -> None:
    """Insert the events not inserted yet, filling from/to like services.events.record."""
    rows = []
    for rid, evs in events.items():
        status, unit = None, None
        for e in evs:
            to_status = e["to_status"] or status
            to_unit = e["to_unit_id"] if e["to_unit_id"] is not None else unit
            if e["id"] not in already:
                rows.append(
                    {
                        **e,
                        "from_status": status,
                        "to_status": to_status,
                        "from_unit_id": unit,
                        "to_unit_id": to_unit,
                        "public": True,
                    }
                )
                already[e["id"]] = True
            e["from_unit_id"], e["to_status"], e["to_unit_id"] = unit, to_status, to_unit
            status, unit = to_status, to_unit
    if rows:
        db.session.execute(insert(Event), rows)


@st.composite
def custom_period(draw):
    start = date(2026, 1, 20) + timedelta(days=draw(st.integers(0, 100)))
    return "custom", start, start + timedelta(days=draw(st.integers(0, 40)))


def queries():
    return custom_period() | st.sampled_from(
        [
            ("month", date(2026, 2, 1), None),
            ("week", date(2026, 2, 16), None),
            ("day", date(2026, 2, 27), None),
            ("quarter", date(2026, 1, 1), None),
            ("year", date(2026, 1, 1), None),
            ("custom", date(2026, 1, 29), date(2026, 3, 3)),
            ("custom", date(2025, 12, 1), date(2026, 2, 13)),
            ("month", date(2026, 3, 1), None),
        ]
    )


@pytest.fixture()
def ctx(db_session):
    units = [db.session.scalar(select(Unit.id).where(Unit.code == "IOC-66"))]
    units += [db.session.scalar(select(Unit.id).where(Unit.code == c)) for c in UNITS]
    cats = {c.code: c for c in db.session.scalars(select(Category).where(Category.code.in_(CATS)))}
    areas = {a.code: a.id for a in db.session.scalars(select(Area).where(Area.code.in_(AREAS)))}
    dispatchers = set(db.session.scalars(select(Unit.id).where(Unit.kind == "dispatcher")))
    return {"units": units, "cats": cats, "areas": areas, "dispatchers": dispatchers}


def _insert_reports(ctx, histories) -> None:
    ids = []
    for i, (cat, area, _, _, channel) in enumerate(histories):
        r = Report(
            code=f"PT{i:06d}",
            citizen_token_hash="x" * 64,
            category_id=ctx["cats"][cat].id,
            status="submitted",
            location=func.ST_SetSRID(func.ST_MakePoint(108.04, 12.67), 4326),
            area_id=ctx["areas"][area],
            channel=channel,
        )
        db.session.add(r)
        db.session.flush()
        ids.append(r.id)
    ctx["report_ids"] = ids


def assert_same(got, want, label) -> None:
    keys = set(got) | set(want)
    for k in keys:
        g, w = got.get(k), want.get(k)
        gv = g.values if g else None
        wv = w.values if w else None
        if g is None or w is None:  # a group with nothing in it may be absent on one side
            other = g or w
            assert not any(other.values.values()) and not other.backlog, (label, k, gv, wv)
            continue
        for name, value in wv.items():
            assert gv[name] == pytest.approx(value, abs=1e-6), (label, k, name, gv, wv)
        assert g.hists == w.hists, (label, k)
        assert {d: n for d, n in g.backlog.items() if n} == {d: n for d, n in w.backlog.items() if n}, (label, k)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    histories=st.lists(history(len(UNITS) + 1), min_size=1, max_size=7),
    picks=st.lists(
        st.tuples(queries(), st.sampled_from(["unit_id", "area_id", "category_id", "channel", None])),
        min_size=2,
        max_size=4,
    ),
)
def test_rollups_equal_reference_after_late_events(ctx, histories, picks, monkeypatch):
    wipe()
    _insert_reports(ctx, histories)
    cal = deadlines.calendar()
    written: dict = {}
    bumps: list = []  # the moments from which each refresh says the facts read differently
    monkeypatch.setattr(indicator_cache, "bump", bumps.append)
    before = {}
    for phase_cut in (True, False):  # a first part of every history, then the late rest
        reports, events = load(histories, ctx, phase_cut)
        write_events(events, written)
        db.session.flush()
        bumps.clear()
        rollups.refresh()
        for (kind, start, end), key in picks:
            p = indicators.period(kind, start, end)
            t = indicators.as_of(p)
            got = fetch(p.start, p.end, t, key)
            want = reference(reports, events, p.start, p.end, t, key, cal, ctx["dispatchers"])
            assert_same(got, want, (phase_cut, kind, start, end, key))
            if phase_cut:
                before[(kind, start, end, key)] = want
            elif all(t <= b for b in bumps):  # the cache keeps this table: it must not have changed
                assert_same(want, before[(kind, start, end, key)], ("cached", kind, start, end, key))
        check_tree(ctx, reports, events, cal)


def check_tree(ctx, reports, events, cal) -> None:
    """group_by=unit through compute(): each shown unit is the sum of its subtree."""
    p = indicators.period("month", date(2026, 2, 1))
    t = indicators.as_of(p)
    sc = indicators.scope("UBND-66", None, None, None)
    table = indicators.compute(p, sc, "unit", depth=2)
    want = reference(reports, events, p.start, p.end, t, "unit_id", cal, ctx["dispatchers"])
    by_parent: dict = {}
    for u in sc.units:
        by_parent.setdefault(u.parent_id, []).append(u.id)

    def subtree(uid):
        acc = Totals()
        if uid in want:
            acc.add(want[uid])
        for child in by_parent.get(uid, ()):
            acc.add(subtree(child))
        return acc

    for row in table["rows"]:
        expect = subtree(row["unit"]["id"]).render(cal, t)
        got = {k: v for k, v in row.items() if k != "unit"}
        assert _close(got, expect), (row["unit"]["code"], _diff(got, expect))
    assert table["rows"][0]["unit"]["code"] == "UBND-66"
    assert _close(table["total"], {k: v for k, v in table["rows"][0].items() if k != "unit"})


def _diff(a, b, path="") -> list:
    """Where two rendered rows differ (for the failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in a.keys() | b.keys() for d in _diff(a.get(k), b.get(k), f"{path}.{k}")]
    return [] if _close(a, b) else [(path, a, b)]


def _close(a, b) -> bool:
    """Equal, floats to 1e-6 (the sums of hours are added in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-6
    return a == b


FLOWS_ONLY = [name for name in SCALARS if name not in ("reports", "on_time", "late")]


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
@given(
    histories=st.lists(history(len(UNITS) + 1), min_size=1, max_size=6),
    cuts=st.lists(st.integers(1, 303), min_size=1, max_size=8, unique=True),
)
def test_every_event_lands_in_exactly_one_period(ctx, histories, cuts):
    """Periods that partition the year count every event of a random history exactly once."""
    last = max(WINDOW + timedelta(minutes=e[0]) for _, _, evs, _, _ in histories for e in evs)
    assume(last < datetime(2026, 11, 1, tzinfo=TZ))  # every event in the past, inside the range
    wipe()
    _insert_reports(ctx, histories)
    reports, events = load(histories, ctx, False)
    write_events(events, {})
    db.session.flush()
    rollups.refresh()
    first, stop = date(2026, 1, 1), date(2026, 11, 1)
    bounds = [first, *sorted(first + timedelta(days=c) for c in cuts), stop]
    parts = Totals()
    for a, b in itertools.pairwise(bounds):
        p = indicators.period("custom", a, b - timedelta(days=1))
        for kind in (None, "unit_id"):
            got = fetch(p.start, p.end, indicators.as_of(p), kind)
            if kind is None:
                parts.add(got.get(0) or Totals())
            else:  # the same events, split by unit
                whole = Totals()
                for t in got.values():
                    whole.add(t)
                mine = fetch(p.start, p.end, indicators.as_of(p), None).get(0) or Totals()
                assert {n: whole.values[n] for n in FLOWS_ONLY} == pytest.approx(
                    {n: mine.values[n] for n in FLOWS_ONLY}
                )
    p = indicators.period("custom", first, stop - timedelta(days=1))
    everything = fetch(p.start, p.end, indicators.as_of(p), None).get(0) or Totals()
    for name in FLOWS_ONLY:
        assert parts.values[name] == pytest.approx(everything.values[name], abs=1e-6), name
    assert parts.hists == everything.hists
    # ...and each event of the history is one of those counted: receipts and hand-ons, from the raw events.
    receipts = hand_ons = 0
    for evs in events.values():
        holders, unit = set(), None
        for e in evs:
            if e["to_unit_id"] != unit:
                hand_ons += unit is not None
                receipts += e["to_unit_id"] not in holders
                holders.add(e["to_unit_id"])
            unit = e["to_unit_id"]
    assert (everything.values["received"], everything.values["transfers"]) == (receipts, hand_ons)


def _without_percentiles(table: dict) -> dict:
    """A rendered table with its medians and p90s set to None (what hists=False gives)."""

    def strip(row: dict) -> dict:
        row = dict(row)
        for measure in ("handling_time", "first_response"):
            row[measure] = {
                k: ({**v, "median": None, "p90": None} if isinstance(v, dict) else v) for k, v in row[measure].items()
            }
        return row

    return {**table, "total": strip(table["total"]), "rows": [strip(r) for r in table["rows"]]}


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    histories=st.lists(history(len(UNITS) + 1), min_size=1, max_size=7),
    picks=st.lists(
        st.tuples(
            queries(),
            st.sampled_from(["unit", "area", "category", "channel", "none"]),
            st.integers(0, 3),
            st.booleans(),
        ),
        min_size=1,
        max_size=6,
    ),
    unit=st.sampled_from([None, "UBND-66", "SXD"]),
    category=st.sampled_from([None, "street_light"]),
    hour=st.integers(0, 60 * 24),
)
def test_one_batch_equals_each_table_alone(ctx, histories, picks, unit, category, hour):
    """compute_many (the dashboard's one batch: periods and groupings read together, the
    stock once per T) gives every table exactly as compute() gives it alone."""
    wipe()
    _insert_reports(ctx, histories)
    reports, events = load(histories, ctx, False)
    write_events(events, {})
    db.session.flush()
    rollups.refresh()
    now = datetime(2026, 2, 20, tzinfo=TZ) + timedelta(minutes=hour)  # periods over, current and to come
    sc = indicators.scope(unit, None, [category] if category else None, None)
    tables = [
        indicators.Table(indicators.period(kind, start, end), group_by, depth, hists)
        for (kind, start, end), group_by, depth, hists in picks
    ]
    for tb, got in zip(tables, indicators.compute_many(tables, sc, now), strict=True):
        alone = indicators.compute(tb.period, sc, tb.group_by, tb.depth, now)
        want = alone if tb.hists else _without_percentiles(alone)
        assert _close(got, want), (tb, _diff(got, want))
    # ...and the dashboard page's batch: its figures are those of each period computed alone.
    p = indicators.period("month", date(2026, 2, 1))
    data, before, steps = board.page(p, sc, "week", now)
    assert _close(data["by_unit"], indicators.compute(p, sc, "unit", board.RANK_DEPTH, now))
    for group_by in board.DETAIL:
        alone = _without_percentiles(indicators.compute(p, sc, group_by, 1, now))
        assert _close(data[f"by_{group_by}"], alone), group_by
    assert _close(before, indicators.compute(board.previous(p), sc, "none", 1, now)["total"])
    assert [s.start for s, _ in steps][-1] == date(2026, 2, 23)
    for step, total in steps:
        assert _close(total, indicators.compute(step, sc, "none", 1, now)["total"]), step
