"""Routing benchmark: point lookup (STRtree vs PostGIS) and reports routed/s vs the RQ floor.

    FIELDREPORT_DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/<a seeded db> \
    FIELDREPORT_REDIS_URL=redis://127.0.0.1:6379/<db> .venv/bin/python bench/routing.py

The database must hold the Đắk Lắk demo (a test database after a test run, or `flask seed-demo`).
Prints, on the same points: the lookup time of an in-memory Shapely STRtree of the communes
(prepared geometries) next to a prepared PostGIS ST_Contains statement on the GiST index, and
the full routing decision (services.routing.decide: contains, nearest fallback, rules). Then
each worker configuration of CONFIGS (RQ's forking Worker, one JobWorker, the production
one JobWorker per core; `python -m workers.main worker --burst`) runs N no-op jobs (the
floor of that configuration) and N route_report jobs on committed reports, alternating in
three rounds; rates come from the jobs' own start/end times, so worker start-up is not
counted. Bench reports are deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FIELDREPORT_SECRET_KEY", "bench-secret")
os.environ.setdefault("FIELDREPORT_S3_SECRET_KEY", "bench-unused")
os.environ.setdefault("FIELDREPORT_LOG_JSON", "0")

import shapely  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402
from sqlalchemy import delete, select, text  # noqa: E402

from config.settings import Config  # noqa: E402
from fieldreport import create_app, geo, security  # noqa: E402
from fieldreport.extensions import db, queues  # noqa: E402
from fieldreport.models import Category, Event, Notification, Outbox, Report  # noqa: E402
from fieldreport.services import intake, routing  # noqa: E402


def sample_points(n: int, seed: int = 7) -> list[tuple[float, float]]:
    """Half inside communes (their label points, jittered), half anywhere in the bounding box."""
    rows = db.session.execute(
        text("SELECT ST_X(label), ST_Y(label) FROM areas WHERE level = 'commune' AND label IS NOT NULL")
    ).all()
    box = db.session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) e FROM areas WHERE level = 'commune') s"
        )
    ).one()
    rnd = random.Random(seed)
    pts = []
    for i in range(n):
        if i % 2 and rows:
            x, y = rows[rnd.randrange(len(rows))]
            pts.append((x + rnd.uniform(-0.003, 0.003), y + rnd.uniform(-0.003, 0.003)))
        else:
            pts.append((rnd.uniform(box[0], box[2]), rnd.uniform(box[1], box[3])))
    return pts


def bench_lookup(points) -> dict:
    rows = db.session.execute(text("SELECT code, ST_AsBinary(geom) FROM areas WHERE level = 'commune'")).all()
    t0 = time.perf_counter()
    geoms = [shapely.from_wkb(bytes(g)) for _, g in rows]
    for g in geoms:
        shapely.prepare(g)
    tree = shapely.STRtree(geoms)
    build_ms = (time.perf_counter() - t0) * 1000
    codes = [c for c, _ in rows]

    def timed(fn) -> tuple[list, float]:
        """Each call timed alone; the median resists a busy machine better than the mean."""
        out, times = [], []
        for x, y in points:
            t = time.perf_counter()
            out.append(fn(x, y))
            times.append(time.perf_counter() - t)
        return out, statistics.median(times) * 1e6

    by_tree, tree_us = timed(lambda x, y: sorted(codes[i] for i in tree.query(shapely.Point(x, y), predicate="within")))

    cur = db.session.connection().connection.cursor()
    cur.execute(
        "PREPARE locate(float8, float8) AS SELECT code FROM areas WHERE level = 'commune' "
        "AND ST_Contains(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) ORDER BY code"
    )
    cur.execute("EXECUTE locate(%s, %s)", points[0])  # warm the plan and PostGIS
    cur.fetchall()

    def prepared(x, y):
        cur.execute("EXECUTE locate(%s, %s)", (x, y))
        return [r[0] for r in cur.fetchall()]

    cat = db.session.scalar(select(Category).where(Category.code == "rubbish"))
    routing.decide(*points[0], cat)
    # The lookup and the decision interleaved call by call, so that both medians sample the
    # same moments of a busy machine (timed apart, their ratio swung 5.8x-21x between runs).
    by_pg, pg_times, decide_times = [], [], []
    for x, y in points:
        t = time.perf_counter()
        by_pg.append(prepared(x, y))
        pg_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        routing.decide(x, y, cat)
        decide_times.append(time.perf_counter() - t)
    pg_us, decide_us = statistics.median(pg_times) * 1e6, statistics.median(decide_times) * 1e6
    cur.execute("DEALLOCATE locate")
    db.session.rollback()
    agree = sum(a == b for a, b in zip(by_tree, by_pg))
    return dict(
        build_ms=build_ms,
        tree_us=tree_us,
        pg_us=pg_us,
        decide_us=decide_us,
        agree=agree,
        n=len(points),
        hits=sum(bool(a) for a in by_tree),
    )


def make_reports(points) -> list[int]:
    cats = db.session.scalars(select(Category.id)).all()
    rnd = random.Random(11)
    reports = [
        Report(
            code=intake.new_code(),
            citizen_token_hash=security.token_hash(security.new_token()),
            category_id=rnd.choice(cats),
            status="submitted",
            location=geo.point(x, y),
            channel="bench",
        )
        for x, y in points
    ]
    db.session.add_all(reports)
    db.session.commit()
    return [r.id for r in reports]


def purge(ids: list[int]) -> None:
    notes = db.session.scalars(select(Notification.id).where(Notification.report_id.in_(ids))).all()
    for row in db.session.scalars(
        select(Outbox).where(Outbox.func.in_(["workers.jobs.route_report", "workers.jobs.deliver_notification"]))
    ).all():
        if row.args and row.args[0] in (ids if row.func.endswith("route_report") else notes):
            db.session.delete(row)
    db.session.execute(delete(Notification).where(Notification.report_id.in_(ids)))
    db.session.execute(delete(Event).where(Event.report_id.in_(ids)))
    db.session.execute(delete(Report).where(Report.id.in_(ids)))
    db.session.commit()


# Worker configurations compared: (extra arguments of `workers.main worker`, processes).
# Production (docs/deploy.md, `make run`): one JobWorker per core, each its own process.
PRODUCTION = f"JobWorker x{os.cpu_count()}"
CONFIGS = {
    "RQ Worker (fork per job) x1": (["--fork-per-job"], 1),
    "JobWorker x1": ([], 1),
    PRODUCTION: ([], os.cpu_count() or 1),
    f"JobWorker x{2 * (os.cpu_count() or 1)}": ([], 2 * (os.cpu_count() or 1)),  # two per core
}


def run_jobs(prefix: str, func: str, args_list: list[tuple], config: str = PRODUCTION) -> float:
    """Enqueue, run the configuration's burst workers on the routing queue, return jobs/s
    from the jobs' own start and end times (worker start-up is not counted)."""
    count, seconds = _run_jobs(prefix, func, args_list, config)
    return count / seconds


def compare(prefix: str, ids: list[int], config: str = PRODUCTION, rounds: int = 3) -> tuple[float, float]:
    """(reports routed/s, no-op jobs/s) of a configuration, the two alternating in `rounds`
    rounds (as bench/intake.py does), so that a busy neighbour slows figure and floor alike."""
    totals = {"noop": [0, 0.0], "route": [0, 0.0]}
    for r in range(rounds):
        chunk = ids[r::rounds]
        for name, func, args in (
            ("noop", "workers.jobs.noop", [()] * len(chunk)),
            ("route", "workers.jobs.route_report", [(i,) for i in chunk]),
        ):
            count, seconds = _run_jobs(prefix, func, args, config)
            totals[name][0] += count
            totals[name][1] += seconds
    return totals["route"][0] / totals["route"][1], totals["noop"][0] / totals["noop"][1]


def _run_jobs(prefix: str, func: str, args_list: list[tuple], config: str) -> tuple[int, float]:
    jobs = [queues.enqueue("routing", func, *args) for args in args_list]
    env = {**os.environ, "FIELDREPORT_QUEUE_PREFIX": prefix}
    extra, processes = CONFIGS[config]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "workers.main", "worker", "--burst", *extra, "routing"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    if any(w.wait() != 0 for w in workers):
        raise SystemExit(f"a {config} burst worker failed")
    done = [
        j
        for j in Job.fetch_many([j.id for j in jobs], connection=queues.redis, serializer=JSONSerializer)
        if j is not None
    ]
    failed = [j for j in done if j.get_status() != "finished"]
    if failed:
        raise SystemExit(f"{len(failed)} {func} jobs did not finish: {failed[0].latest_result()}")
    span = max(j.ended_at for j in done) - min(j.started_at for j in done)
    return len(done), span.total_seconds()


def in_process(ids: list[int]) -> float:
    """route_report called directly (no RQ): ms per report, for the breakdown."""
    t0 = time.perf_counter()
    for rid in ids:
        routing.route_report(rid)
    return (time.perf_counter() - t0) / len(ids) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=300)
    args = parser.parse_args()
    app = create_app(Config())
    prefix = f"bench-routing-{uuid.uuid4().hex[:6]}"
    with app.app_context():
        queues.prefix = prefix
        points = sample_points(args.points)
        lk = bench_lookup(points)
        print(
            f"communes: STRtree build {lk['build_ms']:.1f} ms; {lk['n']} points "
            f"({lk['hits']} inside a commune), answers agree on {lk['agree']}/{lk['n']}"
        )
        print(
            f"lookup per point (median)   STRtree, prepared {lk['tree_us']:7.1f} µs   |   "
            f"PostGIS prepared ST_Contains {lk['pg_us']:8.1f} µs   (x{lk['pg_us'] / lk['tree_us']:.1f})"
        )
        print(
            f"full decision (median)      routing.decide, PostGIS: contains/nearest + rules {lk['decide_us']:7.1f} µs"
        )
        ids = make_reports(sample_points(args.jobs, seed=3))
        more = make_reports(sample_points(min(100, args.jobs), seed=5))
        try:
            for config in CONFIGS:
                routed, floor = compare(prefix, ids, config)
                purge(ids)
                ids = make_reports(sample_points(args.jobs, seed=3))
                print(
                    f"{config:28} route_report {routed:8.1f} reports/s   |   RQ no-op floor {floor:8.1f} "
                    f"jobs/s   ({routed / floor * 100:.0f}% of the floor)"
                )
            ms = in_process(more)
            share = lk["decide_us"] / 1000 / ms * 100
            print(
                f"per report                  in-process route_report {ms:.2f} ms; "
                f"the PostGIS decision is {share:.1f}% of it"
            )
        finally:
            purge(ids + more)
            for key in queues.redis.scan_iter(f"*{prefix}*"):
                queues.redis.delete(key)


if __name__ == "__main__":
    main()
