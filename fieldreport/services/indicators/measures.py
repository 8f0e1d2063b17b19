"""The SQL of the indicator measures: flows dated by their event, stock read as of T.

Every measure is one of two kinds (docs/indicators.md has the rules):
  flows  counted on the local day of the event that makes them — a receipt, a first
         response, a hand-on, an outcome (the answer, or a hand-on after the due without
         one), an answer, a rating, a reopening. A flow never depends on when the table is
         read, so every event lands in exactly one period, and the rollups hold the flows
         of every fact summed per day, month and year of their event.
  stock  what a unit holds at T: the open reports (on time while not yet due, late after)
         and the backlog by overdue band, read from the facts that straddle T ("before T"
         strictly: an event at T belongs to the next period).
An answer's dissatisfaction (late, rated 1–2, reopened) is a property of the answer, counted
with it; a rating or reopening that comes later updates the answer's period.
"""

from __future__ import annotations

from fieldreport.models.rollup import OPEN_INCLUDE

# The fact columns the measures read (the open facts' index covers them).
READ = ", ".join(f"f.{c}" for c in ("unit_id", "received_day", *OPEN_INCLUDE))

WH_BOUNDS = (
    0.25,
    0.5,
    0.75,
    1,
    1.5,
    2,
    2.5,
    3,
    3.5,
    4,
    5,
    6,
    7.5,
    9,
    11.25,
    13.5,
    15,
    18,
    22.5,
    26.25,
    30,
    33.75,
    37.5,
    45,
    52.5,
    60,
    67.5,
    75,
    90,
    112.5,
    135,
    150,
    187.5,
    225,
    300,
    375,
    450,
    600,
    750,
)
CH_BOUNDS = (
    0.25,
    0.5,
    1,
    2,
    3,
    4,
    6,
    8,
    12,
    16,
    20,
    24,
    30,
    36,
    48,
    60,
    72,
    96,
    120,
    144,
    168,
    192,
    240,
    288,
    336,
    408,
    504,
    600,
    720,
    900,
    1080,
    1440,
    2160,
    2880,
    4320,
    8760,
)
# histogram column → (fact value column, event kind it is counted on, bounds)
HISTS = {
    "fr_wh_hist": ("first_response_wh", "f.k = 'fr'", WH_BOUNDS),
    "fr_ch_hist": ("first_response_ch", "f.k = 'fr'", CH_BOUNDS),
    "ht_wh_hist": ("handling_wh", "f.k = 'ans' AND f.answer_kind = 'resolved'", WH_BOUNDS),
    "ht_ch_hist": ("handling_ch", "f.k = 'ans' AND f.answer_kind = 'resolved'", CH_BOUNDS),
}
_LATE_ANSWER = "coalesce(f.answered_at > f.due_at, false)"
# The fact's outcome (its answer, or a hand-on after the due without one) is late.
LATE_OUTCOME = f"(f.handed_late_at IS NOT NULL OR {_LATE_ANSWER})"
# scalar column → (condition on an event row e of fact f, value summed; None: counts rows)
FLOWS = {
    "received": ("f.k = 'recv'", None),
    "reports": ("f.k = 'out'", None),
    "on_time": (f"f.k = 'out' AND NOT {LATE_OUTCOME}", None),
    "late": (f"f.k = 'out' AND {LATE_OUTCOME}", None),
    "answered": ("f.k = 'ans'", None),
    "resolved": ("f.k = 'ans' AND f.answer_kind = 'resolved'", None),
    "rejected": ("f.k = 'ans' AND f.answer_kind <> 'resolved'", None),
    "answered_late": (f"f.k = 'ans' AND {_LATE_ANSWER}", None),
    "transfers": ("f.k = 'hand'", None),
    "auto_routed": ("f.k = 'recv' AND f.auto_routed", None),
    "fr_n": ("f.k = 'fr'", None),
    "fr_wh_sum": ("f.k = 'fr'", "f.first_response_wh"),
    "fr_ch_sum": ("f.k = 'fr'", "f.first_response_ch"),
    "ht_n": ("f.k = 'ans' AND f.answer_kind = 'resolved'", None),
    "ht_wh_sum": ("f.k = 'ans' AND f.answer_kind = 'resolved'", "f.handling_wh"),
    "ht_ch_sum": ("f.k = 'ans' AND f.answer_kind = 'resolved'", "f.handling_ch"),
    "rated": ("f.k = 'rate'", None),
    **{f"r{k}": (f"f.k = 'rate' AND f.rating = {k}", None) for k in range(1, 6)},
    "reopened": ("f.k = 'reop'", None),
    "dissatisfied": (
        f"f.k = 'ans' AND ({_LATE_ANSWER} OR coalesce(f.rating <= 2, false) OR f.reopened_at IS NOT NULL)",
        None,
    ),
}
SCALARS = list(FLOWS)
FLOAT_SCALARS = frozenset(name for name, (_, value) in FLOWS.items() if value is not None)
COLUMNS = [*SCALARS, *HISTS]  # the measure columns of indicator_rollups, in order
ROLLUP_KEY = "grain, bucket, unit_id, category_id, area_id, channel"  # indicator_rollups' key


def _bounds(bounds) -> str:
    return "'{" + ",".join(repr(float(b)) for b in bounds) + "}'::float8[]"


def local_day(expr: str, tz: str) -> str:
    """The local calendar day of a timestamptz expression in the deployment's time zone."""
    return f"(({expr}) AT TIME ZONE '{tz}')::date"


def events_of(where: str, tz: str, source: str = "indicator_facts") -> str:
    """One row per flow event of the facts matching `where` (alias f): f.*, e.k, e.day."""
    return f"""
      SELECT f.*, e.k, CASE WHEN e.k = 'recv' THEN f.received_day ELSE {local_day("e.at", tz)} END AS day
      FROM {source} f CROSS JOIN LATERAL (
        VALUES ('recv', f.received_at), ('fr', f.first_response_at),
               ('out', least(f.answered_at, f.handed_late_at)), ('ans', f.answered_at),
               ('rate', f.rated_at), ('reop', f.reopened_at)
        UNION ALL SELECT 'hand', m FROM unnest(f.away_from || f.left_at) AS m) AS e(k, at)
      WHERE ({where}) AND e.at IS NOT NULL"""


def aggregates(hists: bool = True) -> str:
    """The measure columns (in COLUMNS order) aggregated over event rows (aliases f and e);
    without `hists`, the histogram columns are NULL (their buckets are not counted)."""
    parts = []
    for name, (cond, value) in FLOWS.items():
        if value is None:
            parts.append(f"count(*) FILTER (WHERE {cond}) AS {name}")
        else:
            parts.append(f"coalesce(sum({value}) FILTER (WHERE {cond}), 0) AS {name}")
    for name, (_col, cond, bounds) in HISTS.items():
        if not hists:
            parts.append(f"NULL::int[] AS {name}")
            continue
        cells = ", ".join(f"count(*) FILTER (WHERE {cond} AND f.b_{name} = {i})" for i in range(len(bounds) + 1))
        parts.append(f"ARRAY[{cells}]::int[] AS {name}")
    return ",\n       ".join(parts)


def bucketed(where: str, tz: str, source: str = "indicator_facts") -> str:
    """events_of() with each histogram's bucket index (column b_<hist>) per row."""
    buckets = ", ".join(f"width_bucket(x.{col}, {_bounds(b)}) AS b_{name}" for name, (col, _, b) in HISTS.items())
    return f"SELECT x.*, {buckets} FROM ({events_of(where, tz, source)}) x"


def summed(alias: str = "r", array_type: str = "bigint[]", hists: bool = True) -> str:
    """The measure columns summed over rollup rows (histograms element-wise; NULL without
    `hists`: summing their cells is most of the work)."""
    parts = [f"sum({alias}.{name}) AS {name}" for name in SCALARS]
    for name, (_, _, bounds) in HISTS.items():
        if not hists:
            parts.append(f"NULL::{array_type} AS {name}")
            continue
        cells = ", ".join(f"sum({alias}.{name}[{i}])" for i in range(1, len(bounds) + 2))
        parts.append(f"ARRAY[{cells}]::{array_type} AS {name}")
    return ",\n       ".join(parts)


def fact_rollups(grain: str, tz: str, where: str = "true") -> str:
    """Rollup rows ('d', 'm' or 'y') of the flows of the facts matching `where` (alias f).

    Months and years get one row per (unit, category, commune, channel) plus, per unit, a row
    with category 0, area 0 and channel '' summing them (most dashboards split by unit only).
    Days get only that unit total: at national density a day × category × commune row holds
    about one fact, so the detail of days is read from the facts themselves (query.py does).
    """
    trunc = {"d": "f.day", "m": "date_trunc('month', f.day)::date", "y": "date_trunc('year', f.day)::date"}[grain]
    sets = (
        f"GROUP BY {trunc}, f.unit_id"
        if grain == "d"
        else f"GROUP BY GROUPING SETS (({trunc}, f.unit_id, f.category_id, f.area_id, f.channel), ({trunc}, f.unit_id))"
    )
    cat, area, channel = (
        ("0", "0", "''")
        if grain == "d"
        else ("coalesce(f.category_id, 0)", "coalesce(f.area_id, 0)", "coalesce(f.channel, '')")
    )
    return f"""
    SELECT '{grain}' AS grain, {trunc} AS bucket, f.unit_id, {cat} AS category_id, {area} AS area_id,
       {channel} AS channel, {aggregates()}
    FROM ({bucketed(where, tz)}) f
    {sets}"""


def insert_rollups(grain: str, tz: str) -> str:
    """Every rollup row of one grain (a rebuild): days and months from the facts, years
    from the months (the same sums, one pass over the facts fewer)."""
    head = f"INSERT INTO indicator_rollups ({ROLLUP_KEY}, {', '.join(COLUMNS)})"
    if grain != "y":
        return f"{head} {fact_rollups(grain, tz)}"
    return f"""{head}
    SELECT 'y', date_trunc('year', r.bucket)::date, r.unit_id, r.category_id, r.area_id, r.channel,
       {summed(array_type="int[]")}
    FROM indicator_rollups r WHERE r.grain = 'm' GROUP BY 2, 3, 4, 5, 6"""


def _array_op(a: str, op: str, b: str) -> str:
    return f"ARRAY(SELECT coalesce(x, 0) {op} coalesce(y, 0) FROM unnest({a}, {b}) AS t(x, y))"


def stash_contributions(table: str, where: str, tz: str) -> str:
    """Fill a scratch table with what the facts matching `where` add to each rollup row.

    The scratch tables are made once per connection and emptied at each commit, so a refresh
    takes no new catalog locks per batch (a long transaction of many batches stays light).
    """
    parts = " UNION ALL ".join(f"({fact_rollups(g, tz, where)})" for g in "dmy")
    return f"""
    CREATE TEMPORARY TABLE IF NOT EXISTS {table} (LIKE indicator_rollups) ON COMMIT DELETE ROWS;
    DELETE FROM {table};
    INSERT INTO {table} ({ROLLUP_KEY}, {", ".join(COLUMNS)}) {parts}"""


def apply_contributions(old: str, new: str) -> str:
    """Move each rollup row by new − old (rows created as needed; unchanged keys skipped)."""
    key = ROLLUP_KEY
    diff = ", ".join(
        [f"coalesce(n.{c}, 0) - coalesce(o.{c}, 0)" for c in SCALARS]
        + [_array_op(f"n.{c}", "-", f"o.{c}") for c in HISTS]
    )
    sets = ", ".join(
        [f"{c} = indicator_rollups.{c} + EXCLUDED.{c}" for c in SCALARS]
        + [f"{c} = {_array_op(f'indicator_rollups.{c}', '+', f'EXCLUDED.{c}')}" for c in HISTS]
    )
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in COLUMNS)
    return f"""
    INSERT INTO indicator_rollups ({key}, {", ".join(COLUMNS)})
    SELECT {key}, {diff}
    FROM {new} n FULL JOIN {old} o USING ({key})
    WHERE {changed}
    ON CONFLICT ({key}) DO UPDATE SET {sets}"""


def held_at(t: str) -> str:
    """The unit holds the report at T (received before T, not handed on by T), alias f."""
    return (
        f"f.received_at < {t} AND (f.left_at IS NULL OR f.left_at >= {t}) "
        f"AND NOT (cardinality(f.away_from) > 0 AND EXISTS (SELECT 1 FROM "
        f"unnest(f.away_from, f.away_to) w(a, b) WHERE w.a < {t} AND w.b >= {t}))"
    )


def stock(where: str, t: str, columns: str = "f.*") -> str:
    """Facts matching `where` (alias f) with their stock flags as of T.

    open_t: held, and no outcome (answer or late hand-on) before T — a report of the period
    that is on time while not yet due; backlog_t: held and not answered before T.
    """
    return f"""
      SELECT {columns}, (({held_at(t)}) AND NOT coalesce(least(f.answered_at, f.handed_late_at) < {t}, false))
                  AS open_t,
             (({held_at(t)}) AND NOT coalesce(f.answered_at < {t}, false)) AS backlog_t
      FROM indicator_facts f WHERE {where}"""
