"""Circuit breakers for Redis and the database: a stopped Redis (SIGSTOP, a real server) and a
hung database address cost a few timeouts, then calls fail at once until they come back."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time

import pytest
from sqlalchemy import select, text

from fieldreport.extensions import Database, db, queues
from fieldreport.models import Outbox, Report
from scripts.procs import free_port, wait_port
from tests.api.intake_helpers import submit
from tests.api.test_recovery import HungServer, adapter_at


def queues_at(app, **settings):
    """Point the Redis queues at another server for one test, then back."""
    return adapter_at(queues, ("redis", "breaker", "prefix"), app, **settings)


@pytest.fixture()
def own_redis(app):
    """A real redis-server of this test's own, which the test can stop (SIGSTOP) and resume."""
    port = free_port()
    work = tempfile.mkdtemp(prefix="fieldreport-redis-")
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", work, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_port(port, "redis", 20)
        with queues_at(
            app,
            REDIS_URL=f"redis://127.0.0.1:{port}/0",
            REDIS_TIMEOUT=0.5,
            BREAKER_FAILURES=3,
            BREAKER_OPEN_SECONDS=1.0,
        ):
            yield proc
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait(10)


def _unsent(report_id: int) -> bool:
    """The report's routing job is still waiting in the outbox."""
    return (
        db.session.scalar(
            select(Outbox.id).where(
                Outbox.sent_at.is_(None), Outbox.func == "workers.jobs.route_report", Outbox.args == [report_id]
            )
        )
        is not None
    )


def test_stopped_redis_opens_the_breaker_and_reports_still_save_at_once(client, own_redis):
    assert submit(client).status_code == 201  # Redis up: rate limit and enqueue work
    assert queues.breaker.state == "closed"
    os.kill(own_redis.pid, signal.SIGSTOP)  # hung: connections open, nothing answers
    timings = []
    for _ in range(4):
        t0 = time.monotonic()
        resp = submit(client, description="Cột đèn đổ")
        timings.append(time.monotonic() - t0)
        assert resp.status_code == 201, resp.get_json()  # Redis is only a side effect here
        report = db.session.scalar(select(Report).where(Report.code == resp.get_json()["code"]))
        assert _unsent(report.id)  # the enqueue failed: the outbox sweeper sends it later
    assert queues.breaker.state == "open"
    failures = queues.breaker.describe()["failures"]
    refused = queues.breaker.refused
    resp = submit(client, description="Cột đèn đổ lần nữa")
    assert resp.status_code == 201
    # The rate limit and the enqueue were refused by the breaker: no new timeout was waited.
    assert queues.breaker.refused >= refused + 2
    assert queues.breaker.describe()["failures"] == failures
    ready = client.get("/readyz")  # degraded, still in the balancer: posts are being saved
    assert ready.status_code == 200 and ready.get_json()["status"] == "degraded"
    assert ready.get_json()["degraded"] == ["redis"] and ready.get_json()["checks"]["redis"].startswith("down")
    assert ready.get_json()["breakers"]["redis"]["state"] == "open"
    print(f"\nstopped redis: posts took {', '.join(f'{t:.2f}s' for t in timings)}")

    os.kill(own_redis.pid, signal.SIGCONT)
    time.sleep(1.1)  # the breaker's open period in this test, then one trial closes it
    resp = submit(client, description="Redis đã chạy lại")
    assert resp.status_code == 201
    report = db.session.scalar(select(Report).where(Report.code == resp.get_json()["code"]))
    assert not _unsent(report.id)
    assert queues.breaker.state == "closed"
    assert client.get("/readyz").get_json()["breakers"]["redis"]["state"] == "closed"


def test_readyz_reports_every_breaker(client):
    body = client.get("/readyz").get_json()
    assert set(body["breakers"]) == {"database", "redis", "storage"}
    assert all(b["state"] == "closed" for b in body["breakers"].values())


def test_hung_database_opens_the_breaker_and_refuses_without_connecting(app):
    """A database address that accepts connections and never answers (a hung PostgreSQL)."""
    server = HungServer()
    hung = Database()

    class _App:
        config = dict(
            app.config,
            DATABASE_URL=f"postgresql+psycopg2://u@127.0.0.1:{server.port}/x",
            DATABASE_READ_URL=None,
            DB_CONNECT_TIMEOUT=1,
            BREAKER_FAILURES=2,
            BREAKER_OPEN_SECONDS=30,
        )
        extensions: dict = {}

        @staticmethod
        def before_request(fn):
            return fn

        @staticmethod
        def teardown_appcontext(fn):
            return fn

    hung.init_app(_App)
    try:
        for _ in range(2):
            with pytest.raises(Exception) as failed, hung.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            assert "timeout" in str(failed.value).lower()
        assert hung.breaker.state == "open"
        accepted = server.accepted
        with pytest.raises(Exception) as refused, hung.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert "circuit open" in str(refused.value)
        assert server.accepted == accepted  # the open breaker did not even connect
    finally:
        hung.engine.dispose()
        server.close()


def test_a_database_outage_answers_503_never_500(client, app):
    """An OperationalError (a refused or dropped connection, or the breaker refusing) maps to
    503 with Retry-After. The tests' session is bound to one open connection, so the request's
    statement fails the way a database going down does: PostgreSQL's own error 57P03."""
    db.session.execute(
        text("""
        CREATE FUNCTION pg_temp.down() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION USING ERRCODE = '57P03', MESSAGE = 'cannot connect now'; END $$;
        CREATE TRIGGER down BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION pg_temp.down();""")
    )
    db.session.commit()
    resp = submit(client, description="Ổ gà")
    assert resp.status_code == 503, resp.get_json()
    assert resp.get_json()["code"] == "database_unavailable"
    assert resp.headers["Retry-After"]
