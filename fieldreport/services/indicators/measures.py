"""The SQL of the indicator measures: one generator evaluates every fact as of a moment T.

A fact's state as of T (a period end) is read from its timestamps, with "before T"
strict everywhere (an event at T belongs to the next period):
  counted  the unit holds the report at T (received before T, not handed on by T);
           a report it resolved stays with it, so "the unit that resolved it or holds it"
  answered counted and answered before T (resolved/rejected/duplicate/closed)
  late     counted, due before T, and not answered on or before the due
  on_time  counted and not late (answered by the due, or open and not yet due at T)
The same text with T = 'infinity' gives the final state, which is what the rollups store.
"""
from __future__ import annotations

import re

_KEYWORDS = {"AND", "OR", "NOT", "true", "false"}

WH_BOUNDS = (0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7.5, 9, 11.25, 13.5, 15, 18,
             22.5, 26.25, 30, 33.75, 37.5, 45, 52.5, 60, 67.5, 75, 90, 112.5, 135, 150, 187.5,
             225, 300, 375, 450, 600, 750)
CH_BOUNDS = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 30, 36, 48, 60, 72, 96, 120, 144,
             168, 192, 240, 288, 336, 408, 504, 600, 720, 900, 1080, 1440, 2160, 2880, 4320,
             8760)
# histogram column → (fact value column, flag it is counted under, bounds)
HISTS = {
    "fr_wh_hist": ("first_response_wh", "fr", WH_BOUNDS),
    "fr_ch_hist": ("first_response_ch", "fr", CH_BOUNDS),
    "ht_wh_hist": ("handling_wh", "ht", WH_BOUNDS),
    "ht_ch_hist": ("handling_ch", "ht", CH_BOUNDS),
}
# count column → flag (a boolean of the flagged subquery); "received" counts every row
COUNTS = {
    "received": "true", "reports": "c", "on_time": "c AND NOT late", "late": "late",
    "answered": "ans", "resolved": "ht", "rejected": "ans AND NOT ht",
    "answered_late": "ans_late", "transfers": None, "auto_routed": "c AND auto_routed",
    "fr_n": "fr",
}
SUMS = {"fr_wh_sum": ("first_response_wh", "fr"), "fr_ch_sum": ("first_response_ch", "fr")}
HT = {"ht_n": "ht"}
HT_SUMS = {"ht_wh_sum": ("handling_wh", "ht"), "ht_ch_sum": ("handling_ch", "ht")}
RATINGS = {"rated": "rated", **{f"r{k}": f"rated AND rating = {k}" for k in range(1, 6)},
           "reopened": "reop", "dissatisfied": "ans AND (rated AND rating <= 2 OR ans_late OR reop)"}
SCALARS = [*COUNTS, *SUMS, *HT, *HT_SUMS, *RATINGS]
COLUMNS = [*SCALARS, *HISTS]  # the measure columns of indicator_rollups, in order


def _bounds(bounds) -> str:
    return "'{" + ",".join(repr(float(b)) for b in bounds) + "}'::float8[]"


def _levels(t: str | None, sfx: str = "") -> tuple[list[str], list[str], list[str]]:
    """The flag expressions of the three nesting levels (x, y, z) as of T, named with `sfx`."""
    if t is None:
        c = "f.left_at IS NULL"
        tr = "(f.left_at IS NOT NULL)::int + cardinality(f.away_from)"
        t = "'infinity'::timestamptz"
    else:
        c = (f"(f.left_at IS NULL OR f.left_at >= {t}) AND NOT (cardinality(f.away_from) > 0 AND "
             f"EXISTS (SELECT 1 FROM unnest(f.away_from, f.away_to) w(a, b) "
             f"WHERE w.a < {t} AND w.b >= {t}))")
        tr = (f"coalesce((f.left_at < {t})::int, 0) + CASE WHEN cardinality(f.away_from) = 0 "
              f"THEN 0 ELSE (SELECT count(*) FROM unnest(f.away_from) a WHERE a < {t})::int END")
    x = [f"({c}) AS c{sfx}", f"({tr}) AS tr{sfx}"]
    y = [f"(x.c{sfx} AND x.answered_at < {t}) IS TRUE AS ans{sfx}",
         f"(x.c{sfx} AND x.answered_at < {t} AND x.answered_at > x.due_at) IS TRUE AS ans_late{sfx}",
         f"(x.c{sfx} AND x.due_at < {t} AND NOT coalesce(x.answered_at <= x.due_at, false)) IS TRUE AS late{sfx}",
         f"(x.first_response_at < {t}) IS TRUE AS fr{sfx}"]
    z = [f"(y.ans{sfx} AND y.answer_kind = 'resolved') IS TRUE AS ht{sfx}",
         f"(y.c{sfx} AND y.rated_at < {t}) IS TRUE AS rated{sfx}",
         f"(y.c{sfx} AND y.reopened_at < {t}) IS TRUE AS reop{sfx}"]
    return x, y, z


def flagged(where: str, t: str | None, source: str = "indicator_facts", both: bool = False) -> str:
    """Facts matching `where` (alias f) with their boolean flags as of T (None: final).

    both=True gives the flags as of T (suffix _t) and final (suffix _f) side by side.
    """
    levels = [_levels(t, "_t"), _levels(None, "_f")] if both else [_levels(t)]
    x = ", ".join(e for lv in levels for e in lv[0])
    y = ", ".join(e for lv in levels for e in lv[1])
    z = ", ".join(e for lv in levels for e in lv[2])
    buckets = ", ".join(f"width_bucket(x.{col}, {_bounds(b)}) AS b_{name}"
                        for name, (col, _, b) in HISTS.items())
    return f"""
      SELECT y.*, {z}
      FROM (SELECT x.*, {y}, {buckets}
            FROM (SELECT f.*, {x} FROM {source} f WHERE {where}) x) y"""


def _row_value(name: str, alias: str, sfx: str) -> str:
    """One fact's contribution to a scalar measure, as a number."""
    if name == "received":
        return "1"
    if name == "transfers":
        return f"{alias}.tr{sfx}"
    if name in SUMS or name in HT_SUMS:
        col, flag = {**SUMS, **HT_SUMS}[name]
        return f"CASE WHEN {alias}.{flag}{sfx} THEN {alias}.{col} ELSE 0 END"
    cond = re.sub(r"[A-Za-z_]+", lambda m: m.group(0) if m.group(0) in _KEYWORDS
                  else (f"{alias}.{m.group(0)}{sfx}" if m.group(0) not in ("rating", "auto_routed")
                        else f"{alias}.{m.group(0)}"), {**COUNTS, **HT, **RATINGS}[name])
    return f"({cond})::int"


def aggregates(alias: str = "z") -> str:
    """The measure columns (in COLUMNS order) aggregated over a flagged() subquery."""
    parts = [f"coalesce(sum({_row_value(name, alias, '')}), 0) AS {name}" for name in SCALARS]
    for name, (_, flag, bounds) in HISTS.items():
        cells = ", ".join(f"count(*) FILTER (WHERE {alias}.{flag} AND {alias}.b_{name} = {i})"
                          for i in range(len(bounds) + 1))
        parts.append(f"ARRAY[{cells}]::int[] AS {name}")
    return ",\n       ".join(parts)


def deltas(alias: str = "z") -> str:
    """Per straddling fact of the period: its value as of T minus what the rollups hold."""
    out = []
    for name in SCALARS:
        now, final = _row_value(name, alias, "_t"), _row_value(name, alias, "_f")
        out.append(f"({now}) - CASE WHEN {alias}.settle_day IS NULL THEN 0 ELSE ({final}) END")
    return "ARRAY[" + ", ".join(f"sum({d})" for d in out) + "]::float8[]"


def hist_deltas(alias: str = "z") -> dict[str, str]:
    """Per histogram: the count change of a straddling fact in its bucket."""
    out = {}
    for name, (_, flag, _) in HISTS.items():
        out[name] = (f"({alias}.{flag}_t)::int - CASE WHEN {alias}.settle_day IS NULL THEN 0 "
                     f"ELSE ({alias}.{flag}_f)::int END")
    return out


def summed(alias: str = "r", array_type: str = "bigint[]") -> str:
    """The measure columns summed over rollup rows (histograms element-wise)."""
    parts = [f"sum({alias}.{name}) AS {name}" for name in SCALARS]
    for name, (_, _, bounds) in HISTS.items():
        cells = ", ".join(f"sum({alias}.{name}[{i}])" for i in range(1, len(bounds) + 2))
        parts.append(f"ARRAY[{cells}]::{array_type} AS {name}")
    return ",\n       ".join(parts)


def fact_rollups(grain: str, where: str = "true") -> str:
    """Rollup rows ('d', 'm' or 'y') of the settled facts matching `where` (alias f).

    Months and years get one row per (unit, category, commune) plus, per unit, a row with
    category 0 and area 0 summing them (most dashboards split by unit only). Days get only
    that unit total: at national density a day × category × commune row holds about one
    fact, so the detail of days is read from the facts themselves (query.py does).
    """
    trunc = {"d": "z.received_day", "m": "date_trunc('month', z.received_day)::date",
             "y": "date_trunc('year', z.received_day)::date"}[grain]
    sets = (f"GROUP BY {trunc}, z.unit_id" if grain == "d" else
            f"GROUP BY GROUPING SETS (({trunc}, z.unit_id, z.category_id, z.area_id), ({trunc}, z.unit_id))")
    cat, area = ("0", "0") if grain == "d" else ("coalesce(z.category_id, 0)", "coalesce(z.area_id, 0)")
    return f"""
    SELECT '{grain}' AS grain, {trunc} AS bucket, z.unit_id, {cat} AS category_id, {area} AS area_id,
       {aggregates()}
    FROM ({flagged(f"f.settle_day IS NOT NULL AND ({where})", None)}) z
    {sets}"""


def insert_rollups(grain: str) -> str:
    """Every rollup row of one grain (a rebuild): days and months from the facts, years
    from the months (the same sums, one pass over the facts fewer)."""
    head = f"INSERT INTO indicator_rollups (grain, bucket, unit_id, category_id, area_id, {', '.join(COLUMNS)})"
    if grain != "y":
        return f"{head} {fact_rollups(grain)}"
    return f"""{head}
    SELECT 'y', date_trunc('year', r.bucket)::date, r.unit_id, r.category_id, r.area_id,
       {summed(array_type="int[]")}
    FROM indicator_rollups r WHERE r.grain = 'm' GROUP BY 2, 3, 4, 5"""


def _array_op(a: str, op: str, b: str) -> str:
    return f"ARRAY(SELECT coalesce(x, 0) {op} coalesce(y, 0) FROM unnest({a}, {b}) AS t(x, y))"


def stash_contributions(table: str, where: str) -> str:
    """Fill a scratch table with what the settled facts matching `where` add to each rollup row.

    The scratch tables are made once per connection and emptied at each commit, so a refresh
    takes no new catalog locks per batch (a long transaction of many batches stays light).
    """
    parts = " UNION ALL ".join(f"({fact_rollups(g, where)})" for g in "dmy")
    return f"""
    CREATE TEMPORARY TABLE IF NOT EXISTS {table} (LIKE indicator_rollups) ON COMMIT DELETE ROWS;
    DELETE FROM {table};
    INSERT INTO {table} (grain, bucket, unit_id, category_id, area_id, {", ".join(COLUMNS)}) {parts}"""


def apply_contributions(old: str, new: str) -> str:
    """Move each rollup row by new − old (rows created as needed; unchanged keys skipped)."""
    key = "grain, bucket, unit_id, category_id, area_id"
    diff = ", ".join([f"coalesce(n.{c}, 0) - coalesce(o.{c}, 0)" for c in SCALARS]
                     + [_array_op(f"n.{c}", "-", f"o.{c}") for c in HISTS])
    sets = ", ".join([f"{c} = indicator_rollups.{c} + EXCLUDED.{c}" for c in SCALARS]
                     + [f"{c} = {_array_op(f'indicator_rollups.{c}', '+', f'EXCLUDED.{c}')}" for c in HISTS])
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in COLUMNS)
    return f"""
    INSERT INTO indicator_rollups ({key}, {", ".join(COLUMNS)})
    SELECT {key}, {diff}
    FROM {new} n FULL JOIN {old} o USING ({key})
    WHERE {changed}
    ON CONFLICT ({key}) DO UPDATE SET {sets}"""
