"""Indicator API time next to the best raw SQL aggregate over the base tables, same run.

    python bench/indicators.py --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench_h5 \
        [--month 2026-10-01] [--year 2025] [--unit UBND-66] [--repeat 5]

Load the data first with bench/generate_history.py. Two queries: a province-wide month
(the province committee and its subtree, one row per direct child) and a national year
(one row per province). Each is timed through the real app (Flask test client, bearer
token, JSON body) without the indicator cache, then again with it (a repeat request for a
period that is over), and as two raw aggregates over the base tables: `reports` alone (the
cheapest: mutable counters, calendar hours only, the best a raw query can do) and
`events` (first assignment per report and unit, answers, transfers: closer to the rules).
Prints the median of --repeat runs after one warm-up, and the ratio raw ÷ API.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
from sqlalchemy import delete, select, text  # noqa: E402

from bench.generate import dsn  # noqa: E402
from fieldreport import security  # noqa: E402
from fieldreport.extensions import db  # noqa: E402
from fieldreport.models import AuthToken, User  # noqa: E402
from fieldreport.models.base import utcnow  # noqa: E402
from fieldreport.worktime import TZ  # noqa: E402

RAW_REPORTS = """
SELECT r.unit_id, count(*) AS reports,
       count(*) FILTER (WHERE r.resolved_at <= r.indicator_due_at
                         OR (r.resolved_at IS NULL AND r.indicator_due_at >= :t)) AS on_time,
       count(*) FILTER (WHERE r.status IN ('submitted','assigned','in_progress','awaiting_info','reopened')) AS backlog,
       avg(extract(epoch FROM r.resolved_at - r.assigned_at) / 3600) AS ht_mean,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.resolved_at - r.assigned_at)) AS ht_median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM r.resolved_at - r.assigned_at)) AS ht_p90,
       count(*) FILTER (WHERE r.rating <= 2) AS dissatisfied, avg(r.rating) AS rating,
       sum(r.transfer_count) AS transfers, count(*) FILTER (WHERE NOT r.manually_triaged) AS auto
FROM reports r
WHERE r.created_at >= :f AND r.created_at < :t {units}
GROUP BY r.unit_id"""

RAW_EVENTS = """
WITH recv AS (
  SELECT e.report_id, e.to_unit_id AS unit_id, min(e.at) AS received_at
  FROM events e
  WHERE e.to_unit_id IS DISTINCT FROM e.from_unit_id AND e.to_unit_id IS NOT NULL
    AND e.at >= :f AND e.at < :t {units}
  GROUP BY 1, 2),
ans AS (
  SELECT e.report_id, e.to_unit_id AS unit_id, min(e.at) AS answered_at,
         min(e.at) FILTER (WHERE e.to_status = 'resolved') AS resolved_at
  FROM events e JOIN recv USING (report_id)
  WHERE e.to_unit_id = recv.unit_id AND e.to_status IN ('resolved','rejected','duplicate','closed')
    AND e.to_status IS DISTINCT FROM e.from_status AND e.at < :t
  GROUP BY 1, 2),
hand AS (
  SELECT e.report_id, e.from_unit_id AS unit_id, count(*) AS n
  FROM events e JOIN recv r ON r.report_id = e.report_id AND r.unit_id = e.from_unit_id
  WHERE e.to_unit_id <> e.from_unit_id AND e.at < :t GROUP BY 1, 2)
SELECT recv.unit_id, count(*) AS received,
       count(*) FILTER (WHERE hand.n IS NULL) AS reports,
       count(*) FILTER (WHERE hand.n IS NULL AND (ans.answered_at <= r.indicator_due_at
                         OR (ans.answered_at IS NULL AND r.indicator_due_at >= :t))) AS on_time,
       coalesce(sum(hand.n), 0) AS transfers,
       avg(extract(epoch FROM ans.resolved_at - recv.received_at) / 3600) AS ht_mean,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ans.resolved_at - recv.received_at)) AS ht_median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM ans.resolved_at - recv.received_at)) AS ht_p90
FROM recv JOIN reports r ON r.id = recv.report_id
LEFT JOIN ans ON ans.report_id = recv.report_id AND ans.unit_id = recv.unit_id
LEFT JOIN hand ON hand.report_id = recv.report_id AND hand.unit_id = recv.unit_id
GROUP BY recv.unit_id"""


def _timed(fn, repeat: int) -> tuple[float, float, float, object]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), max(times), result


def _midnight(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), tzinfo=TZ)


def _subtree(code: str) -> list[int]:
    return list(
        db.session.execute(
            text(
                "WITH RECURSIVE t AS (SELECT id FROM units WHERE code = :c UNION "
                "SELECT u.id FROM units u JOIN t ON u.parent_id = t.id) SELECT id FROM t"
            ),
            {"c": code},
        ).scalars()
    )


def _provinces(database_url: str) -> int:
    conn = psycopg2.connect(dsn(database_url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(DISTINCT province_code) FROM areas WHERE level = 'commune'")
            return cur.fetchone()[0]
    finally:
        conn.close()


def run(database_url: str, month: date, year: int, unit: str, repeat: int) -> list[dict]:
    from config.settings import TestConfig
    from fieldreport import create_app

    cfg = TestConfig()
    cfg.DATABASE_URL, cfg.S3_SECRET_KEY = database_url, cfg.S3_SECRET_KEY or "unused"
    # A database of several provinces (bench/generate_history.py) is read as the deployment
    # serving them reads it (PROVINCES=all), by its national administrator (no unit: every
    # province); Đắk Lắk's admin there sees Đắk Lắk only. One province: the demo's admin.
    several = _provinces(database_url) > 1
    cfg.PROVINCES = "all" if several else cfg.PROVINCES
    app = create_app(cfg)
    out = []
    with app.app_context():
        db.session.execute(text("SET work_mem = '64MB'"))  # the raw queries sort; give them room
        reader = "national.admin" if several else "admin"
        admin = db.session.scalar(select(User).where(User.username == reader))
        assert admin is not None, f"no {reader} account (bench/generate_history.py --prepare makes it)"
        print(f"reading as {reader}{' with PROVINCES=all' if several else ''}", flush=True)
        token = security.new_token()
        db.session.add(
            AuthToken(token_hash=security.token_hash(token), user_id=admin.id, expires_at=utcnow() + timedelta(hours=1))
        )
        db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        cases = [
            (
                f"province month ({unit}, {month:%Y-%m})",
                f"/api/v1/indicators?period=month&from={month}&unit={unit}&group_by=unit&depth=1",
                month,
                next_month,
                _subtree(unit),
            ),
            (
                f"national year ({year})",
                f"/api/v1/indicators?period=year&from={year}-01-01&group_by=unit&depth=0",
                date(year, 1, 1),
                date(year + 1, 1, 1),
                None,
            ),
        ]
        try:
            for label, url, f, t, units in cases:

                def api():
                    r = client.get(url, headers=headers)
                    assert r.status_code == 200, r.data[:500]
                    return r.json

                params = {"f": _midnight(f), "t": _midnight(t)}
                where_r = "AND r.unit_id = ANY(:units)" if units else ""
                where_e = "AND e.to_unit_id = ANY(:units)" if units else ""
                if units:
                    params["units"] = units

                def raw(sql, where):
                    return lambda: db.session.execute(text(sql.format(units=where)), params).all()

                app.config["INDICATOR_CACHE_SECONDS"] = 0
                a = _timed(api, repeat)
                app.config["INDICATOR_CACHE_SECONDS"] = 60  # the warm-up run fills the cache
                cached = _timed(api, repeat)
                app.config["INDICATOR_CACHE_SECONDS"] = 0
                assert cached[3] == a[3], "the cached table differs from the computed one"
                r1 = _timed(raw(RAW_REPORTS, where_r), repeat)
                r2 = _timed(raw(RAW_EVENTS, where_e), max(1, repeat // 2))
                body = a[3]
                out.append(
                    {
                        "case": label,
                        "api_ms": a[:3],
                        "cached_ms": cached[:3],
                        "raw_reports_ms": r1[:3],
                        "raw_events_ms": r2[:3],
                        "rows": len(body["rows"]),
                        "reports": body["total"]["reports"],
                        "received": body["total"]["received"],
                        "on_time_rate": body["total"]["on_time_rate"],
                        "raw_reports_count": sum(row[1] for row in r1[3]),
                    }
                )
                db.session.rollback()
        finally:
            db.session.execute(delete(AuthToken).where(AuthToken.token_hash == security.token_hash(token)))
            db.session.commit()
    return out


def time_refresh(database_url: str, n: int) -> tuple[float, int]:
    """Queue n existing reports again (as late events do); (ms for one refresh batch, reports)."""
    from config.settings import TestConfig
    from fieldreport import create_app
    from fieldreport.services.indicators import rollups

    cfg = TestConfig()
    cfg.DATABASE_URL, cfg.S3_SECRET_KEY = database_url, cfg.S3_SECRET_KEY or "unused"
    with create_app(cfg).app_context():
        rollups.refresh_batch(1)  # warm-up: imports, calendar
        db.session.execute(
            text(
                "INSERT INTO indicator_dirty (report_id) SELECT id FROM reports "
                "TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT :n"
            ),
            {"n": n},
        )
        db.session.commit()
        t0 = time.perf_counter()
        done = rollups.refresh_batch(n)
        return (time.perf_counter() - t0) * 1000, done


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", required=True)
    p.add_argument("--month", type=date.fromisoformat, default=date(2026, 10, 1))
    p.add_argument("--year", type=int, default=2025)
    p.add_argument("--unit", default="UBND-66")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--refresh", type=int, default=500, help="also time a refresh of this many reports (0: no)")
    a = p.parse_args()
    for row in run(a.database_url, a.month, a.year, a.unit, a.repeat):
        api, raw1, raw2 = row["api_ms"][0], row["raw_reports_ms"][0], row["raw_events_ms"][0]
        print(
            f"{row['case']}: {row['reports']:,} reports of the period ({row['received']:,} received), "
            f"{row['rows']} rows, on-time {row['on_time_rate']}"
        )
        print(
            f"  API (HTTP through the app, rollups)  median {api:9.1f} ms  (min {row['api_ms'][1]:.1f}, max {row['api_ms'][2]:.1f})"
        )
        print(
            f"  API again, cached (period over)      median {row['cached_ms'][0]:9.1f} ms  "
            f"(Redis; valid until a refresh changes facts before the period's end)"
        )
        print(
            f"  raw SQL over reports (the floor)     median {raw1:9.1f} ms  → API is {raw1 / api:5.1f}× faster"
            f"  ({row['raw_reports_count']:,} reports by creation date and current unit)"
        )
        print(f"  raw SQL over events                  median {raw2:9.1f} ms  → API is {raw2 / api:5.1f}× faster")
    if a.refresh:
        ms, done = time_refresh(a.database_url, a.refresh)
        print(f"incremental refresh: {done} queued reports recomputed (facts + rollup deltas) in {ms:.0f} ms")


if __name__ == "__main__":
    main()
