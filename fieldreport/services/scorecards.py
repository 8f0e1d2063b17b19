"""Public scorecards: each unit's reform indicators against its peers, a ranking, a province summary.

The figures are the indicator service's (services.indicators: on-time rate, satisfaction,
handling time, volume; a unit's row includes its subtree, as there). This module only groups
units with their peers, ranks them and flags the small ones:

- Peers are units of the same kind: commune People's Committees among themselves, provincial
  departments among themselves, utilities and contractors together, the police alone. The
  province committee (the summary) and the dispatcher (triage only) are not ranked.
- A unit with fewer than SCORECARD_MIN_REPORTS reports in the period is listed and flagged
  "too few to rank", never ranked on one or two reports.
- Ranking: on-time rate, then satisfaction, then the lower median handling time, then the
  unit code (a stable order); `worst` reverses it.
"""

from __future__ import annotations

from datetime import date

from flask import current_app

from fieldreport.errors import NotFound
from fieldreport.services import indicators

PEER_GROUPS = {
    "commune": ("commune",),
    "department": ("department",),
    "utility": ("utility", "contractor"),
    "police": ("police",),
}
GROUP_OF_KIND = {kind: group for group, kinds in PEER_GROUPS.items() for kind in kinds}
MIN_REPORTS = 5


def min_reports() -> int:
    return int(current_app.config.get("SCORECARD_MIN_REPORTS", MIN_REPORTS))


def _figures(row: dict) -> dict:
    return {
        "reports": row["reports"],
        "received": row["received"],
        "resolved": row["resolved"],
        "answered": row["answered"],
        "on_time_rate": row["on_time_rate"],
        "satisfaction": row["satisfaction"]["rate"],
        "median_hours": row["handling_time"]["working_hours"]["median"],
        "backlog": row["backlog"],
    }


def _sort_key(item: dict):
    f = item["figures"]
    missing = float("inf")
    return (
        -(f["on_time_rate"] if f["on_time_rate"] is not None else -1),
        -(f["satisfaction"] if f["satisfaction"] is not None else -1),
        f["median_hours"] if f["median_hours"] is not None else missing,
        item["code"],
    )


def table(kind: str = "month", start: date | None = None, end: date | None = None) -> dict:
    """The whole province: summary and every ranked peer group, for one period."""
    p = indicators.period(kind, start, end)
    data = indicators.compute(p, indicators.scope(None, None, None, None), group_by="unit", depth=3)
    floor = min_reports()
    groups: dict[str, list[dict]] = {g: [] for g in PEER_GROUPS}
    for row in data["rows"]:
        unit = row["unit"]
        group = GROUP_OF_KIND.get(unit["kind"])
        if group is None:
            continue
        groups[group].append(
            {
                "code": unit["code"],
                "name": unit["name"],
                "kind": unit["kind"],
                "figures": _figures(row),
                "too_few": row["reports"] < floor,
            }
        )
    for items in groups.values():
        ranked = sorted((i for i in items if not i["too_few"]), key=_sort_key)
        for n, item in enumerate(ranked, 1):
            item["rank"], item["of"] = n, len(ranked)
        for item in items:
            item.setdefault("rank", None)
            item.setdefault("of", len(ranked))
    total = data["total"]
    return {
        "period": data["period"],
        "min_reports": floor,
        "summary": {
            "received": total["received"],
            "reports": total["reports"],
            "resolved": total["resolved"],
            "answered": total["answered"],
            "on_time_rate": total["on_time_rate"],
            "satisfaction": total["satisfaction"]["rate"],
            "median_hours": total["handling_time"]["working_hours"]["median"],
            "backlog": total["backlog"],
        },
        "groups": groups,
    }


def ranking(data: dict, group: str, worst_first: bool = False) -> list[dict]:
    """One peer group in rank order (best first, or worst first); the small units last."""
    if group not in PEER_GROUPS:
        raise NotFound("unknown_peer_group", f"No peer group {group!r}.", f"Không có nhóm {group!r}.")
    items = data["groups"][group]
    ranked = sorted((i for i in items if i["rank"] is not None), key=lambda i: i["rank"], reverse=worst_first)
    return ranked + sorted((i for i in items if i["rank"] is None), key=lambda i: i["code"])


def unit_card(data: dict, code: str) -> dict:
    """One unit's figures, rank and its peer group's medians."""
    for group, items in data["groups"].items():
        for item in items:
            if item["code"] == code:
                return {**item, "group": group, "peers": _peer_medians(items)}
    raise NotFound("unit_not_found", f"No ranked unit {code}.", f"Không có đơn vị {code}.")


def _median(values: list[float]) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else round((values[mid - 1] + values[mid]) / 2, 2)


def _peer_medians(items: list[dict]) -> dict:
    ranked = [i["figures"] for i in items if i["rank"] is not None]
    return {k: _median([f[k] for f in ranked]) for k in ("on_time_rate", "satisfaction", "median_hours", "reports")}
