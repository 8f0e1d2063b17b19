"""The dashboard's ranking, figures and period rules as plain functions (issue 18)."""

from __future__ import annotations

from datetime import date

from fieldreport.services import indicators
from fieldreport.services.indicators import dashboard as board
from fieldreport.web import dashboard


def _row(code: str, kind: str, reports: int, on_time: int, backlog: int = 0, depth: int = 1) -> dict:
    rate = round(100 * on_time / reports, 2) if reports else None
    return {
        "unit": {"code": code, "name": f"Đơn vị {code}", "kind": kind, "depth": depth},
        "reports": reports,
        "on_time_rate": rate,
        "late": reports - on_time,
        "backlog": backlog,
        "handling_time": {"working_hours": {"median": 10.0 + reports, "p90": 20.0}},
    }


ROWS = [
    _row("UBND-66", "province", 200, 150, depth=0),
    _row("A", "commune", 40, 38),
    _row("B", "commune", 20, 10),
    _row("C", "commune", 1, 0),
    _row("D", "commune", 0, 0),
    _row("E", "commune", 10, 10),
    _row("PC-66", "utility", 8, 4),
    _row("WATER-66", "utility", 9, 9),
    _row("URENCO-BMT", "contractor", 12, 6),
    _row("SXD", "department", 30, 25),
]


def test_worst_first_peers_together_small_units_flagged():
    """Findings: best first (late units at ranks 91–98 out of sight), 1 report at 0 % ranked
    like a large unit, utilities only after drilling into their department."""
    groups = {g["kind"]: g for g in dashboard.ranking({"rows": ROWS})}
    assert list(groups)[:4] == ["commune", "department", "utility", "contractor"]
    communes = groups["commune"]
    assert [r["unit"]["code"] for r in communes["ranked"]] == ["B", "A", "E"]  # worst first
    assert [r["rank"] for r in communes["ranked"]] == [3, 2, 1]  # rank 1 is still the best
    assert [r["unit"]["code"] for r in communes["small"]] == ["C"] and communes["small"][0]["rank"] is None
    assert [r["unit"]["code"] for r in communes["idle"]] == ["D"]
    assert [r["unit"]["code"] for r in groups["utility"]["ranked"]] == ["PC-66", "WATER-66"]
    assert groups["contractor"]["count"] == 1 and "province" not in groups
    best = {g["kind"]: g for g in dashboard.ranking({"rows": ROWS}, "best")}
    assert [r["unit"]["code"] for r in best["commune"]["ranked"]] == ["E", "A", "B"]


def test_handling_bars_are_named_units_slowest_first():
    bars = dashboard.handling_bars(dashboard.ranking({"rows": ROWS}))
    assert bars[0]["name"] == "Đơn vị A" and all(b["name"].startswith("Đơn vị") for b in bars)
    assert [b["median"] for b in bars] == sorted((b["median"] for b in bars), reverse=True)


def test_on_time_parts_add_up_and_changes_know_which_way_is_better():
    """Finding: 100 % on time with 62 of 79 open, no breakdown, no change against last period."""
    total = {"reports": 79, "on_time": 79, "late": 0, "answered": 17, "satisfaction": {"answered_late": 0}}
    parts = dashboard.on_time_parts(total)
    assert parts == {
        "answered_on_time": 17,
        "open_not_due": 62,
        "late": 0,
        "answered_late": 0,
        "open_overdue": 0,
        "total": 79,
    }
    ch = dashboard.changes(
        {"on_time_rate": 90.0, "late_rate": 10.0, "backlog": 5, "resolved": 3, "median": 12.0, "satisfaction": None},
        {"on_time_rate": 80.0, "late_rate": 20.0, "backlog": 3, "resolved": 3, "median": 10.0, "satisfaction": 50.0},
    )
    assert ch["on_time_rate"] == {"delta": 10.0, "before": 80.0, "better": True}
    assert ch["late_rate"]["better"] is True and ch["backlog"]["better"] is False
    assert ch["median"]["better"] is False and ch["resolved"]["better"] is None
    assert ch["satisfaction"] is None


def test_previous_period_and_sparkline():
    month = indicators.period("month", date(2026, 3, 15))
    assert board.previous(month) == indicators.period("month", date(2026, 2, 1))
    custom = indicators.period("custom", date(2026, 3, 10), date(2026, 3, 16))
    before = board.previous(custom)
    assert (before.start, before.last) == (date(2026, 3, 3), date(2026, 3, 9))
    assert dashboard.sparkline([None, 1]) == ""
    assert len(dashboard.sparkline([1, None, 3, 2]).split()) == 3
