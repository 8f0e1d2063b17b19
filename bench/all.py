"""`make bench`: every benchmark at 1,000,000 reports, one table of figures, floors and ratios.

    python bench/all.py [--database-url postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench]
        [--redis-url redis://127.0.0.1:6379/3] [--reports 1000000] [--requests 100] [--only reads,dashboard,...]

The database is generated once (bench/generate.py, then the indicator facts and rollups of
bench/generate_history.py) and reused by later runs: only what is missing is added. Starts
its own S3 server and gunicorn (bench/_stack.py: 2 workers x 4 threads, the floor app beside
it). Every figure is printed with its floor measured in the same run, the ratio between
them, the goal (issue 20, 14, 16) and whether it is met, under the machine's CPU count,
model and load average (other work on the machine slows figure and floor alike).

Sections (--only): reads (public reads, the public map and scorecard, Open311 near-me),
staff (the staff queue and the supervisor dashboard), routing, intake (at the size of the
database and, --intake-empty, on an empty one).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
import urllib3  # noqa: E402

from bench import _stack  # noqa: E402
from bench.generate import dsn, generate, prepare  # noqa: E402

SECTIONS = ("reads", "staff", "routing", "intake")
# Public reads held to 3x /healthz (issue 20); the public map and scorecard to 300 ms (issue 14).
READS_AT_3X = (
    "list by status",
    "list by category",
    "list 30-day window",
    "bbox 1 km",
    "bbox 20 km (10 km radius)",
    "nearby 250 m",
    "report by code",
    "open311 page of 100",
    "open311 page of 1,000",
)
UNDER_300 = ("public map: open, province", "public map: open, 30 days, z12", "public scorecard (this month)")


@dataclass
class Row:
    figure: str
    value: float
    floor_name: str
    floor: float
    unit: str  # "ms" (lower is better) or "/s" (higher is better)
    goal: str
    met: bool

    @property
    def ratio(self) -> float:
        return self.value / self.floor if self.floor else float("nan")


def _ratio_goal(figure, value, floor_name, floor, unit, most=None, least=None) -> Row:
    ratio = value / floor if floor else float("nan")
    if most is not None:
        return Row(figure, value, floor_name, floor, unit, f"ratio <= {most:g}", ratio <= most)
    return Row(figure, value, floor_name, floor, unit, f"ratio >= {least:g}", ratio >= least)


def _abs_goal(figure, value, floor_name, floor, unit, limit_ms) -> Row:
    return Row(figure, value, floor_name, floor, unit, f"<= {limit_ms:g} ms", value <= limit_ms)


# -- the data ---------------------------------------------------------------------------------


def ensure_data(database_url: str, n: int) -> int:
    """Generate up to n reports (once), then the indicator facts and rollups they need."""
    prepare(database_url)
    conn = psycopg2.connect(dsn(database_url))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM reports")
    have = cur.fetchone()[0]
    if have < n:
        print(f"generating {n - have:,} reports into {database_url.rsplit('/', 1)[1]} (once) …", flush=True)
        generate(n - have, database_url=database_url, seed=23, progress=lambda m: print(m, flush=True))
        cur.execute("SELECT count(*) FROM reports")
        have = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM indicator_dirty")
    dirty = cur.fetchone()[0]
    cur.execute("SELECT EXISTS (SELECT 1 FROM indicator_facts)")
    if dirty > 1000 or not cur.fetchone()[0]:
        print(f"indicator facts and rollups from the events ({dirty:,} reports queued) …", flush=True)
        from bench.generate_history import build_facts_bulk

        build_facts_bulk(database_url, progress=lambda m: print(m, flush=True))
        cur.execute("VACUUM (ANALYZE) reports, events, photos, followers, indicator_facts, indicator_rollups")
        cur.execute("CHECKPOINT")
    conn.close()
    return have


# -- sections ---------------------------------------------------------------------------------


def http_p50(url: str, calls, n: int, headers=None, budget: float = 30.0) -> float:
    """p50 in ms of n sequential GETs (after 5 to warm), one keep-alive connection; stops
    early (after at least 10) once `budget` seconds are spent, so slow pages bound the run."""
    http = urllib3.PoolManager(maxsize=1, retries=urllib3.Retry(total=2, backoff_factor=0))
    times: list[float] = []
    end = time.monotonic() + budget
    for i in range(n + 5):
        if len(times) >= 10 and time.monotonic() > end:
            break
        path, params = calls[i % len(calls)]
        t = time.perf_counter()
        r = http.request("GET", url + path, fields=params, headers=headers or {}, timeout=60)
        if i >= 5:
            times.append(time.perf_counter() - t)
        if r.status != 200:
            raise SystemExit(f"{path} {params}: {r.status} {r.data[:300]!r}")
    return statistics.median(times) * 1e3


def sql_p50(cur, sqls: list[str], n: int, budget: float = 20.0) -> float:
    """p50 in ms of the raw SQL (after 2 to warm), stopping early (after 5) past `budget` s."""
    times: list[float] = []
    end = time.monotonic() + budget
    for i in range(n + 2):
        if len(times) >= 5 and time.monotonic() > end:
            break
        t = time.perf_counter()
        cur.execute(sqls[i % len(sqls)])
        cur.fetchall()
        if i >= 2:
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def reads(url: str, app, cur, n: int) -> list[Row]:
    from bench import queries

    rng = random.Random(5)
    healthz = http_p50(url, [("/healthz", {})], n)
    rows = []
    for name, calls in queries.scenarios(cur, rng):
        if name not in READS_AT_3X and name not in UNDER_300 and not name.startswith("open311 near me 10"):
            continue
        value = http_p50(url, calls, n if len(calls) > 1 or "scorecard" not in name else max(10, n // 5))
        if name in READS_AT_3X:
            rows.append(_ratio_goal(name, value, "GET /healthz", healthz, "ms", most=3))
        elif name in UNDER_300:
            sqls = [queries.raw_sql(app, path, params) for path, params in calls]
            rows.append(_abs_goal(name, value, "raw SQL", sql_p50(cur, sqls, max(5, n // 5)), "ms", 300))
        else:  # near me: the whole page against the bare indexed ST_DWithin id query
            with app.test_request_context():
                bare = [queries._open311_sql(app, params, bare=True) for _, params in calls]
            rows.append(_ratio_goal(name, value, "bare ST_DWithin ids", sql_p50(cur, bare, n), "ms", most=1.5))
    # the floor itself, again at the end, so a change of load shows
    rows.append(
        Row(
            "GET /healthz (floor, again)",
            http_p50(url, [("/healthz", {})], n),
            "GET /healthz",
            healthz,
            "ms",
            "-",
            True,
        )
    )
    return rows


def _token(app, username: str, kind: str = "api") -> str:
    """A bearer token (or, kind "console", a console session id) of a demo user."""
    from sqlalchemy import select

    from fieldreport.extensions import db
    from fieldreport.models import User
    from fieldreport.services import accounts

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        token, _ = accounts.issue_token(user, timedelta(hours=2), kind)
        db.session.commit()
    return token


def _console_cookie(app, session_id: str) -> str:
    """The signed session cookie the console sets at sign-in (web.session.sign_in)."""
    from fieldreport.web import session as web_session

    serializer = app.session_interface.get_signing_serializer(app)
    value = serializer.dumps({web_session.SESSION_ID: session_id, web_session.CSRF: "bench"})
    return f"{app.config.get('SESSION_COOKIE_NAME', 'session')}={value}"


RAW_MONTH = """
SELECT r.unit_id, count(*) AS reports,
       count(*) FILTER (WHERE r.resolved_at <= r.indicator_due_at
                         OR (r.resolved_at IS NULL AND r.indicator_due_at >= %(t)s)) AS on_time,
       count(*) FILTER (WHERE r.status IN ('submitted','assigned','in_progress','awaiting_info','reopened')) AS backlog,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.resolved_at - r.assigned_at)) AS ht_median,
       count(*) FILTER (WHERE r.rating <= 2) AS dissatisfied
FROM reports r WHERE r.created_at >= %(f)s AND r.created_at < %(t)s GROUP BY r.unit_id"""


def staff(url: str, app, cur, n: int) -> list[Row]:
    healthz = http_p50(url, [("/healthz", {})], n)
    staff_token = _token(app, "bmt.staff")
    queue = http_p50(
        url, [("/api/v1/staff/reports", {"page_size": 25})], n, headers={"Authorization": f"Bearer {staff_token}"}
    )
    rows = [_abs_goal("staff queue (25 of a ward's open reports)", queue, "GET /healthz", healthz, "ms", 30)]
    cookie = {"Cookie": _console_cookie(app, _token(app, "supervisor", "console"))}
    today = datetime.now(UTC).date()
    for kind, start, limit in (("month", today.replace(day=1), 300), ("year", date(today.year, 1, 1), 500)):
        # The page as a supervisor reloads it: periods that are over come from the indicator
        # cache (INDICATOR_CACHE_SECONDS as configured), the current one is computed each time.
        value = http_p50(url, [("/console/dashboard/", {"period": kind})], max(5, n // 10), headers=cookie)
        now = datetime.now(UTC)
        sql = cur.mogrify(RAW_MONTH, {"f": datetime.combine(start, datetime.min.time(), UTC), "t": now}).decode()
        floor = sql_p50(cur, [sql], max(5, n // 10))
        rows.append(_abs_goal(f"dashboard page, {kind} (province)", value, "raw SQL per unit", floor, "ms", limit))
    return rows


def routing(app, jobs: int) -> list[Row]:
    """routing.decide next to the point lookup; reports routed/s by each worker configuration
    next to the no-op job rate of the same configuration."""
    import uuid

    from bench import routing as rb
    from fieldreport.extensions import queues

    rows = []
    with app.app_context():
        prefix = f"bench-routing-{uuid.uuid4().hex[:6]}"
        queues.prefix = prefix
        points = rb.sample_points(1000)
        lk = rb.bench_lookup(points)
        rows.append(
            _ratio_goal(
                "routing.decide (median)",
                lk["decide_us"] / 1000,
                "PostGIS point lookup",
                lk["pg_us"] / 1000,
                "ms",
                most=3,
            )
        )
        try:
            for config in rb.CONFIGS:
                ids = rb.make_reports(rb.sample_points(jobs, seed=3))
                try:
                    routed, floor = rb.compare(prefix, ids, config)
                finally:
                    rb.purge(ids)
                production = config == rb.PRODUCTION
                row = _ratio_goal(
                    f"reports routed ({config}{', production' if production else ''})",
                    routed,
                    "RQ no-op, same config",
                    floor,
                    "/s",
                    least=0.8,
                )
                if not production:
                    row.goal, row.met = "(compared)", True
                rows.append(row)
        finally:
            for key in queues.redis.scan_iter(f"*{prefix}*"):
                queues.redis.delete(key)
    return rows


def intake(app_url: str, floor_url: str, requests: int, label: str) -> list[Row]:
    from bench import intake as ib

    args = SimpleNamespace(requests=requests, rounds=4, concurrency=4)
    got, floor = ib.measure(app_url, floor_url, args, ib.photo_bytes(), label.split()[0])
    return [
        _ratio_goal(
            f"intake reports/s ({label}, 2.1 MB photo, conc. 4)",
            got["rate"],
            "streaming floor",
            floor["rate"],
            "/s",
            least=0.6,
        )
    ]


# -- the table --------------------------------------------------------------------------------


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model})"


def table(rows: list[tuple[Row, float]], reports: int) -> str:
    out = [
        f"make bench at {reports:,} reports, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}",
        "",
        "| figure | value | floor | ratio | goal | met | load |",
        "|---|---:|---|---:|---|---|---:|",
    ]
    for r, load in rows:
        fmt = (lambda v: f"{v:.1f} ms") if r.unit == "ms" else (lambda v: f"{v:.1f}/s")
        out.append(
            f"| {r.figure} | {fmt(r.value)} | {r.floor_name} {fmt(r.floor)} | {r.ratio:.2f}× | {r.goal} | "
            f"{'—' if r.goal.startswith('(') else 'met' if r.met else 'NOT MET'} | {load:.1f} |"
        )
    out.append("")
    out.append(
        "load = the 1-minute load average when the figure was taken; ratios compare figure and floor "
        "measured in the same run."
    )
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    p.add_argument("--reports", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=100, help="requests per read figure")
    p.add_argument("--jobs", type=int, default=300, help="jobs per routing figure")
    p.add_argument("--intake-requests", type=int, default=120)
    p.add_argument("--intake-empty", action="store_true", help="also intake on an empty database")
    p.add_argument("--only", help=f"comma list of sections ({', '.join(SECTIONS)})")
    p.add_argument("--out", default=str(ROOT / "var" / "bench-latest.md"), help="also write the table here")
    a = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers it started (atexit)
    only = set(a.only.split(",")) if a.only else set(SECTIONS)
    have = ensure_data(a.database_url, a.reports)
    env = _stack.env(a.database_url, a.redis_url, _stack.start_s3())
    _stack.ensure_bucket(env)
    os.environ.update(env)
    from fieldreport import create_app

    app = create_app()
    url = _stack.gunicorn("wsgi:app", env, 2, 4)
    # The floors' SQL runs with the settings the app's sessions have (no JIT: extensions.py).
    from fieldreport.extensions import SESSION_OPTIONS

    conn = psycopg2.connect(dsn(a.database_url), options=SESSION_OPTIONS)
    conn.autocommit = True
    cur = conn.cursor()
    rows: list[tuple[Row, float]] = []

    def add(new: list[Row]) -> None:
        load = os.getloadavg()[0]
        for r in new:
            rows.append((r, load))
            print(
                f"  {r.figure}: {r.value:.1f} {r.unit} / {r.floor_name} {r.floor:.2f} = {r.ratio:.2f}x "
                f"(goal {r.goal}: {'met' if r.met else 'NOT MET'}; load {load:.1f})",
                flush=True,
            )

    if "reads" in only:
        print("public reads …", flush=True)
        add(reads(url, app, cur, a.requests))
    if "staff" in only:
        print("staff queue and dashboard …", flush=True)
        add(staff(url, app, cur, a.requests))
    if "routing" in only:
        print("routing …", flush=True)
        add(routing(app, a.jobs))
    if "intake" in only:
        print("intake …", flush=True)
        floor_url = _stack.gunicorn("bench._stack:floor_app()", env, 2, 4)
        add(intake(url, floor_url, a.intake_requests, f"{have:,} reports"))
        if a.intake_empty:
            empty = a.database_url + "_empty"
            prepare(empty, fresh=True)
            env_empty = _stack.env(empty, a.redis_url, env["FIELDREPORT_S3_ENDPOINT"])
            add(intake(_stack.gunicorn("wsgi:app", env_empty, 2, 4), floor_url, a.intake_requests, "empty database"))
        from redis import Redis

        r = Redis.from_url(a.redis_url)  # the jobs intake queued (no worker ran them)
        for key in r.scan_iter(f"{env['FIELDREPORT_QUEUE_PREFIX']}*"):
            r.delete(key)
    text = table(rows, have)
    print("\n" + text)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text + "\n")
    print(f"\n(also written to {a.out})")


if __name__ == "__main__":
    main()
