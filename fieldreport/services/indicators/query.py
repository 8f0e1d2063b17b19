"""Answering an indicator query: flows from the rollups, stock from the facts straddling T.

For a period [start, end) read as of T (t = the first local day at or after T):
  flows     the rollups sum every fact's events per day, month and year of the event; the
            range [start, t) is read from the coarsest rows that tile it (whole years, whole
            months, days). Days have unit totals only: a query by commune or category reads
            the flows of its edge days from the facts themselves.
  stock     facts received before t whose holding or answer still changed on or after t
            (received_day < t <= settle_day, a stabbing query): those held at T without an
            outcome are reports of the period (on time while not yet due), those held
            unanswered are the backlog by overdue band.
The sum is exactly the direct evaluation of every event of the period and every fact at T.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import TextClause, text

from fieldreport.extensions import db
from fieldreport.services import deadlines
from fieldreport.services.indicators.measures import aggregates, bucketed, stock, summed
from fieldreport.services.indicators.periods import first_day_after, tiles
from fieldreport.services.indicators.totals import BANDS, Totals, band_starts

PROBE_UNITS = 500  # up to this many units, find straddling facts unit by unit


def filters(alias: str, unit_ids, area_ids, category_ids) -> tuple[str, dict]:
    parts, params = ["true"], {}
    for col, ids in (("unit_id", unit_ids), ("area_id", area_ids), ("category_id", category_ids)):
        if ids is not None:
            parts.append(f"{alias}.{col} = ANY(CAST(:{col}s AS int[]))")
            params[f"{col}s"] = list(ids)
    return " AND ".join(parts), params


def fetch(
    start: date,
    end: date,
    t: datetime,
    key: str | None,
    unit_ids=None,
    area_ids=None,
    category_ids=None,
    groups: tuple[list[int], list[int]] | None = None,
) -> dict[int, Totals]:
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
    cal = deadlines.calendar()
    sql = _statements(
        key if groups is None else None,
        groups is not None,
        totals_only,
        probe,
        unit_ids is not None,
        area_ids is not None,
        category_ids is not None,
        cal.tz.key,
    )
    params: dict = {
        "t": t,
        "t_day": t_day,
        "start": start,
        "dd": direct,
        "dd_first": min(direct) if direct else None,
        "dd_last": max(direct) if direct else None,
        "ys": years,
        "ms": months,
        "ds": days,
    }
    params.update({f"band{i}": d for i, d in enumerate(band_starts(cal, t))})
    if groups is not None:
        params.update(gu=groups[0], gg=groups[1])
    for col, ids in (("unit_id", unit_ids), ("area_id", area_ids), ("category_id", category_ids)):
        if ids is not None:
            params[f"{col}s"] = list(ids)

    if years or months or (days and totals_only):
        for row in db.session.execute(sql.rollups, params).mappings():
            acc(row["k"]).add_row(row)
    if direct:  # the flows of those days, from the facts
        for row in db.session.execute(sql.direct, params).mappings():
            acc(row["k"]).add_row(row)
    for row in db.session.execute(sql.stock, params).mappings():
        a = acc(row["k"])
        if row["part"] == 1:  # open reports at T: on time or late
            a.values["reports"] += row["n"]
            a.values[row["name"]] += row["n"]
        else:
            a.backlog[row["name"]] = a.backlog.get(row["name"], 0) + row["n"]
    return out


_SET_JIT = text("SET LOCAL jit = off")
_SET_WORK_MEM = text("SET LOCAL work_mem = '32MB'")


@dataclass(frozen=True)
class Statements:
    rollups: TextClause  # rollup rows of the tiles, summed per key
    direct: TextClause  # the flows of the edge days, from the facts, per key
    stock: TextClause  # open reports and backlog at T, from the facts straddling T, per key


@lru_cache(maxsize=64)
def _statements(
    key: str | None,
    grouped: bool,
    totals_only: bool,
    probe: bool,
    by_unit: bool,
    by_area: bool,
    by_category: bool,
    tz: str,
) -> Statements:
    """The SQL of one query shape, built once (the text is long and its parse is not free)."""

    def where(alias: str, units: bool = by_unit) -> str:
        return filters(alias, *(() if on else None for on in (units, by_area, by_category)))[0]

    def keyed(alias: str) -> tuple[str, str]:
        if grouped:
            return "m.grp", (
                f"JOIN unnest(CAST(:gu AS int[]), CAST(:gg AS int[])) AS m(unit_id, grp) ON m.unit_id = {alias}.unit_id"
            )
        return (f"{alias}.{key}" if key else "0"), ""

    k_r, join_r = keyed("r")
    rollups = f"""
        SELECT {k_r} AS k, {summed()} FROM indicator_rollups r {join_r}
        WHERE ((r.grain = 'y' AND r.bucket = ANY(CAST(:ys AS date[])))
            OR (r.grain = 'm' AND r.bucket = ANY(CAST(:ms AS date[])))
            OR (r.grain = 'd' AND r.bucket = ANY(CAST(:ds AS date[]))))
          AND {where("r")} AND r.category_id {"=" if totals_only else "<>"} 0
        GROUP BY 1"""
    # Facts with an event on an edge day: received by then and still changing from then on.
    k_d, join_d = keyed("f")
    spans = (
        "f.received_day <= CAST(:dd_last AS date) "
        "AND coalesce(f.settle_day, 'infinity'::date) >= CAST(:dd_first AS date)"
    )
    direct = f"""
        SELECT {k_d} AS k, {aggregates()}
        FROM ({bucketed(f"{spans} AND {where('f')}", tz)}) f {join_d}
        WHERE f.day = ANY(CAST(:dd AS date[]))
        GROUP BY 1"""
    # Straddling facts are summed per unit (or key) first; the few sums then go to groups.
    k_z = "z0.unit_id" if grouped else (f"z0.{key}" if key else "0")
    # The backlog, by overdue band: whole working days from the due day to T's day
    # (:band<i> is the earliest due day of band i, from band_starts).
    due_day = f"(z.due_at AT TIME ZONE '{tz}')::date"
    band = (
        "CASE WHEN z.due_at IS NULL OR z.due_at >= :t THEN NULL "
        + " ".join(
            f"WHEN {due_day} >= CAST(:band{i} AS date) THEN '{label}'" for i, (_, _, label) in enumerate(BANDS[:-1])
        )
        + f" ELSE '{BANDS[-1][2]}' END"
    )
    if probe:  # one index probe per unit
        stab = (
            f"f.unit_id = ANY(CAST(:unit_ids AS int[])) "
            f"AND coalesce(f.settle_day, 'infinity'::date) >= CAST(:t_day AS date) "
            f"AND f.received_day < CAST(:t_day AS date) AND {where('f', units=False)}"
        )
    else:
        stab = f"daterange(f.received_day + 1, f.settle_day + 1) @> CAST(:t_day AS date) AND {where('f')}"
    straddling = f"""
      WITH z AS MATERIALIZED (SELECT {k_z} AS k, z0.* FROM ({stock(stab, ":t")}) z0
                              WHERE z0.open_t OR z0.backlog_t)
      SELECT 1 AS part, z.k,
             CASE WHEN z.due_at < :t THEN 'late' ELSE 'on_time' END AS name, count(*) AS n
        FROM z WHERE z.open_t GROUP BY 2, 3
      UNION ALL
      SELECT 2, z.k, {band}, count(*) FROM z WHERE z.backlog_t GROUP BY 2, 3"""
    if grouped:
        straddling = f"""
      SELECT b.part, m.grp AS k, b.name, sum(b.n)::bigint AS n
      FROM ({straddling}) b JOIN unnest(CAST(:gu AS int[]), CAST(:gg AS int[])) AS m(unit_id, grp)
        ON m.unit_id = b.k
      GROUP BY b.part, m.grp, b.name"""
    return Statements(text(rollups), text(direct), text(straddling))
