"""Public read latency over HTTP at scale, each next to the raw indexed SQL of the same page.

    python bench/queries.py [--database-url postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench_intake]
        [--redis-url redis://127.0.0.1:6379/3] [--reports 1000000] [--requests 200]
    python bench/queries.py --render-only      # Open311 page rendering CPU only, no database

Needs PostgreSQL/PostGIS and Redis listening; starts its own S3 server and gunicorn. Uses the
database as it is (the one bench/intake.py leaves behind by default) and generates reports
(bench/generate.py) up to --reports. One client, sequential requests; p50/p95 in milliseconds.
The raw SQL is the very SELECT the service builds (public.listing_select / nearby_select /
the code lookup), run through psycopg2 on the same database in the same run.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
import urllib3  # noqa: E402

from bench import _stack  # noqa: E402
from bench.generate import dsn, generate, prepare  # noqa: E402

CENTRE = (12.667, 108.038)


def scenarios(cur, rng: random.Random) -> list[tuple[str, list[tuple[str, dict]]]]:
    """(name, [(path, query params)…]): varied parameters so no single page is just cached."""
    cur.execute("SELECT code FROM reports TABLESAMPLE SYSTEM (1) LIMIT 2000")
    codes = [c for (c,) in cur.fetchall()]
    month = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    last_month = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1).isoformat()
    statuses = ["in_progress", "closed", "resolved", "rejected"]
    cats = ["rubbish", "road_damage", "street_light", "flooding", "noise"]

    def near(spread: float) -> tuple[float, float]:
        return CENTRE[0] + rng.uniform(-spread, spread), CENTRE[1] + rng.uniform(-spread, spread)

    def box(half: float) -> str:
        lat, lon = near(0.01)
        return f"{lon - half:.5f},{lat - half:.5f},{lon + half:.5f},{lat + half:.5f}"

    out = [
        ("list by status", [("/api/v1/reports", {"status": rng.choice(statuses)}) for _ in range(50)]),
        ("list open (map)", [("/api/v1/reports", {"status": "open"})]),
        ("list by category", [("/api/v1/reports", {"category": rng.choice(cats)}) for _ in range(50)]),
        ("list 30-day window", [("/api/v1/reports", {"from": month})]),
        ("bbox 1 km", [("/api/v1/reports", {"bbox": box(0.0045)}) for _ in range(50)]),
        ("bbox 20 km (10 km radius)", [("/api/v1/reports", {"bbox": box(0.09)}) for _ in range(50)]),
        (
            "nearby 250 m",
            [
                ("/api/v1/reports/nearby", dict(zip(("lat", "lon"), near(0.03)), category=rng.choice(cats)))
                for _ in range(50)
            ],
        ),
        ("report by code", [(f"/api/v1/reports/{c}", {}) for c in rng.sample(codes, min(200, len(codes)))]),
        # The public map of the whole province's open reports: clusters computed in PostGIS.
        ("public map: open, province", [("/public/clusters.json", {"status": "open", "zoom": 9})]),
        (
            "public map: open, 30 days, z12",
            [
                ("/public/clusters.json", {"status": "open", "period": "30d", "zoom": 12, "bbox": box(0.15)})
                for _ in range(20)
            ],
        ),
        # This month is computed as of now (never cached); a month that is over is cached.
        ("public scorecard (this month)", [("/public/scorecard", {"period": "month"})]),
        ("public scorecard (last month)", [("/public/scorecard", {"period": "month", "from": last_month})]),
        ("open311 page of 100", [("/open311/v2/requests.json", {"page_size": 100})]),
        ("open311 page of 1,000", [("/open311/v2/requests.json", {})]),
        (
            "open311 near me 10 km",
            [("/open311/v2/requests.json", dict(zip(("lat", "long"), near(0.03)), radius=10_000)) for _ in range(50)],
        ),
        (
            "open311 near me 1 km",
            [("/open311/v2/requests.json", dict(zip(("lat", "long"), near(0.03)), radius=1_000)) for _ in range(50)],
        ),
    ]
    return out


def http_times(url: str, calls: list[tuple[str, dict]], n: int) -> list[float]:
    http = urllib3.PoolManager(maxsize=1, retries=urllib3.Retry(total=2, backoff_factor=0))  # idle keep-alive resets
    times = []
    for i in range(n):
        path, params = calls[i % len(calls)]
        t = time.perf_counter()
        r = http.request("GET", url + path, fields=params, timeout=30)
        times.append(time.perf_counter() - t)
        if r.status != 200:
            raise SystemExit(f"{path} {params}: {r.status} {r.data[:200]!r}")
    return times


# The scorecard's floor: one month's reports per unit, on-time, satisfaction and median
# handling time straight from the reports table (calendar hours, no subtree roll-up, no
# attribution rules): the least any per-unit month table can cost without rollups.
RAW_SCORECARD = """
SELECT r.unit_id, count(*) AS reports, count(*) FILTER (WHERE r.resolved_at IS NOT NULL) AS resolved,
       count(*) FILTER (WHERE r.resolved_at <= r.indicator_due_at
                         OR (r.resolved_at IS NULL AND r.indicator_due_at >= '{t}')) AS on_time,
       count(*) FILTER (WHERE r.rating <= 2) AS dissatisfied,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.resolved_at - r.assigned_at) AS median
FROM reports r WHERE r.created_at >= '{f}' AND r.created_at < '{t}' GROUP BY r.unit_id"""


def raw_sql(app, path: str, params: dict) -> str:
    """The SQL text the service runs for this request (literal parameters); for the scorecard,
    the raw aggregate it stands on (RAW_SCORECARD)."""
    from sqlalchemy import select

    from fieldreport.extensions import db
    from fieldreport.models import Category, Report
    from fieldreport.services import public, public_map

    with app.test_request_context():
        cats = {c.id: c for c in db.session.scalars(select(Category))}
        if path.startswith("/open311/"):
            return _open311_sql(app, params)
        if path == "/public/scorecard":
            start = (
                datetime.fromisoformat(params["from"])
                if "from" in params
                else datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            )
            end = (
                min((start + timedelta(days=32)).replace(day=1), datetime.now(UTC).replace(tzinfo=None))
                if "from" in params
                else datetime.now(UTC)
            )
            return RAW_SCORECARD.format(f=start.date().isoformat(), t=end.isoformat())
        if path == "/public/clusters.json":
            f = public_map.parse_filters(params)
            bbox = tuple(float(v) for v in params["bbox"].split(",")) if "bbox" in params else None
            q = public_map.clusters_select(f, cats, params["zoom"], bbox)
        elif path.endswith("/nearby"):
            q = public.nearby_select(params["lat"], params["lon"], params["category"], app.config["NEARBY_METERS"])
        elif path.startswith("/api/v1/reports/"):
            q = select(Report).where(Report.code == path.rsplit("/", 1)[1])
        else:
            bbox = tuple(float(v) for v in params["bbox"].split(",")) if "bbox" in params else None
            zone = ZoneInfo(app.config["TIMEZONE"])  # the API reads a bare date as local midnight
            since = datetime.fromisoformat(params["from"]).replace(tzinfo=zone) if "from" in params else None
            q = public.listing_select(
                bbox=bbox,
                status=public.statuses(params.get("status")),
                category=params.get("category"),
                since=since,
            )
        return str(q.compile(dialect=db.session.get_bind().dialect, compile_kwargs={"literal_binds": True}))


def _open311_sql(app, params: dict, bare: bool = False):
    """The service's SELECT for a requests page; `bare`: only the indexed ST_DWithin id query
    (the floor the near-me page is held to: 1.5x)."""
    from sqlalchemy import select

    from fieldreport.extensions import db
    from fieldreport.models import Report
    from fieldreport.services import open311_read, public

    near = (float(params["lat"]), float(params["long"]), float(params["radius"])) if "lat" in params else None
    start, end = open311_read.window(None, None)
    q = open311_read.Query(
        ids=[],
        service_codes=[],
        statuses=[],
        start=start,
        end=end,
        near=near,
        page_size=int(params.get("page_size", 1000)),
    )
    stmt = open311_read.find_select(q)
    if bare:
        stmt = (
            select(Report.id)
            .where(public.within(*near), Report.created_at >= start)
            .order_by(Report.created_at.desc(), Report.id.desc())
            .limit(q.page_size)
        )
    return str(stmt.compile(dialect=db.session.get_bind().dialect, compile_kwargs={"literal_binds": True}))


def sql_times(cur, sqls: list[str], n: int) -> list[float]:
    times = []
    for i in range(n):
        t = time.perf_counter()
        cur.execute(sqls[i % len(sqls)])
        cur.fetchall()
        times.append(time.perf_counter() - t)
    return times


def plan_indexes(cur, sql: str) -> str:
    cur.execute("EXPLAIN " + sql)
    plan = "\n".join(r[0] for r in cur.fetchall())
    found = re.findall(r"Index (?:Only )?Scan(?: Backward)? using (\w+)|Bitmap Index Scan on (\w+)", plan)
    used = sorted({a or b for a, b in found})
    return ",".join(used) or ("Seq Scan" if "Seq Scan" in plan else "?")


def render_cpu() -> None:
    """CPU time of turning Open311 rows into a response body (no database, no HTTP): the per-row
    overhead of a page, next to its floor, the bare json.dumps of the finished rows."""
    import json as stdjson
    from collections import namedtuple

    from config.settings import TestConfig
    from fieldreport import create_app
    from fieldreport.open311 import render
    from fieldreport.services import open311_read

    cfg = TestConfig()
    cfg.SECRET_KEY, cfg.S3_SECRET_KEY = "bench", "bench"
    app = create_app(cfg)
    cols = [
        *open311_read.REPORT_COLUMNS,
        "media_url_given",
        "service_code",
        "cat_vi",
        "cat_en",
        "deadline_amount",
        "deadline_unit",
        "unit_vi",
        "unit_en",
        "unit_code",
        "area_code",
        "area_name",
        "parent_code",
        "lat",
        "lon",
    ]
    row = namedtuple("Row", cols)
    now = datetime.now(UTC)
    rows = [
        row(
            id=i,
            code=f"B{i:09d}",
            status=("assigned", "resolved", "in_progress")[i % 3],
            reject_reason=None,
            public_answer="Đã xử lý xong.",
            description="Ổ gà lớn trên đường Lê Duẩn, gần chợ." * 2,
            address_hint=None,
            channel="app",
            created_at=now - timedelta(hours=i),
            updated_at=now,
            due_at=now + timedelta(days=3),
            citizen_due_at=None,
            assigned_at=now,
            accepted_at=now,
            resolved_at=None,
            closed_at=None,
            followers_count=2,
            reopen_count=0,
            media_url_given=None,
            service_code=("road_damage", "rubbish")[i % 2],
            cat_vi="Hư hỏng mặt đường",
            cat_en="Road damage",
            deadline_amount=3.0,
            deadline_unit="days",
            unit_vi="UBND phường Buôn Ma Thuột",
            unit_en="Ward PC",
            unit_code="UBND-24133",
            area_code="24133",
            area_name="Phường Buôn Ma Thuột",
            parent_code=None,
            lat=12.6671234,
            lon=108.0381234,
        )
        for i in range(1000)
    ]

    def cpu(fn, repeat: int = 9) -> float:
        times = []
        for _ in range(repeat):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        return sorted(times)[repeat // 2] * 1e3

    print("Open311 rows → body, CPU ms (median of 9; process time, so other load does not count)")
    print(f"{'':34} {'JSON':>7} {'XML':>7}   {'floor: json.dumps':>17}")
    with app.test_request_context("/open311/v2/requests.json"):
        for extensions in (False, True):
            for n in (100, 1000):

                def body(fmt, n=n, extensions=extensions):
                    draw = render.renderer(True, extensions)
                    render.respond(fmt, "service_requests", [draw(r, []) for r in rows[:n]])

                draw = render.renderer(True, extensions)
                done = [draw(r, []) for r in rows[:n]]
                floor = cpu(lambda done=done: stdjson.dumps(done, ensure_ascii=False))
                print(
                    f"{f'{n:,} rows' + (', extensions' if extensions else ''):34} {cpu(lambda: body('json')):7.1f} "
                    f"{cpu(lambda: body('xml')):7.1f}   {floor:17.1f}"
                )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench_intake")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    p.add_argument("--reports", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--only", help="run only the scenarios whose name contains this text")
    p.add_argument(
        "--render-only", action="store_true", help="only the CPU cost of rendering Open311 pages (no database or HTTP)"
    )
    args = p.parse_args()
    if args.render_only:
        render_cpu()
        return
    prepare(args.database_url)
    # The floors' SQL runs with the settings the app's sessions have (no JIT: extensions.py),
    # as bench/all.py runs it: a floor with JIT on was slower than the page it measures.
    from fieldreport.extensions import SESSION_OPTIONS

    conn = psycopg2.connect(dsn(args.database_url), options=SESSION_OPTIONS)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM reports")
    have = cur.fetchone()[0]
    if have < args.reports:
        print(f"generating {args.reports - have:,} reports …", flush=True)
        generate(args.reports - have, database_url=args.database_url, seed=23, progress=lambda m: print(m, flush=True))
        cur.execute("SELECT count(*) FROM reports")
        have = cur.fetchone()[0]
    env = _stack.env(args.database_url, args.redis_url, _stack.start_s3())
    url = _stack.gunicorn("wsgi:app", env, 2, 4)
    import os

    os.environ.update(env)
    from fieldreport import create_app

    app = create_app()
    rng = random.Random(5)
    floor = http_times(url, [("/healthz", {})], args.requests)
    rows = []
    for name, calls in scenarios(cur, rng):
        if args.only and args.only not in name:
            continue
        http_times(url, calls, 10)  # warm
        h = http_times(url, calls, args.requests)
        sqls = [raw_sql(app, path, params) for path, params in calls]
        s = sql_times(cur, sqls, args.requests)
        rows.append((name, h, s, plan_indexes(cur, sqls[0])))
        if name.startswith("open311 near me"):
            with app.test_request_context():
                bare = [_open311_sql(app, params, bare=True) for _, params in calls]
            b = sql_times(cur, bare, args.requests)
            rows.append((f"  floor: ST_DWithin ids ({name[-5:].strip()})", h, b, plan_indexes(cur, bare[0])))
    pc = _stack.percentile
    print(f"\npublic reads over HTTP at {have:,} reports ({args.requests} requests each, one client; ms)")
    print(f"{'':32} {'HTTP p50':>9} {'p95':>7}   {'raw SQL p50':>11} {'p95':>7}   {'ratio':>5}   index used")
    print(f"{'floor: GET /healthz':32} {pc(floor, 50) * 1e3:9.2f} {pc(floor, 95) * 1e3:7.2f}")
    for name, h, s, idx in rows:
        print(
            f"{name:32} {pc(h, 50) * 1e3:9.2f} {pc(h, 95) * 1e3:7.2f}   {pc(s, 50) * 1e3:11.2f} "
            f"{pc(s, 95) * 1e3:7.2f}   {pc(h, 50) / pc(s, 50):5.1f}   {idx}"
        )


if __name__ == "__main__":
    main()
