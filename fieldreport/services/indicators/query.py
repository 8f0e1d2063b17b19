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
Several tables (a dashboard's periods and groupings) are read together by fetch_many: one
statement per part whatever their number, each fact or rollup row read once per grouping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import TextClause, text

from fieldreport.extensions import db
from fieldreport.services import deadlines
from fieldreport.services.indicators import cache
from fieldreport.services.indicators.measures import READ, aggregates, bucketed, stock, summed
from fieldreport.services.indicators.periods import add_months, first_day_after, tiles
from fieldreport.services.indicators.totals import BANDS, Totals, band_starts
from fieldreport.worktime import Calendar

PROBE_UNITS = 500  # up to this many units, find straddling facts unit by unit


def filters(alias: str, unit_ids, area_ids, category_ids) -> tuple[str, dict]:
    parts, params = ["true"], {}
    for col, ids in (("unit_id", unit_ids), ("area_id", area_ids), ("category_id", category_ids)):
        if ids is not None:
            parts.append(f"{alias}.{col} = ANY(CAST(:{col}s AS int[]))")
            params[f"{col}s"] = list(ids)
    return " AND ".join(parts), params


@dataclass
class Ask:
    """One table's numbers: the period [start, end) read as of T, per value of `key` (a fact
    column, or None for one group 0), or per group of `groups` = (unit ids, group ids): each
    unit's numbers go to every group it is paired with (a unit and its displayed ancestors,
    the tree rollup). `hists` False leaves the histograms empty, for a table that shows no
    median or p90 (every other measure is the same)."""

    start: date
    end: date
    t: datetime
    key: str | None = None
    groups: tuple[list[int], list[int]] | None = None
    hists: bool = True

    @property
    def kind(self) -> str:
        return "g" if self.groups is not None else (self.key or "n")


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
    """Totals per value of `key` (a fact column, or None for one group 0), or per group of
    `groups` (see Ask): fetch_many() of one ask."""
    return fetch_many([Ask(start, end, t, key, groups)], unit_ids, area_ids, category_ids)[0]


def fetch_many(
    asks: list[Ask], unit_ids=None, area_ids=None, category_ids=None, cal: Calendar | None = None
) -> list[dict]:
    """The totals of several asks over the same units, communes and categories, in three
    statements whatever their number: the flows from the rollups (every period and grouping
    at once: the periods' tiles joined to the rollup index, one grouping set per key), the
    flows of edge days from the facts, and the stock at each distinct T from the facts
    straddling it (one pass for every grouping read at that T). `cal` counts the working
    days of the overdue bands (default: the national calendar)."""
    out: list[dict] = [{} for _ in asks]
    if not asks:
        return out
    # Wide, short queries: JIT compiling their expressions costs more (~100 ms) than it saves.
    db.session.execute(_SET_JIT)
    db.session.execute(_SET_WORK_MEM)
    cal = cal or deadlines.calendar()
    tz = cal.tz.key
    filtered = area_ids is not None or category_ids is not None
    probe = unit_ids is not None and len(unit_ids) <= PROBE_UNITS
    shape = (unit_ids is not None, area_ids is not None, category_ids is not None, tz)
    base: dict = {}
    for col, ids in (("unit_id", unit_ids), ("area_id", area_ids), ("category_id", category_ids)):
        if ids is not None:
            base[f"{col}s"] = list(ids)

    def acc(i: int, k) -> Totals:
        k = 0 if k is None else k
        mine = out[i]
        if k not in mine:
            mine[k] = Totals()
        return mine[k]

    # The tiles of each ask: unit totals (category 0, days included) answer the asks that
    # split by unit or not at all; the others read detail rows, which exist for months and
    # years, and the flows of the days at the edges from the facts.
    # Detail rows of whole months before this one (a year's months so far) are summed once
    # and kept in the indicator cache: valid until a refresh changes facts before their end.
    flows = _Parts()
    closed = _Parts()
    direct = _Parts()
    month = datetime.now(cal.tz).date().replace(day=1)
    for i, a in enumerate(asks):
        t_day = first_day_after(a.t)
        stop = min(a.end, t_day)
        years, months, days = tiles(a.start, stop) if a.start < stop else ([], [], [])
        totals_only = not filtered and a.kind in ("g", "n")
        tiles_of = [("y", d) for d in years] + [("m", d) for d in months]
        if totals_only:
            tiles_of += [("d", d) for d in days]
        if a.kind in ("g", "n"):
            flows.add(i, a, tiles_of)
        else:
            flows.add(i, a, [t for t in tiles_of if _tile_end(t) > month])
            closed.add(i, a, [t for t in tiles_of if _tile_end(t) <= month])
        if not totals_only:
            direct.add(i, a, [("", d) for d in days])
    if flows:
        sql = _rollups(flows.shape(), filtered, shape)
        for row in db.session.execute(sql, {**base, **flows.params()}).mappings():
            for i, k in flows.targets(row):
                acc(i, k).add_row(row)
    if closed:
        for row in _closed_rows(closed, filtered, shape, base, cal):
            for i, k in closed.targets(row):
                acc(i, k).add_row(row)
    if direct:
        sql = _direct(direct.shape(), shape)
        days = [d for _, d in direct.all_tiles()]
        first = min(days)
        params = {
            **base,
            **direct.params(),
            "dd_first": first,
            "dd_last": max(days),
            "dd_from": datetime.combine(first, time(0), tzinfo=cal.tz),
        }
        for row in db.session.execute(sql, params).mappings():
            for i, k in direct.targets(row):
                acc(i, k).add_row(row)
    by_t: dict[datetime, _Parts] = {}
    for i, a in enumerate(asks):
        by_t.setdefault(a.t, _Parts()).add(i, a, [], keep_empty=True)
    for t, parts in by_t.items():
        sql = _stock(parts.shape(stock=True), probe, shape)
        params = {**base, **parts.params(), "t": t, "t_day": first_day_after(t)}
        params.update({f"band{i}": d for i, d in enumerate(band_starts(cal, t))})
        for row in db.session.execute(sql, params).mappings():
            for i, k in parts.targets(row):
                tot = acc(i, k)
                if row["part"] == 1:  # open reports at T: on time or late
                    tot.values["reports"] += row["n"]
                    tot.values[row["name"]] += row["n"]
                else:
                    tot.backlog[row["name"]] = tot.backlog.get(row["name"], 0) + row["n"]
    for i, a in enumerate(asks):  # read with another ask's histograms: left empty all the same
        if not a.hists:
            for totals in out[i].values():
                totals.hists = Totals().hists
    return out


def _tile_end(tile: tuple[str, date]) -> date:
    grain, bucket = tile
    if grain == "y":
        return date(bucket.year + 1, 1, 1)
    if grain == "m":
        return add_months(bucket, 1)
    return bucket + timedelta(days=1)


def _closed_rows(closed: _Parts, filtered: bool, shape: tuple, base: dict, cal) -> list:
    """The rollup rows of asks by a fact column over whole months that are over, per slot:
    from the cache (as of the end of their last tile), else read and kept."""
    out, missing = [], []
    for tiles_of, slot in closed.slots.items():
        parts = {
            "flows": [[g, b] for g, b in tiles_of],
            "columns": sorted(closed.columns),
            "hists": closed.hists["k"],
            "filters": [base.get("unit_ids"), base.get("area_ids"), base.get("category_ids")],
        }
        end = max(_tile_end(t) for t in tiles_of)
        entry = cache.lookup(parts, datetime.combine(end, time(0), tzinfo=cal.tz), cal)
        if entry.table is not None:
            out += [{**row, "i": slot} for row in entry.table["rows"]]
        else:
            missing.append((slot, entry))
    if missing:
        sql = _rollups(closed.shape(), filtered, shape)
        rows = [dict(r) for r in db.session.execute(sql, {**base, **closed.params()}).mappings()]
        for slot, entry in missing:
            mine = [r for r in rows if r["i"] == slot]
            entry.store({"rows": mine})
            out += mine
    return out


class _Parts:
    """The asks of one statement, as the arrays it reads them from.

    Asks by group ("g") are read one by one (their pairs differ); asks by nothing ("n") one
    by one too (a sum per ask); asks by a fact column share a *slot* when their tiles are
    the same (the dashboard's tables by commune, category and channel of one period), and a
    slot is grouped once per column (grouping sets)."""

    def __init__(self) -> None:
        self.g: list[tuple[int, list]] = []  # (ask, tiles)
        self.pairs: list[tuple[int, int, int]] = []  # (ask, unit, group)
        self.n: list[tuple[int, list]] = []
        self.slots: dict[tuple, int] = {}  # tiles → slot
        self.slot_asks: dict[tuple[int, str], list[int]] = {}  # (slot, column) → asks
        self.columns: set[str] = set()
        self.hists = {"g": False, "n": False, "k": False}

    def __bool__(self) -> bool:
        return bool(self.g or self.n or self.slots)

    def add(self, i: int, a: Ask, tiles_of: list, keep_empty: bool = False) -> None:
        if not tiles_of and not keep_empty:
            return
        kind = a.kind
        if kind == "g":
            assert a.groups is not None
            self.g.append((i, tiles_of))
            self.pairs += [(i, u, g) for u, g in zip(*a.groups, strict=True)]
            self.hists["g"] |= a.hists
        elif kind == "n":
            self.n.append((i, tiles_of))
            self.hists["n"] |= a.hists
        else:
            slot = self.slots.setdefault(tuple(tiles_of), len(self.slots))
            self.slot_asks.setdefault((slot, kind), []).append(i)
            self.columns.add(kind)
            self.hists["k"] |= a.hists

    def shape(self, stock: bool = False) -> tuple:
        return (
            bool(self.g),
            bool(self.n),
            tuple(sorted(self.columns)) if self.slots else (),
            () if stock else tuple(self.hists[k] for k in "gnk"),
        )

    def all_tiles(self) -> list:
        return [t for _, ts in self.g + self.n for t in ts] + [t for ts in self.slots for t in ts]

    def params(self) -> dict:
        def arrays(prefix: str, items) -> dict:
            rows = [(i, grain, bucket) for i, ts in items for grain, bucket in ts]
            return {
                f"{prefix}_i": [r[0] for r in rows],
                f"{prefix}_grain": [r[1] for r in rows],
                f"{prefix}_bucket": [r[2] for r in rows],
            }

        return {
            **arrays("g", self.g),
            **arrays("n", self.n),
            **arrays("k", [(s, list(ts)) for ts, s in self.slots.items()]),
            "m_i": [p[0] for p in self.pairs],
            "m_unit": [p[1] for p in self.pairs],
            "m_grp": [p[2] for p in self.pairs],
        }

    def targets(self, row) -> list[tuple[int, object]]:
        """The (ask, key) pairs a result row adds to."""
        kind, i, k = row["kind"], row["i"], row["k"]
        if kind == "g":
            return [(i, int(k))]
        if kind == "n":
            return [(i, 0)] if i >= 0 else [(j, 0) for j, _ in self.n]
        key = None if k is None else (k if kind == "channel" else int(k))
        if i >= 0:
            return [(j, key) for j in self.slot_asks.get((i, kind), ())]
        return [(j, key) for (_, column), asks in self.slot_asks.items() if column == kind for j in asks]


_SET_JIT = text("SET LOCAL jit = off")
_SET_WORK_MEM = text("SET LOCAL work_mem = '32MB'")


def _where(alias: str, fshape: tuple, units: bool = True) -> str:
    by_unit, by_area, by_category, _ = fshape
    return filters(alias, *(() if on else None for on in (units and by_unit, by_area, by_category)))[0]


def _union(parts: list[str]) -> TextClause:
    return text("\nUNION ALL\n".join(parts))


def _keyed(alias: str, columns: tuple[str, ...]) -> tuple[str, str, str]:
    """(kind, key as text, grouping sets) of a slot grouped once per column."""
    kind = "CASE " + " ".join(f"WHEN GROUPING({alias}.{c}) = 0 THEN '{c}'" for c in columns) + " END"
    key = "CASE " + " ".join(f"WHEN GROUPING({alias}.{c}) = 0 THEN {alias}.{c}::text" for c in columns) + " END"
    return kind, key, ", ".join(f"(q.i, {alias}.{c})" for c in columns)


_PAIRS = "unnest(CAST(:m_i AS int[]), CAST(:m_unit AS int[]), CAST(:m_grp AS int[])) AS m(i, unit_id, grp)"


@lru_cache(maxsize=64)
def _rollups(shape: tuple, filtered: bool, fshape: tuple) -> TextClause:
    """The flows of every ask's tiles (whole years, months, days) from the rollup rows."""
    has_g, has_n, columns, (hg, hn, hk) = shape
    where = _where("r", fshape)
    tot = "<>" if filtered else "="  # unit totals (category 0) unless filtered by commune or category

    def source(prefix: str) -> str:
        return (
            f"unnest(CAST(:{prefix}_i AS int[]), CAST(:{prefix}_grain AS text[]), CAST(:{prefix}_bucket AS date[]))"
            f" AS q(i, grain, bucket) JOIN indicator_rollups r ON r.grain = q.grain AND r.bucket = q.bucket"
        )

    parts = []
    if has_g:
        parts.append(f"""
        SELECT 'g' AS kind, m.i, m.grp::text AS k, {summed(hists=hg)}
        FROM {source("g")} JOIN {_PAIRS} ON m.i = q.i AND m.unit_id = r.unit_id
        WHERE r.category_id {tot} 0 AND {where}
        GROUP BY m.i, m.grp""")
    if has_n:
        parts.append(f"""
        SELECT 'n' AS kind, q.i, '0' AS k, {summed(hists=hn)}
        FROM {source("n")} WHERE r.category_id {tot} 0 AND {where} GROUP BY q.i""")
    if columns:
        kind, key, sets = _keyed("r", columns)
        parts.append(f"""
        SELECT {kind} AS kind, q.i, {key} AS k, {summed(hists=hk)}
        FROM {source("k")} WHERE r.category_id <> 0 AND {where} GROUP BY GROUPING SETS ({sets})""")
    return _union(parts)


@lru_cache(maxsize=64)
def _direct(shape: tuple, fshape: tuple) -> TextClause:
    """The flows of the edge days from the facts with an event on one of them (received by
    the last and still changing on or after the first)."""
    has_g, has_n, columns, (hg, hn, hk) = shape
    # The facts with an event on an edge day: received by the last and still changing on or
    # after the first — the open ones from their covering index, the settled ones apart.
    received = "f.received_day <= CAST(:dd_last AS date)"
    where = _where("f", fshape)
    settled = "f.settle_day IS NOT NULL AND coalesce(f.settle_day, 'infinity'::date) >= CAST(:dd_first AS date)"
    if fshape[0]:  # by unit: the unit index bounds the settle day (a settle day is a real day)
        settled += " AND coalesce(f.settle_day, 'infinity'::date) < 'infinity'::date"
    # An open fact with no moment from the first edge day on has no event then (most of them).
    # Its pauses are read only when it has some: a subquery per open fact was half the statement.
    recent = (
        "(f.received_day >= CAST(:dd_first AS date) OR greatest(f.first_response_at, f.answered_at, "
        "f.handed_late_at, f.rated_at, f.reopened_at, f.left_at, CASE WHEN cardinality(f.away_from) > 0 "
        "THEN (SELECT max(m) FROM unnest(f.away_from) m) END) >= CAST(:dd_from AS timestamptz))"
    )
    facts = (
        f"(SELECT {READ} FROM indicator_facts f WHERE f.settle_day IS NULL AND {received} AND {recent} AND {where}"
        f" UNION ALL SELECT {READ} FROM indicator_facts f WHERE {settled} AND {received} AND {where})"
    )
    events = f"({bucketed('true', fshape[3], facts)}) f"

    def source(prefix: str) -> str:
        return (
            f"{events} JOIN unnest(CAST(:{prefix}_i AS int[]), CAST(:{prefix}_bucket AS date[])) AS q(i, day)"
            f" ON q.day = f.day"
        )

    parts = []
    if has_g:
        parts.append(f"""
        SELECT 'g' AS kind, m.i, m.grp::text AS k, {aggregates(hists=hg)}
        FROM {source("g")} JOIN {_PAIRS} ON m.i = q.i AND m.unit_id = f.unit_id
        GROUP BY m.i, m.grp""")
    if has_n:
        parts.append(f"""
        SELECT 'n' AS kind, q.i, '0' AS k, {aggregates(hists=hn)} FROM {source("n")} GROUP BY q.i""")
    if columns:
        kind, key, sets = _keyed("f", columns)
        parts.append(f"""
        SELECT {kind} AS kind, q.i, {key} AS k, {aggregates(hists=hk)}
        FROM {source("k")} GROUP BY GROUPING SETS ({sets})""")
    return _union(parts)


@lru_cache(maxsize=64)
def _stock(shape: tuple, probe: bool, fshape: tuple) -> TextClause:
    """Open reports and backlog at T, from the facts straddling T, once for every grouping."""
    has_g, has_n, columns, _ = shape
    tz = fshape[3]
    # The facts still open (most of the stock at "now") from their covering index, the rest
    # (settled on or after T's day) from the span or unit index.
    others = _where("f", fshape, units=False)
    if probe:  # one index probe per unit
        units = "f.unit_id = ANY(CAST(:unit_ids AS int[]))"
        open_ = f"f.settle_day IS NULL AND {units} AND f.received_day < CAST(:t_day AS date) AND {others}"
        settled = (  # the unit index bounds the settle day (a settle day is a real day)
            f"{units} AND coalesce(f.settle_day, 'infinity'::date) >= CAST(:t_day AS date) "
            f"AND coalesce(f.settle_day, 'infinity'::date) < 'infinity'::date "
            f"AND f.settle_day IS NOT NULL AND f.received_day < CAST(:t_day AS date) AND {others}"
        )
    else:
        open_ = f"f.settle_day IS NULL AND f.received_day < CAST(:t_day AS date) AND {_where('f', fshape)}"
        settled = (
            f"daterange(f.received_day + 1, f.settle_day + 1) @> CAST(:t_day AS date) "
            f"AND f.settle_day IS NOT NULL AND {_where('f', fshape)}"
        )
    read = "f.unit_id, f.area_id, f.category_id, f.channel, f.due_at"
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
    on_time = "CASE WHEN z.due_at < :t THEN 'late' ELSE 'on_time' END"
    # Every grouping counted in one statement (grouping sets): per grouping, the
    # open reports by on time/late (part 1, o) and the backlog by band (part 2, b; '' for a
    # backlog report not overdue, NULL again in the result). One scan per grouping and part
    # was 10 scans of the stock at "now", most of a dashboard page's time (issue 20).
    keys = ([("u", "y.unit_id")] if has_g else []) + [(c, f"y.{c}") for c in columns]
    sets = [f"({col}, y.{part})" for _, col in keys for part in ("o", "b")]
    if has_n:
        sets += ["(y.o)", "(y.b)"]
    kind, key = "'n'", "'0'"
    if keys:
        kind = "CASE " + " ".join(f"WHEN GROUPING({col}) = 0 THEN '{k}'" for k, col in keys) + " ELSE 'n' END"
        key = "CASE " + " ".join(f"WHEN GROUPING({col}) = 0 THEN {col}::text" for _, col in keys) + " ELSE '0' END"
    # The facts are first counted per (unit, commune, category, channel, o, b), a few thousand
    # rows, which the grouping sets then sum: hashing every fact once per set took twice as long.
    counted = f"""
      SELECT {kind} AS kind, {key} AS k, CASE WHEN GROUPING(y.o) = 0 THEN 1 ELSE 2 END AS part,
             CASE WHEN GROUPING(y.o) = 0 THEN y.o ELSE nullif(y.b, '') END AS name, sum(y.n)::bigint AS n
      FROM (SELECT z.unit_id, z.area_id, z.category_id, z.channel,
                   CASE WHEN z.open_t THEN {on_time} END AS o,
                   CASE WHEN z.backlog_t THEN coalesce({band}, '') END AS b, count(*) AS n
            FROM z GROUP BY 1, 2, 3, 4, 5, 6) y
      GROUP BY GROUPING SETS ({", ".join(sets)})
      HAVING (GROUPING(y.o) = 0 AND y.o IS NOT NULL) OR (GROUPING(y.b) = 0 AND y.b IS NOT NULL)"""
    parts = []
    if has_g:  # summed per unit first; the few sums then go to groups
        parts.append(f"""
      SELECT 'g' AS kind, m.i, m.grp::text AS k, c.part, c.name, sum(c.n)::bigint AS n
      FROM c JOIN {_PAIRS} ON m.unit_id = c.k::int WHERE c.kind = 'u'
      GROUP BY m.i, m.grp, c.part, c.name""")
    parts.append("SELECT c.kind, -1 AS i, c.k, c.part, c.name, c.n FROM c WHERE c.kind <> 'u'")
    return text(
        f"WITH z AS MATERIALIZED (SELECT z0.* FROM ({stock(open_, ':t', read)} UNION ALL "
        f"{stock(settled, ':t', read)}) z0 WHERE z0.open_t OR z0.backlog_t),\n"
        f"c AS MATERIALIZED ({counted})\n" + "\nUNION ALL\n".join(f"({p})" for p in parts)
    )
