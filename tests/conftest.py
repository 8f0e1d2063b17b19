"""Fixtures on real components: PostGIS (rolled back per test), Redis, a local S3 server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest

from config.settings import TestConfig
from scripts.procs import free_port, s3_command, wait_port

ROOT = Path(__file__).resolve().parents[1]
# The shared data beside the checkout (a worktree elsewhere names it: FIELDREPORT_SHARED_DATA).
SHARED = Path(os.environ.get("FIELDREPORT_SHARED_DATA") or ROOT.parent / "shared" / "data")
PHOTOS = SHARED / "photos"
BOUNDARIES = SHARED / "vn-boundaries"
DEMO_PASSWORD = "demo-password"


class S3Server:
    """An S3 server (rclone, or MinIO) on a free port; stop()/start() take storage down."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="fieldreport-s3-")
        self.port = free_port()
        self.key, self.secret = "testkey", "testsecret-0123456789"
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd, env = s3_command(self.dir, self.port, self.key, self.secret)
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, "S3 server", 20)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


def _fresh_database(url: str, template: str | None = None) -> None:
    """Drop and create the database of url: empty, or a copy of the database named template
    (PostgreSQL copies it file by file: no migrations or seeding to run again)."""
    base, name = url.rsplit("/", 1)
    conn = psycopg2.connect(base.replace("postgresql+psycopg2", "postgresql") + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    conn.close()


@pytest.fixture(scope="session")
def config(s3_server) -> TestConfig:
    cfg = TestConfig()
    if "FIELDREPORT_DATABASE_URL" not in os.environ:
        cfg.DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_test"
    if "FIELDREPORT_REDIS_URL" not in os.environ:
        cfg.REDIS_URL = "redis://127.0.0.1:6379/15"
    cfg.S3_ENDPOINT = cfg.S3_PUBLIC_ENDPOINT = s3_server.endpoint
    cfg.S3_ACCESS_KEY, cfg.S3_SECRET_KEY = s3_server.key, s3_server.secret
    cfg.S3_BUCKET = "fieldreport-test"
    return cfg


@pytest.fixture(scope="session")
def app(config):
    """One app per session on a database migrated to head and seeded with the demo."""
    _fresh_database(config.DATABASE_URL)
    from fieldreport import create_app
    from fieldreport.cli import alembic_config
    from fieldreport.extensions import queues, storage
    from fieldreport.services.demo import seed_demo

    app = create_app(config)
    with app.app_context():
        from alembic import command

        command.upgrade(alembic_config(), "head")
        storage.ensure_bucket()
        app.extensions["demo"] = seed_demo(DEMO_PASSWORD, config.SECRET_KEY)
        queues.is_async = False  # jobs run inline unless a test starts real workers
    return app


@pytest.fixture()
def db_session(app):
    """The test's unit of work: commits become savepoints, rolled back at the end."""
    from fieldreport.extensions import db

    connection = db.engine.connect()
    outer = connection.begin()
    db.bind_to(connection, join_transaction_mode="create_savepoint")
    ctx = app.app_context()
    ctx.push()
    try:
        yield db.session
    finally:
        db.session.remove()
        ctx.pop()
        outer.rollback()
        connection.close()
        db.bind_to(db.engine, join_transaction_mode="conditional_savepoint")


@pytest.fixture()
def redis_clean(app):
    """Empty the test Redis database before the test (queues, rate limits, locks)."""
    from fieldreport.extensions import queues

    queues.redis.flushdb()
    yield queues.redis


@pytest.fixture()
def client(app, db_session, redis_clean):
    return app.test_client()


@pytest.fixture()
def demo(app):
    """What the demo seed returned: accounts, the Open311 API key, counts."""
    return app.extensions["demo"]
