"""Mixed load against a running stack (`make run`): citizens, public readers, staff, supervisors.

    python bench/load.py [--url http://127.0.0.1:8000] [--minutes 10] [--scale 100]
        [--password demo1234]

An assumed peak hour for Đắk Lắk (our assumption, not a measured figure: 120 reports,
2,400 public reads, 600 staff queue views, 60 dashboard loads) is multiplied by --scale and spread evenly over each minute by one thread per kind of user.
Prints per minute the requests, errors and p95 of each kind, and the RSS of every process
of the stack (gunicorn arbiter and workers, RQ worker and work horses, cron, PostgreSQL,
Redis, S3) so a leak shows as a slope; at the end the whole run's p50/p95 per kind next
to the floor of the same run: `/healthz` through the same server.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests

PEAK_HOUR = {"submit": 120, "public_read": 2400, "staff": 600, "dashboard": 60, "floor": 600}
CENTRE = (12.667, 108.038)


def photo() -> bytes:
    from PIL import Image

    img = Image.effect_noise((1600, 1200), 60).convert("RGB")  # noise: a JPEG of phone-like size
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.minute: dict[str, list[float]] = defaultdict(list)
        self.all: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.minute_errors: dict[str, int] = defaultdict(int)

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.minute[kind].append(seconds)
            self.all[kind].append(seconds)
            if not ok:
                self.errors[kind] += 1
                self.minute_errors[kind] += 1

    def roll(self) -> tuple[dict, dict]:
        with self.lock:
            out, errs = dict(self.minute), dict(self.minute_errors)
            self.minute, self.minute_errors = defaultdict(list), defaultdict(int)
        return out, errs


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def login(url: str, username: str, password: str) -> str:
    r = requests.post(f"{url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


def worker(kind: str, per_minute: float, url: str, stop: threading.Event, stats: Stats, ctx: dict) -> None:
    session = requests.Session()
    interval = 60.0 / per_minute
    rnd = random.Random(hash(kind))
    next_at = time.monotonic()
    while not stop.is_set():
        next_at += interval
        t0 = time.monotonic()
        ok = True
        try:
            if kind == "submit":
                lat, lon = CENTRE[0] + rnd.uniform(-0.02, 0.02), CENTRE[1] + rnd.uniform(-0.02, 0.02)
                r = session.post(
                    f"{url}/api/v1/reports",
                    timeout=60,
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                    data={"category": "road_damage", "lat": lat, "lon": lon, "description": "Ổ gà (tải thử)"},
                    files=[("photos", ("p.jpg", ctx["photo"], "image/jpeg"))],
                )
                ok = r.status_code == 201
            elif kind == "public_read":
                path = rnd.choice(
                    [
                        "/api/v1/reports?limit=50",
                        "/api/v1/categories",
                        f"/api/v1/reports/nearby?lat={CENTRE[0]}&lon={CENTRE[1]}&category=road_damage",
                        "/open311/v2/requests.json",
                    ]
                )
                ok = session.get(url + path, timeout=60).status_code == 200
            elif kind == "staff":
                r = session.get(
                    f"{url}/api/v1/staff/reports?page_size=25",
                    timeout=60,
                    headers={"Authorization": f"Bearer {ctx['staff']}"},
                )
                ok = r.status_code == 200
            elif kind == "dashboard":
                r = session.get(
                    f"{url}/api/v1/indicators?period=month",
                    timeout=60,
                    headers={"Authorization": f"Bearer {ctx['supervisor']}"},
                )
                ok = r.status_code == 200
            else:
                ok = session.get(f"{url}/healthz", timeout=60).status_code == 200
        except requests.RequestException:
            ok = False
        stats.add(kind, time.monotonic() - t0, ok)
        stop.wait(max(0.0, next_at - time.monotonic()))


def stack_processes(root: str) -> dict[int, str]:
    """pid -> a short name, for the processes of the stack run from `root` (its working
    directory, or its var/ data directories on the command line)."""
    names = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = str((entry / "cwd").resolve())
        except OSError:
            continue
        if not (cwd.startswith(root) or root in cmd):
            continue
        for needle, name in (
            ("gunicorn", "gunicorn"),
            ("workers.main worker", "rq-worker"),
            ("workers.main cron", "cron"),
            ("rq:", "rq"),
            ("postgres", "postgres"),
            ("redis-server", "redis"),
            ("serve s3", "s3"),
            ("minio", "s3"),
        ):
            if needle in cmd:
                names[int(entry.name)] = name
                break
    return names


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--scale", type=float, default=100)
    ap.add_argument("--password", default="demo1234")
    ap.add_argument(
        "--root",
        default=str(Path(__file__).resolve().parents[1]),
        help="the checkout whose stack is measured (RSS of its processes)",
    )
    args = ap.parse_args()
    ctx = {
        "photo": photo(),
        "staff": login(args.url, "bmt.staff", args.password),
        "supervisor": login(args.url, "supervisor", args.password),
    }
    stats, stop = Stats(), threading.Event()
    threads = []
    for kind, per_hour in PEAK_HOUR.items():
        per_minute = per_hour * args.scale / 60
        # one thread per ~2 requests/s of a kind, so a slow answer does not stall the rate
        for _ in range(max(1, int(per_minute / 120))):
            t = threading.Thread(
                target=worker,
                daemon=True,
                args=(kind, per_minute / max(1, int(per_minute / 120)), args.url, stop, stats, ctx),
            )
            t.start()
            threads.append(t)
    print(
        f"load: {args.scale}× the peak hour ({', '.join(f'{k} {v}/h' for k, v in PEAK_HOUR.items())}) "
        f"for {args.minutes} min against {args.url}, {len(threads)} client threads"
    )
    t_end = time.monotonic() + args.minutes * 60
    minute = 0
    while time.monotonic() < t_end:
        time.sleep(min(60, max(0.1, t_end - time.monotonic())))
        minute += 1
        per, errs = stats.roll()
        procs = stack_processes(args.root)
        rss = defaultdict(float)
        for pid, name in procs.items():
            rss[name] += rss_mb(pid)
        line = "  ".join(f"{k} n={len(v)} err={errs.get(k, 0)} p95={p(v, 0.95):.0f}ms" for k, v in sorted(per.items()))
        print(f"[min {minute}] {line}")
        print(f"[min {minute}] RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(rss.items())))
    stop.set()
    for t in threads:
        t.join(70)
    floor = statistics.median(stats.all["floor"]) * 1000 if stats.all["floor"] else float("nan")
    print("\nkind          requests errors   p50 ms   p95 ms   p50 / floor p50")
    for kind, values in sorted(stats.all.items()):
        print(
            f"{kind:13} {len(values):8} {stats.errors.get(kind, 0):6} {p(values, 0.5):8.1f} "
            f"{p(values, 0.95):8.1f}   {p(values, 0.5) / floor:6.1f}×"
        )
    print(f"(floor: /healthz through the same server, p50 {floor:.1f} ms)")
    return 1 if sum(stats.errors.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
