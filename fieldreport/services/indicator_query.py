"""Answering an indicator query from the rollups, corrected by the facts that straddle T.

For a period [start, end) read as of T (t = the first local day at or after T):
  rollups   final-state sums of *settled* facts received in [start, t), read from the
            coarsest rows that tile the range (whole years, whole months, days);
  straddle  facts received before t whose state still changed on or after t
            (received_day < t <= settle_day, a GiST stabbing query): for those received in
            the period, add their state as of T and take away the final state the rollups
            hold for the settled ones; all of them give the backlog at T.
The sum is exactly the direct evaluation of every fact of the period as of T.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from operator import add
from datetime import date, datetime, time, timedelta

from sqlalchemy import TextClause, text

from fieldreport.extensions import db
from fieldreport.services import deadlines
from fieldreport.services.indicators_sql import (HISTS, HT_SUMS, SCALARS, SUMS, aggregates, deltas,
                                                 flagged, hist_deltas, summed)
from fieldreport.worktime import TZ, Calendar

BANDS = ((0, 2, "0-2"), (3, 5, "3-5"), (6, 10, "6-10"), (11, None, ">10"))
RATIOS = ((1, 2), (9, 10))  # median, p90
FLOAT_SCALARS = frozenset({*SUMS, *HT_SUMS})
PROBE_UNITS = 500  # up to this many units, find straddling facts unit by unit


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


@dataclass
class Totals:
    """Additive measures of a group: scalars, histograms, backlog by overdue band."""

    values: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SCALARS, 0))
    hists: dict[str, list[int]] = field(
        default_factory=lambda: {k: [0] * (len(b) + 1) for k, (_, _, b) in HISTS.items()})
    backlog: dict[str | None, int] = field(default_factory=dict)  # overdue band (None: not due)

    def add_row(self, row) -> None:
        values = self.values
        for name in SCALARS:
            values[name] += row[name] or 0
        for name in HISTS:
            if row[name]:
                self.hists[name] = list(map(add, self.hists[name], row[name]))

    def add_values(self, values) -> None:
        """Add one straddle row (float8[] in SCALARS order; counts come back as whole floats)."""
        for name, v in zip(SCALARS, values):
            self.values[name] += v if name in FLOAT_SCALARS else int(round(v))

    def add(self, other: "Totals") -> None:
        for k, v in other.values.items():
            self.values[k] += v
        for k, h in other.hists.items():
            mine = self.hists[k]
            for i, v in enumerate(h):
                mine[i] += v
        for k, n in other.backlog.items():
            self.backlog[k] = self.backlog.get(k, 0) + n

    def render(self, cal: Calendar, t: datetime) -> dict:
        v = self.values
        n = v["reports"]
        bands = overdue_bands(self.backlog)
        ratings = {str(k): v[f"r{k}"] for k in range(1, 6)}
        rated = v["rated"]
        return {
            "received": v["received"], "reports": n, "on_time": v["on_time"], "late": v["late"],
            "on_time_rate": ratio(v["on_time"], n), "late_rate": ratio(v["late"], n),
            "answered": v["answered"], "resolved": v["resolved"], "rejected": v["rejected"],
            "backlog": sum(self.backlog.values()), "overdue_backlog": bands,
            "handling_time": _times(v["ht_n"], v["ht_wh_sum"], v["ht_ch_sum"],
                                    self.hists["ht_wh_hist"], self.hists["ht_ch_hist"]),
            "first_response": _times(v["fr_n"], v["fr_wh_sum"], v["fr_ch_sum"],
                                     self.hists["fr_wh_hist"], self.hists["fr_ch_hist"]),
            "satisfaction": {
                "rate": ratio(v["answered"] - v["dissatisfied"], v["answered"]),
                "answered": v["answered"], "dissatisfied": v["dissatisfied"],
                "answered_late": v["answered_late"], "reopened": v["reopened"],
                "rated": rated, "ratings": ratings,
                "mean_rating": _round(sum(k * v[f"r{k}"] for k in range(1, 6)) / rated) if rated else None,
            },
            "transfers": v["transfers"], "transfers_per_report": _round(v["transfers"] / n) if n else None,
            "auto_routed": v["auto_routed"], "auto_routed_share": ratio(v["auto_routed"], n),
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
    """percentile() for several (num, den) ratios over one cumulative pass."""
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
    return _overdue_days(cal, due_day, t.astimezone(TZ).date())


@lru_cache(maxsize=8192)
def _overdue_days(cal: Calendar, due_day: date, t_day: date) -> int:
    a = datetime.combine(due_day + timedelta(days=1), time(0), tzinfo=TZ)
    b = datetime.combine(t_day, time(0), tzinfo=TZ)
    if b <= a:
        return 0
    day_hours = sum((e.hour * 60 + e.minute) - (s.hour * 60 + s.minute) for s, e in cal.office_hours) / 60
    return round(cal.working_hours_between(a, b) / day_hours)


def band_of(age: int) -> str:
    return next(label for lo, hi, label in BANDS if age >= lo and (hi is None or age <= hi))


def band_starts(cal: Calendar, t: datetime) -> tuple[date, ...]:
    """For each band but the last, the earliest due day still in it (age falls as days rise)."""
    return _band_starts(cal, t.astimezone(TZ).date())


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


def _filters(alias: str, unit_ids, area_ids, category_ids) -> tuple[str, dict]:
    parts, params = ["true"], {}
    for col, ids in (("unit_id", unit_ids), ("area_id", area_ids), ("category_id", category_ids)):
        if ids is not None:
            parts.append(f"{alias}.{col} = ANY(CAST(:{col}s AS int[]))")
            params[f"{col}s"] = list(ids)
    return " AND ".join(parts), params


def first_day_after(t: datetime) -> date:
    local = t.astimezone(TZ)
    return local.date() if local.time() == time(0) else local.date() + timedelta(days=1)


def fetch(start: date, end: date, t: datetime, key: str | None, unit_ids=None, area_ids=None,
          category_ids=None, groups: tuple[list[int], list[int]] | None = None) -> dict[int, Totals]:
    """Totals per value of `key` (a fact column, or None for one group 0).

    `groups` = (unit ids, group ids): instead of `key`, each unit's numbers go to every
    group it is paired with (a unit and its displayed ancestors: the tree rollup).
    """
    t_day = first_day_after(t)
    stop = min(end, t_day)
    out: dict[int, Totals] = {}
    # Wide, short queries: JIT compiling their expressions costs more (~100 ms) than it saves.
    db.session.execute(_SET_JIT)
    db.session.execute(_SET_WORK_MEM)

    def acc(k) -> Totals:
        k = 0 if k is None else k
        if k not in out:
            out[k] = Totals()
        return out[k]

    years, months, days = tiles(start, stop) if start < stop else ([], [], [])
    # Unit totals (category 0) answer queries that split by unit only; else the detail rows,
    # which exist for months and years: the days at the edges are then read from the facts.
    totals_only = area_ids is None and category_ids is None and (groups is not None or key is None)
    direct = [] if totals_only else days
    probe = unit_ids is not None and len(unit_ids) <= PROBE_UNITS
    sql = _statements(key if groups is None else None, groups is not None, totals_only, probe,
                      unit_ids is not None, area_ids is not None, category_ids is not None)
    params: dict = {"t": t, "t_day": t_day, "start": start, "dd": direct,
                    "ys": years, "ms": months, "ds": days}
    params.update({f"band{i}": d for i, d in enumerate(band_starts(deadlines.calendar(), t))})
    if groups is not None:
        params.update(gu=groups[0], gg=groups[1])
    for col, ids in (("unit_id", unit_ids), ("area_id", area_ids), ("category_id", category_ids)):
        if ids is not None:
            params[f"{col}s"] = list(ids)

    if years or months or (days and totals_only):
        for row in db.session.execute(sql.rollups, params).mappings():
            acc(row["k"]).add_row(row)
    if direct:  # every fact of those days, read as of T
        for row in db.session.execute(sql.direct, params).mappings():
            acc(row["k"]).add_row(row)
    for row in db.session.execute(sql.straddling, params).mappings():
        a = acc(row["k"])
        if row["part"] == 1:
            a.add_values(row["vals"])
        elif row["part"] == 2:
            a.hists[row["name"]][row["bucket"]] += row["n"]
        else:
            a.backlog[row["name"]] = a.backlog.get(row["name"], 0) + row["n"]
    return out


_SET_JIT = text("SET LOCAL jit = off")
_SET_WORK_MEM = text("SET LOCAL work_mem = '32MB'")


@dataclass(frozen=True)
class Statements:
    rollups: TextClause    # rollup rows of the tiles, summed per key
    direct: TextClause     # the facts of the edge days, as of T, per key
    straddling: TextClause  # corrections and backlog from the facts straddling T, per key


@lru_cache(maxsize=64)
def _statements(key: str | None, grouped: bool, totals_only: bool, probe: bool,
                by_unit: bool, by_area: bool, by_category: bool) -> Statements:
    """The SQL of one query shape, built once (the text is long and its parse is not free)."""
    def where(alias: str, units: bool = by_unit) -> str:
        return _filters(alias, *(() if on else None for on in (units, by_area, by_category)))[0]

    def keyed(alias: str) -> tuple[str, str]:
        if grouped:
            return "m.grp", (f"JOIN unnest(CAST(:gu AS int[]), CAST(:gg AS int[])) AS m(unit_id, grp) "
                             f"ON m.unit_id = {alias}.unit_id")
        return (f"{alias}.{key}" if key else "0"), ""

    k_r, join_r = keyed("r")
    rollups = f"""
        SELECT {k_r} AS k, {summed()} FROM indicator_rollups r {join_r}
        WHERE ((r.grain = 'y' AND r.bucket = ANY(CAST(:ys AS date[])))
            OR (r.grain = 'm' AND r.bucket = ANY(CAST(:ms AS date[])))
            OR (r.grain = 'd' AND r.bucket = ANY(CAST(:ds AS date[]))))
          AND {where("r")} AND r.category_id {"=" if totals_only else "<>"} 0
        GROUP BY 1"""
    k_d, join_d = keyed("z")
    direct = f"""
        SELECT {k_d} AS k, {aggregates()}
        FROM ({flagged(f"f.received_day = ANY(CAST(:dd AS date[])) AND {where('f')}", ":t")}) z {join_d}
        GROUP BY 1"""
    # Straddling facts are summed per unit (or key) first; the few sums then go to groups.
    k_z = "z0.unit_id" if grouped else (f"z0.{key}" if key else "0")
    # Straddling facts of the rollup tiles get corrected; those of direct days were read as of T.
    in_tiles = "z.received_day >= :start AND NOT (z.received_day = ANY(CAST(:dd AS date[])))"
    branches = [f"""
      SELECT 1 AS part, z.k, NULL::text AS name, NULL::int AS bucket, 0::bigint AS n, {deltas()} AS vals
        FROM z WHERE {in_tiles} GROUP BY z.k"""]
    for name, delta in hist_deltas().items():
        branches.append(f"""
      SELECT 2, z.k, '{name}', z.b_{name}, sum({delta})::bigint, NULL
        FROM z WHERE {in_tiles} AND ({delta}) <> 0 GROUP BY z.k, z.b_{name} HAVING sum({delta}) <> 0""")
    # The backlog, by overdue band: whole working days from the due day to T's day
    # (:band<i> is the earliest due day of band i, from band_starts).
    band = "CASE WHEN z.due_at IS NULL OR z.due_at >= :t THEN NULL " + " ".join(
        f"WHEN (z.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date >= CAST(:band{i} AS date) THEN '{label}'"
        for i, (_, _, label) in enumerate(BANDS[:-1])) + f" ELSE '{BANDS[-1][2]}' END"
    branches.append(f"""
      SELECT 3, z.k, {band}, NULL, count(*), NULL
        FROM z WHERE z.c_t AND NOT z.ans_t GROUP BY 2, 3""")
    if probe:  # one index probe per unit
        stab = (f"f.unit_id = ANY(CAST(:unit_ids AS int[])) "
                f"AND coalesce(f.settle_day, 'infinity'::date) >= CAST(:t_day AS date) "
                f"AND f.received_day < CAST(:t_day AS date) AND {where('f', units=False)}")
    else:
        stab = f"daterange(f.received_day + 1, f.settle_day + 1) @> CAST(:t_day AS date) AND {where('f')}"
    straddling = f"""
      WITH z AS MATERIALIZED (SELECT {k_z} AS k, z0.* FROM ({flagged(stab, ":t", both=True)}) z0)
      {" UNION ALL ".join(branches)}"""
    if grouped:
        vals = ", ".join(f"sum(b.vals[{i}])" for i in range(1, len(SCALARS) + 1))
        straddling = f"""
      SELECT b.part, m.grp AS k, b.name, b.bucket, sum(b.n)::bigint AS n,
             CASE WHEN b.part = 1 THEN ARRAY[{vals}] END AS vals
      FROM ({straddling}) b JOIN unnest(CAST(:gu AS int[]), CAST(:gg AS int[])) AS m(unit_id, grp)
        ON m.unit_id = b.k
      GROUP BY b.part, m.grp, b.name, b.bucket"""
    return Statements(text(rollups), text(direct), text(straddling))
