"""A whole stack of real processes for fault injection: its own Redis, S3 server, database,
gunicorn, RQ worker and periodic process, supervised the way `make run` supervises them.

The tests kill or freeze these processes (SIGKILL, SIGSTOP) and terminate database backends,
then reconcile every acknowledged report against the database.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
import requests

from scripts.procs import Processes, free_port, wait_port
from tests.conftest import DEMO_PASSWORD, ROOT, S3Server, _fresh_database

BIN = Path(sys.executable).parent


@dataclass
class FaultStack:
    url: str
    db_dsn: str
    env: dict
    procs: Processes
    s3: S3Server
    redis_port: int
    acked: dict = field(default_factory=dict)  # tracking code -> number of photos sent

    def proc(self, name: str):
        """The live process started under `name` (after restarts, the newest one)."""
        for p in reversed(self.procs.procs):
            spec = self.procs.specs.get(p.pid)
            if spec and spec["name"] == name:
                return p
        raise KeyError(name)

    def sql(self, query: str, *args):
        conn = psycopg2.connect(self.db_dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(query, args)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()


def _photo() -> bytes:
    from tests.api.intake_helpers import image

    return image(size=(800, 600))


PHOTO = None


def post_report(stack: FaultStack, timeout: float = 20.0, photos: int = 1) -> requests.Response | None:
    """Submit one report with photos and an Idempotency-Key; remember it when acknowledged."""
    global PHOTO
    PHOTO = PHOTO or _photo()
    files = [("photos", (f"p{i}.jpg", PHOTO, "image/jpeg")) for i in range(photos)]
    data = {"category": "road_damage", "lat": "12.667", "lon": "108.038", "description": f"Ổ gà {uuid.uuid4().hex[:6]}"}
    try:
        resp = requests.post(
            f"{stack.url}/api/v1/reports",
            data=data,
            files=files,
            timeout=timeout,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    except requests.RequestException as exc:
        print(f"[faults] post failed: {type(exc).__name__}: {exc}")
        return None
    if resp.status_code == 201:
        stack.acked[resp.json()["code"]] = photos
    return resp


def reconcile(stack: FaultStack) -> list[str]:
    """What is still wrong: acknowledged reports missing, not routed exactly once, photos
    without public copies, outbox rows unsent. Empty when everything recovered."""
    problems = []
    codes = list(stack.acked)
    if not codes:
        return problems
    rows = stack.sql(
        """
        SELECT r.code,
               (SELECT count(*) FROM events e WHERE e.report_id = r.id AND e.type = 'assigned'),
               (SELECT count(*) FROM photos p WHERE p.report_id = r.id),
               (SELECT count(*) FROM photos p WHERE p.report_id = r.id AND p.display_key IS NOT NULL)
        FROM reports r WHERE r.code = ANY(%s)""",
        codes,
    )
    found = {code: (routed, photos, public) for code, routed, photos, public in rows}
    for code, sent in stack.acked.items():
        if code not in found:
            problems.append(f"{code}: acknowledged but not stored")
            continue
        routed, photos, public = found[code]
        if routed != 1:
            problems.append(f"{code}: routed {routed} times")
        if photos != sent or public != photos:
            problems.append(f"{code}: {public}/{photos} public copies of {sent} photos")
    unsent = stack.sql("SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]
    if unsent:
        problems.append(f"{unsent} outbox rows unsent")
    return problems


def recovered_within(stack: FaultStack, what: str, timeout: float = 120.0) -> float:
    """Poll reconcile() until it is clean; print and return the recovery time."""
    t0 = time.monotonic()
    problems: list[str] = []
    while time.monotonic() - t0 < timeout:  # a polling deadline, not a timing assertion
        problems = reconcile(stack)
        if not problems:
            took = time.monotonic() - t0
            print(
                f"\n[faults] {what}: {len(stack.acked)} acknowledged reports reconciled "
                f"{took:.1f}s after the fault ended"
            )
            return took
        time.sleep(0.5)
    raise AssertionError(f"{what}: not recovered after {timeout}s: {problems[:8]}")


@pytest.fixture(scope="module")
def fault_stack(config, tmp_path_factory):
    work = Path(tempfile.mkdtemp(prefix="fieldreport-faults-"))
    db_url = config.DATABASE_URL + "_faults"
    _fresh_database(db_url)
    redis_port, port = free_port(), free_port()
    s3 = S3Server()
    s3.start()
    procs = Processes(say=lambda msg: print(msg, flush=True))
    (work / "redis").mkdir()
    # appendfsync always: a SIGKILLed Redis keeps every acknowledged write, like production
    # with persistence; the rescues cover what a Redis without persistence would lose.
    procs.spawn(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(redis_port),
            "--dir",
            str(work / "redis"),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ],
        log=work / "redis.log",
        restart=True,
        name="redis",
    )
    wait_port(redis_port, "redis", 20)
    env = dict(
        os.environ,
        FIELDREPORT_DATABASE_URL=db_url,
        FIELDREPORT_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        FIELDREPORT_S3_ENDPOINT=s3.endpoint,
        FIELDREPORT_S3_PUBLIC_ENDPOINT=s3.endpoint,
        FIELDREPORT_S3_ACCESS_KEY=s3.key,
        FIELDREPORT_S3_SECRET_KEY=s3.secret,
        FIELDREPORT_S3_BUCKET="fieldreport-faults",
        FIELDREPORT_SECRET_KEY="faults-secret",
        FIELDREPORT_DEMO_MODE="1",
        FIELDREPORT_DEMO_PASSWORD=DEMO_PASSWORD,
        FIELDREPORT_LOG_JSON="0",
        FIELDREPORT_SUBMIT_RATE_PER_HOUR="100000",
        FIELDREPORT_S3_READ_TIMEOUT="2",
        FIELDREPORT_BREAKER_OPEN_SECONDS="3",
        FIELDREPORT_JOB_RETRIES="5",
        FIELDREPORT_RESCUE_AFTER_SECONDS="5",
        FIELDREPORT_DB_POOL_SIZE="3",
        FIELDREPORT_EXPORT_SYNC_MAX_ROWS="1",  # every per-report export is a job
        PORT=str(port),
        HOST="127.0.0.1",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
    )
    from tests.e2e.conftest import _run

    _run([str(BIN / "flask"), "--app", "wsgi", "db-upgrade"], env)
    _run([str(BIN / "flask"), "--app", "wsgi", "seed-demo"], env)
    for name, cmd in (
        ("api", [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"]),
        ("worker", [str(BIN / "python"), "-m", "workers.main", "worker"]),
        ("cron", [str(BIN / "python"), "-m", "workers.main", "cron"]),
    ):
        procs.spawn(cmd, env=env, cwd=ROOT, log=work / f"{name}.log", restart=True, name=name)
    stop = threading.Event()

    def supervise():  # what `make run` does: restart a dead child with back-off
        while not stop.is_set():
            procs.supervise()
            time.sleep(0.2)

    watcher = threading.Thread(target=supervise, daemon=True)
    watcher.start()
    dsn = db_url.replace("postgresql+psycopg2", "postgresql")
    stack = FaultStack(f"http://127.0.0.1:{port}", dsn, env, procs, s3, redis_port)
    try:
        wait_port(port, "API", 30)
        for _ in range(120):  # every worker warm (routing index, pools) before faults start
            try:
                if requests.get(f"{stack.url}/readyz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        yield stack
    finally:
        stop.set()
        watcher.join(5)
        procs.stop_all(10)
        s3.stop()
        for name in ("api", "worker", "cron"):
            text = (work / f"{name}.log").read_text(errors="replace")
            if "Traceback" in text:
                print(f"--- {name}.log (tail) ---\n{text[-4000:]}")
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(s3.dir, ignore_errors=True)
