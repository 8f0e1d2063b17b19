"""A national history for the indicator benchmark: 3,321 communes, 34 province unit trees,
reports and events bulk-loaded with COPY (bench/generate.py), then facts and rollups in bulk.

    python bench/generate_history.py --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench_h5 \
        --reports 10000000 --days 730 --prepare

--prepare creates, migrates and seeds the database (the Đắk Lắk demo), then loads the country
as a deployment with PROVINCES=all does (`flask load-provinces`): the shipped boundaries and,
for every other province, the generated unit tree — UBND-<p> over its communes' committees
UBND-<code>, departments SXD-/SCT-/SNNMT-/CAT-<p>, utilities PC-<p> (under SCT) and WATER-<p>
(under SXD), a dispatcher IOC-<p> — with routing rules like the demo's.
--facts-only rebuilds facts and rollups from the events already there. Prints JSON timings.
Each batch commits, so a load that stops part-way keeps what it wrote: run again without
--prepare for the missing --reports with another --seed and --skip-facts, then --facts-only
(the 10M run of the README was made that way after a stop at 6.52M).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402

from bench import generate as gen  # noqa: E402
from fieldreport.services.indicators.facts import EventRow, build_facts, copy_facts  # noqa: E402
from fieldreport.worktime import Calendar  # noqa: E402


def _app(url: str):
    from config.settings import TestConfig
    from fieldreport import create_app

    cfg = TestConfig()
    cfg.DATABASE_URL, cfg.S3_SECRET_KEY = url, cfg.S3_SECRET_KEY or "unused"
    return create_app(cfg)


def prepare_national(url: str) -> None:
    """Demo seed, then the deployment's own national mode (PROVINCES=all): the shipped
    boundaries of every province and a unit tree with routing rules for each
    (fieldreport/services/provinces.py, what `flask load-provinces` runs)."""
    gen.prepare(url)
    app = _app(url)
    app.config["PROVINCES"] = "all"
    with app.app_context():
        from fieldreport.services import provinces

        provinces.load(None)
    national_accounts(url)
    conn = psycopg2.connect(gen.dsn(url))
    conn.autocommit = True
    conn.cursor().execute("ANALYZE")
    conn.close()


def national_accounts(url: str) -> None:
    """The demo seeded again in the national mode, as `make run PROVINCES=all` seeds it: its
    units become Đắk Lắk's, and the national accounts (national.admin, no unit) are made, whose
    indicators cover every province (the benchmark's national figures are read as it)."""
    from fieldreport.services.demo import seed_demo

    app = _app(url)
    app.config["PROVINCES"] = "all"
    with app.app_context():
        seed_demo(app.config["DEMO_PASSWORD"], app.config["SECRET_KEY"])


def _owners_fast(world, cur) -> dict[tuple[int, int], int]:
    """World._owners in one set-based query (its per-pair spatial query takes ~20 ms × 43,000).

    The same precedence: the matching rules of the commune, its province or a drawn scope
    containing the commune's label point; highest priority, then smallest scope, then id.
    """
    cur.execute(
        """
        SELECT c.id, k.id, CASE WHEN k.is_other THEN NULL ELSE (
          SELECT rr.unit_id FROM routing_rules rr LEFT JOIN areas a ON a.id = rr.area_id
          WHERE rr.active AND (rr.category_id = k.id OR rr.category_id IS NULL)
            AND (rr.area_id = c.id OR a.code = 'P' || c.province_code
                 OR (rr.scope IS NOT NULL AND ST_Intersects(rr.scope, c.label)))
          ORDER BY rr.priority DESC, rr.scope_area_m2 ASC NULLS LAST, rr.id LIMIT 1) END
        FROM areas c CROSS JOIN categories k WHERE c.level = 'commune' AND k.active
          AND c.id = ANY(%s)""",
        ([c.id for c in world.communes],),
    )
    dispatcher = world.units.get("IOC-66")
    return {(c, k): u or dispatcher for c, k, u in cur.fetchall()}


# -- facts in bulk --------------------------------------------------------------------------

_W: dict = {}


def _init_worker(url: str) -> None:
    conn = psycopg2.connect(gen.dsn(url))
    cur = conn.cursor()
    cur.execute("SELECT id, deadline_amount, deadline_unit, urgency FROM categories")
    _W["cats"] = {
        i: SimpleNamespace(id=i, deadline_amount=a, deadline_unit=u, urgency=g) for i, a, u, g in cur.fetchall()
    }
    cur.execute("SELECT id FROM units WHERE kind = 'dispatcher'")
    _W["dispatchers"] = {r[0] for r in cur.fetchall()}
    cur.execute("SELECT day, kind FROM calendar_days")
    days = cur.fetchall()
    _W["cal"] = Calendar(
        extra_days_off={d for d, k in days if k == "off"}, makeup_days={d for d, k in days if k == "work"}
    )
    _W["conn"] = conn


def _facts_range(bounds: tuple[int, int]) -> int:
    lo, hi = bounds
    conn, cal = _W["conn"], _W["cal"]
    cur = conn.cursor()
    cur.execute("SELECT id, category_id, area_id, channel FROM reports WHERE id >= %s AND id < %s", (lo, hi))
    reports = cur.fetchall()
    events: dict[int, list[EventRow]] = {}
    cur.execute(
        """
        SELECT report_id, id, at, type, actor, actor_user_id, to_status, from_unit_id, to_unit_id,
               data->>'limit', data->>'rating', data->>'urgency'
        FROM events WHERE report_id >= %s AND report_id < %s ORDER BY report_id, at, id""",
        (lo, hi),
    )
    for rid, eid, at, typ, actor, uid, st, fu, tu, limit, rating, urgency in cur:
        data = {
            k: v
            for k, v in (("limit", limit), ("rating", int(rating) if rating else None), ("urgency", urgency))
            if v is not None
        }
        events.setdefault(rid, []).append(EventRow(eid, at, typ, actor, uid, st, fu, tu, data))
    facts = [
        fact
        for rid, cat, area, channel in reports
        for fact in build_facts(
            rid, _W["cats"][cat], area, events.get(rid, ()), cal, _W["dispatchers"].__contains__, channel
        )
    ]
    copy_facts(cur, facts)
    conn.commit()
    return len(facts)


def build_facts_bulk(url: str, chunk: int = 100_000, workers: int = 2, progress=print) -> dict:
    """Rewrite every fact from the events (parallel by report-id range), then every rollup."""
    conn = psycopg2.connect(gen.dsn(url))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("TRUNCATE indicator_facts, indicator_rollups, indicator_dirty")
    # Secondary indexes are built once after the load rather than row by row during it.
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'indicator_facts' "
        "AND indexname <> 'pk_indicator_facts'"
    )
    indexes = cur.fetchall()
    for name, _ in indexes:
        cur.execute(f"DROP INDEX {name}")
    cur.execute("SELECT min(id), max(id) FROM reports")
    lo, hi = cur.fetchone()
    t0 = time.time()
    ranges = [(a, min(a + chunk, hi + 1)) for a in range(lo, hi + 1, chunk)]
    done = 0
    with multiprocessing.get_context("fork").Pool(workers, _init_worker, (url,)) as pool:
        for i, n in enumerate(pool.imap_unordered(_facts_range, ranges), 1):
            done += n
            progress(f"  facts: {i}/{len(ranges)} ranges, {done:,} facts ({done / (time.time() - t0):,.0f}/s)")
    for _, definition in indexes:
        cur.execute(definition)
    t1 = time.time()
    cur.execute("ANALYZE indicator_facts")
    with _app(url).app_context():
        from fieldreport.services.indicators import rollups

        rollups.rebuild_all()
    cur.execute("ANALYZE indicator_rollups")
    cur.execute(
        "SELECT count(*), count(*) FILTER (WHERE grain = 'd'), count(*) FILTER (WHERE grain = 'm'), "
        "count(*) FILTER (WHERE grain = 'y') FROM indicator_rollups"
    )
    total, d, m, y = cur.fetchone()
    conn.close()
    return {
        "facts": done,
        "facts_seconds": round(t1 - t0, 1),
        "rollups_seconds": round(time.time() - t1, 1),
        "rollup_rows": total,
        "rollup_rows_by_grain": {"d": d, "m": m, "y": y},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", required=True)
    p.add_argument("--reports", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--prepare", action="store_true")
    p.add_argument("--facts-only", action="store_true")
    p.add_argument("--skip-facts", action="store_true", help="load reports and events only")
    p.add_argument(
        "--no-extras",
        action="store_true",
        help="no photo and follower rows (the indicators never read them; saves disk)",
    )
    a = p.parse_args()
    if a.no_extras:
        gen._write_extras = lambda w, rng, rid, st, photo_id, followers, counts: photo_id
    out: dict = {}
    if a.prepare:
        t = time.time()
        prepare_national(a.database_url)
        out["prepare_seconds"] = round(time.time() - t, 1)
    if not a.facts_only:
        conn = psycopg2.connect(gen.dsn(a.database_url))
        cur = conn.cursor()
        cur.execute("SELECT code FROM areas WHERE level = 'commune' ORDER BY code")
        communes = [r[0] for r in cur.fetchall()]
        conn.close()
        t = time.time()
        gen.World._owners = _owners_fast
        out["generate"] = gen.generate(
            a.reports,
            communes,
            a.seed,
            database_url=a.database_url,
            days=a.days,
            now=datetime.now(UTC),
            progress=lambda m: print(m, file=sys.stderr, flush=True),
        )
        out["generate_seconds"] = round(time.time() - t, 1)
    if not a.skip_facts:
        out.update(build_facts_bulk(a.database_url, progress=lambda m: print(m, file=sys.stderr, flush=True)))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
