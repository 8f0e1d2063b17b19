"""Intake throughput: multipart reports with a real 1–3 MB photo, next to the floor, empty vs large DB.

    python bench/intake.py [--database-url postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench_intake]
        [--redis-url redis://127.0.0.1:6379/3] [--existing 1000000] [--requests 200] [--concurrency 4]

Needs PostgreSQL/PostGIS and Redis listening; starts its own S3 server and gunicorn (bench/_stack.py).
The database named is DROPPED and recreated. The floor is the same gunicorn + Flask + storage
adapter with a route that only streams the same bytes into the bucket (bench._stack.floor_app).
Each request carries different bytes (a unique tail after the JPEG end marker), so the
content-hash dedupe never skips a put. Jobs pile up in Redis (no worker runs): intake only.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import urllib3  # noqa: E402
from redis import Redis  # noqa: E402
from urllib3 import encode_multipart_formdata  # noqa: E402

from bench import _stack  # noqa: E402
from bench.generate import generate, prepare  # noqa: E402

SHARED = Path(os.environ.get("FIELDREPORT_SHARED_DATA") or ROOT.parent / "shared" / "data")
PHOTO = SHARED / "photos" / "jpeg_gps_nokia83_5g.jpg"  # 2.2 MB, 4608x1976
CENTRE = (12.667, 108.038)


def photo_bytes() -> bytes:
    if PHOTO.exists():
        return PHOTO.read_bytes()
    import io

    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(1).integers(0, 255, (2448, 3264, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, "JPEG", quality=70)  # ≈ 2 MB of camera-like entropy
    return out.getvalue()


def bodies(n: int, photo: bytes, tag: str) -> list[tuple[bytes, str]]:
    """Pre-built multipart bodies so the client spends no CPU while the clock runs."""
    out = []
    for i in range(n):
        data = photo + os.urandom(16)  # past the JPEG EOI: decoders ignore it, the hash changes
        fields = {
            "category": "road_damage",
            "lat": str(CENTRE[0] + (i % 97) * 1e-4),
            "lon": str(CENTRE[1] + (i % 89) * 1e-4),
            "description": f"bench {tag} {i}",
            "photos": ("photo.jpg", data, "image/jpeg"),
        }
        out.append(encode_multipart_formdata(fields))
    return out


def run(url: str, payloads: list[tuple[bytes, str]], concurrency: int, expect: int) -> tuple[list, float]:
    """POST every payload with `concurrency` clients; (latencies, wall seconds)."""
    http = urllib3.PoolManager(maxsize=concurrency, retries=False)
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    queue = list(reversed(payloads))

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                body, ctype = queue.pop()
            t = time.perf_counter()
            r = http.request("POST", url, body=body, headers={"Content-Type": ctype}, timeout=60)
            dt = time.perf_counter() - t
            with lock:
                (latencies.append(dt) if r.status == expect else errors.append(r.status))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{url}: {len(errors)} failed requests, statuses {sorted(set(errors))}")
    return latencies, time.perf_counter() - t0


def measure(app_url: str, floor_url: str, args, photo: bytes, tag: str) -> tuple[dict, dict]:
    """Floor and intake interleaved in rounds, so a busy neighbour slows both alike."""
    run(f"{app_url}/api/v1/reports", bodies(8, photo, "warm"), args.concurrency, 201)  # warm both
    run(f"{floor_url}/bench/floor", bodies(8, photo, "warm"), args.concurrency, 201)
    got = {"intake": ([], 0.0), "floor": ([], 0.0)}
    per_round = max(args.concurrency, args.requests // args.rounds)
    for r in range(args.rounds):
        for name, url in (("floor", f"{floor_url}/bench/floor"), ("intake", f"{app_url}/api/v1/reports")):
            lat, wall = run(url, bodies(per_round, photo, f"{tag}{r}"), args.concurrency, 201)
            got[name] = (got[name][0] + lat, got[name][1] + wall)
    return tuple(
        {"rate": len(lat) / wall, "p50": _stack.percentile(lat, 50) * 1000, "p95": _stack.percentile(lat, 95) * 1000}
        for lat, wall in (got["intake"], got["floor"])
    )


def settle(database_url: str) -> None:
    """After a bulk load: vacuum, analyze and checkpoint now rather than during the measurement."""
    import psycopg2

    from bench.generate import dsn

    conn = psycopg2.connect(dsn(database_url))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) reports, events, photos, followers")
        cur.execute("CHECKPOINT")
    conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench_intake")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    p.add_argument("--existing", type=int, default=1_000_000, help="reports generated for the second run")
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--rounds", type=int, default=4, help="floor/intake alternations")
    args = p.parse_args()
    photo = photo_bytes()
    print(f"preparing an empty database ({args.database_url.rsplit('/', 1)[1]}) …", flush=True)
    prepare(args.database_url, fresh=True)
    env = _stack.env(args.database_url, args.redis_url, _stack.start_s3())
    _stack.ensure_bucket(env)
    app_url = _stack.gunicorn("wsgi:app", env, args.workers, args.threads)
    floor_url = _stack.gunicorn("bench._stack:floor_app()", env, args.workers, args.threads)
    rows = [("empty database", *measure(app_url, floor_url, args, photo, "empty"))]
    if args.existing:
        print(f"generating {args.existing:,} reports …", flush=True)
        got = generate(args.existing, database_url=args.database_url, seed=11, progress=lambda m: print(m, flush=True))
        print(f"  generated in {got['seconds']} s; vacuum, analyze, checkpoint …", flush=True)
        settle(args.database_url)
        rows.append((f"{args.existing:,} reports", *measure(app_url, floor_url, args, photo, "full")))
    Redis.from_url(args.redis_url).flushdb()
    print(f"\nload average {os.getloadavg()[0]:.1f} (other work on the machine slows floor and intake alike)")
    print(
        f"intake: POST /api/v1/reports, 1 photo of {len(photo) / 2**20:.1f} MB, {args.requests} requests, "
        f"concurrency {args.concurrency}, gunicorn {args.workers}x{args.threads}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'':24} {'reports/s':>10} {'p50 ms':>8} {'p95 ms':>8}   {'floor/s':>8} {'p50 ms':>8} {'p95 ms':>8}"
        f"   {'rate/floor':>10}"
    )
    for name, intake, floor in rows:
        print(
            f"{name:24} {intake['rate']:10.1f} {intake['p50']:8.0f} {intake['p95']:8.0f}   {floor['rate']:8.1f} "
            f"{floor['p50']:8.0f} {floor['p95']:8.0f}   {intake['rate'] / floor['rate']:10.2f}"
        )
    if len(rows) == 2:
        print(f"POST rate with {args.existing:,} reports / empty: {rows[1][1]['rate'] / rows[0][1]['rate']:.2f}")


if __name__ == "__main__":
    main()
