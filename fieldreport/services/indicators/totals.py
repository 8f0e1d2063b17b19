"""Additive totals of one group (scalars, histograms, backlog by overdue band) and their rendering.

Ratios have two decimals and are None ("n/a") when the denominator is 0. Median and p90
come from histogram buckets: see percentiles() for the error bound.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from operator import add

from fieldreport.services.indicators.measures import HISTS, SCALARS
from fieldreport.worktime import Calendar

BANDS = ((0, 2, "0-2"), (3, 5, "3-5"), (6, 10, "6-10"), (11, None, ">10"))
RATIOS = ((1, 2), (9, 10))  # median, p90


@dataclass
class Totals:
    """Additive measures of a group: scalars, histograms, backlog by overdue band."""

    values: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SCALARS, 0))
    hists: dict[str, list[int]] = field(
        default_factory=lambda: {k: [0] * (len(b) + 1) for k, (_, _, b) in HISTS.items()}
    )
    backlog: dict[str | None, int] = field(default_factory=dict)  # overdue band (None: not due)

    def add_row(self, row) -> None:
        values = self.values
        for name in SCALARS:
            values[name] += row[name] or 0
        for name in HISTS:
            if row[name]:
                self.hists[name] = list(map(add, self.hists[name], row[name]))

    def add(self, other: Totals) -> None:
        for k, v in other.values.items():
            self.values[k] += v
        for k, h in other.hists.items():
            mine = self.hists[k]
            for i, v in enumerate(h):
                mine[i] += v
        for band, n in other.backlog.items():
            self.backlog[band] = self.backlog.get(band, 0) + n

    def render(self, cal: Calendar, t: datetime) -> dict:
        v = self.values
        n = v["reports"]
        bands = overdue_bands(self.backlog)
        ratings = {str(k): v[f"r{k}"] for k in range(1, 6)}
        rated = v["rated"]
        return {
            "received": v["received"],
            "reports": n,
            "on_time": v["on_time"],
            "late": v["late"],
            "on_time_rate": ratio(v["on_time"], n),
            "late_rate": ratio(v["late"], n),
            "answered": v["answered"],
            "resolved": v["resolved"],
            "rejected": v["rejected"],
            "backlog": sum(self.backlog.values()),
            "overdue_backlog": bands,
            "handling_time": _times(
                v["ht_n"], v["ht_wh_sum"], v["ht_ch_sum"], self.hists["ht_wh_hist"], self.hists["ht_ch_hist"]
            ),
            "first_response": _times(
                v["fr_n"], v["fr_wh_sum"], v["fr_ch_sum"], self.hists["fr_wh_hist"], self.hists["fr_ch_hist"]
            ),
            "satisfaction": {
                "rate": ratio(v["answered"] - v["dissatisfied"], v["answered"]),
                "answered": v["answered"],
                "dissatisfied": v["dissatisfied"],
                "answered_late": v["answered_late"],
                "reopened": v["reopened"],
                "rated": rated,
                "ratings": ratings,
                "mean_rating": _round(sum(k * v[f"r{k}"] for k in range(1, 6)) / rated) if rated else None,
            },
            "transfers": v["transfers"],
            "transfers_per_report": _round(v["transfers"] / v["received"]) if v["received"] else None,
            "auto_routed": v["auto_routed"],
            "auto_routed_share": ratio(v["auto_routed"], v["received"]),
        }


def _round(x: float | None) -> float | None:
    """Two decimals, after dropping float noise (sums added in another order agree)."""
    return None if x is None else round(round(x, 9), 2) + 0.0


def ratio(num: float, den: float) -> float | None:
    """num ÷ den × 100 with 2 decimals; None ("n/a") when den is 0."""
    return _round(100.0 * num / den) if den else None


def percentile(hist: list[int], bounds, num: int, den: int) -> float | None:
    """Nearest-rank percentile num/den, interpolated linearly inside its bucket."""
    return percentiles(hist, bounds, ((num, den),))[0]


def percentiles(hist: list[int], bounds, ratios) -> list[float | None]:
    """percentile() for several (num, den) ratios over one cumulative pass.

    The estimate lies in the bucket of the exact nearest-rank value, so its error is at most
    that bucket's width (docs/indicators.md: ≤ 0.5 h below 4 working hours, ≤ a third of the
    value up to 750 h); the open last bucket gives its lower bound.
    """
    cum = list(accumulate(hist))
    n = cum[-1] if cum else 0
    out: list[float | None] = []
    for num, den in ratios:
        if n <= 0:
            out.append(None)
            continue
        k = (num * n + den - 1) // den
        i = bisect_left(cum, k)  # the first bucket whose running count reaches k
        before = cum[i - 1] if i else 0
        lo = 0.0 if i == 0 else float(bounds[i - 1])
        if i >= len(bounds):
            out.append(_round(lo))  # open last bucket: its lower bound
        else:
            out.append(_round(lo + (float(bounds[i]) - lo) * (k - before) / hist[i]))
    return out


def _times(n, wh_sum, ch_sum, wh_hist, ch_hist) -> dict:
    wh_bounds, ch_bounds = HISTS["ht_wh_hist"][2], HISTS["ht_ch_hist"][2]
    wh, ch = percentiles(wh_hist, wh_bounds, RATIOS), percentiles(ch_hist, ch_bounds, RATIOS)
    return {
        "count": n,
        "working_hours": {"mean": _round(wh_sum / n) if n else None, "median": wh[0], "p90": wh[1]},
        "calendar_hours": {"mean": _round(ch_sum / n) if n else None, "median": ch[0], "p90": ch[1]},
    }


def overdue_days(cal: Calendar, due_day: date, t: datetime) -> int:
    """Whole working days after the due day and before T's day."""
    return _overdue_days(cal, due_day, t.astimezone(cal.tz).date())


@lru_cache(maxsize=8192)
def _overdue_days(cal: Calendar, due_day: date, t_day: date) -> int:
    a = datetime.combine(due_day + timedelta(days=1), time(0), tzinfo=cal.tz)
    b = datetime.combine(t_day, time(0), tzinfo=cal.tz)
    if b <= a:
        return 0
    day_hours = sum((e.hour * 60 + e.minute) - (s.hour * 60 + s.minute) for s, e in cal.office_hours) / 60
    return round(cal.working_hours_between(a, b) / day_hours)


def band_of(age: int) -> str:
    return next(label for lo, hi, label in BANDS if age >= lo and (hi is None or age <= hi))


def band_starts(cal: Calendar, t: datetime) -> tuple[date, ...]:
    """For each band but the last, the earliest due day still in it (age falls as days rise)."""
    return _band_starts(cal, t.astimezone(cal.tz).date())


@lru_cache(maxsize=256)
def _band_starts(cal: Calendar, t_day: date) -> tuple[date, ...]:
    starts, d = [], t_day
    for _, hi, _ in BANDS[:-1]:
        while _overdue_days(cal, d - timedelta(days=1), t_day) <= hi:
            d -= timedelta(days=1)
        starts.append(d)
    return tuple(starts)


def overdue_bands(backlog: dict[str | None, int]) -> dict[str, int]:
    return {label: backlog.get(label, 0) for _, _, label in BANDS}
