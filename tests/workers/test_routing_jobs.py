"""The routing job under real conditions: re-runs, two workers at once, a worker killed mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select, text

from fieldreport.extensions import db, queues
from fieldreport.models import Event, Notification, Report
from fieldreport.models.base import utcnow
from fieldreport.services import routing
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]


def assigned_events(session, report_id) -> int:
    return session.scalar(
        select(func.count()).select_from(Event).where(Event.report_id == report_id, Event.type == "assigned")
    )


def test_a_second_run_changes_nothing(db_session):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    assert routing.route_report(report.id) == "assigned"
    before = (report.status, report.unit_id, report.due_at, report.routing)
    notes = db_session.scalar(select(func.count()).select_from(Notification).where(Notification.report_id == report.id))
    assert routing.route_report(report.id) == "skipped"
    assert (report.status, report.unit_id, report.due_at, report.routing) == before
    assert assigned_events(db_session, report.id) == 1
    assert (
        db_session.scalar(select(func.count()).select_from(Notification).where(Notification.report_id == report.id))
        == notes
    )
    assert routing.route_report(10**12) == "skipped"  # gone: nothing to do, no error


def test_the_sweeper_resends_reports_left_unrouted(db_session):
    stale = f.make_report(db_session, "road_damage", *f.BMT, updated_at=utcnow() - timedelta(hours=1))
    fresh = f.make_report(db_session, "road_damage", *f.BMT)
    assert routing.requeue_unrouted(older_than_seconds=600) >= 1  # jobs run inline in tests
    assert stale.unit_id is not None and stale.status == "assigned"
    assert fresh.unit_id is None


def test_worker_preload_leaves_nothing_behind(db_session):
    before = db_session.scalar(select(func.count()).select_from(Report))
    routing.preload()  # what `python -m workers.main worker` runs before forking jobs
    assert db_session.scalar(select(func.count()).select_from(Report)) == before
    assert db_session.scalar(select(Report).where(Report.code == "-warmup-")) is None


@pytest.fixture()
def committed(app):
    """Reports committed for real (other threads and processes must see them); purged after."""
    made: list[int] = []

    def make(category="road_damage", lon=f.BMT[0], lat=f.BMT[1]) -> int:
        with app.app_context():
            report = f.make_report(db.session, category, lon, lat)
            db.session.commit()
            made.append(report.id)
            db.session.remove()
            return made[-1]

    yield make
    with app.app_context():
        f.purge_reports(db.session, made)
        db.session.remove()


def test_two_workers_at_once_assign_once(app, committed):
    report_id = committed()
    start = threading.Barrier(2)
    outcomes, errors = [], []

    def work():
        with app.app_context():
            try:
                start.wait(5)
                outcomes.append(routing.route_report(report_id))
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(outcomes) == ["assigned", "skipped"]
    with app.app_context():
        assert assigned_events(db.session, report_id) == 1
        db.session.remove()


def _worker(config, prefix: str, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "FIELDREPORT_DATABASE_URL": config.DATABASE_URL,
        "FIELDREPORT_REDIS_URL": config.REDIS_URL,
        "FIELDREPORT_QUEUE_PREFIX": prefix,
        "FIELDREPORT_SECRET_KEY": config.SECRET_KEY,
        "FIELDREPORT_S3_ENDPOINT": config.S3_ENDPOINT,
        "FIELDREPORT_S3_ACCESS_KEY": config.S3_ACCESS_KEY,
        "FIELDREPORT_S3_SECRET_KEY": config.S3_SECRET_KEY,
        "FIELDREPORT_S3_BUCKET": config.S3_BUCKET,
        "FIELDREPORT_LOG_JSON": "0",
        "FIELDREPORT_DB_POOL_SIZE": "2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "workers.main", "worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _lock_waiters() -> int:
    with db.engine.connect() as conn:  # a fresh snapshot of pg_stat_activity each time
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar()


def test_killed_worker_loses_nothing(app, config, committed, monkeypatch):
    report_id = committed()
    prefix = f"h4kill-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(queues, "prefix", prefix)
    monkeypatch.setattr(queues, "is_async", True)
    # Hold the report's row lock so the job is stuck mid-way, inside its transaction.
    lock = db.engine.connect()
    tx = lock.begin()
    lock.execute(text("SELECT id FROM reports WHERE id = :i FOR UPDATE"), {"i": report_id})
    first = _worker(config, prefix, "routing")
    try:
        job = queues.enqueue("routing", "workers.jobs.route_report", report_id)
        _wait(lambda: job.get_status(refresh=True) == "started", 30, "the job to start")
        _wait(lambda: _lock_waiters() > 0, 15, "the job to block on the row lock")
        children = Path(f"/proc/{first.pid}/task/{first.pid}/children").read_text().split()
        for pid in children:  # the work horse, then the worker itself: a host going down
            os.kill(int(pid), signal.SIGKILL)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        tx.rollback()
        lock.close()
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    # RQ alone would retry it once its maintenance finds the execution expired...
    started = StartedJobRegistry(queue=queues.get("routing"))
    assert job.id in started.get_job_ids(cleanup=False)
    started.cleanup(timestamp=time.time() + 3600)
    assert job.id in ScheduledJobRegistry(queue=queues.get("routing")).get_job_ids()
    # ...and our sweeper (cron, every minute) re-sends it sooner; a second worker routes it.
    queues.enqueue("routing", "workers.jobs.requeue_unrouted", 0)
    second = _worker(config, prefix, "--burst")
    try:
        assert second.wait(60) == 0
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
    with app.app_context():
        report = db.session.get(Report, report_id)
        assert report.status == "assigned" and report.unit_id is not None
        assert assigned_events(db.session, report_id) == 1
        statuses = db.session.scalars(select(Notification.status).where(Notification.report_id == report_id)).all()
        assert statuses == ["sent"]  # the burst worker also drained the notify queue
        db.session.remove()
    for key in queues.redis.scan_iter(f"*{prefix}*"):
        queues.redis.delete(key)


def test_worker_runs_jobs_in_its_own_process_and_survives_a_failing_one(app, config, monkeypatch):
    """No fork per job (issue 20: the fork dominated a routing job), yet one job cannot harm
    the next: each runs in a fresh app context, and one that raises is only that job's failure."""
    prefix = f"pfworker-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(queues, "prefix", prefix)
    monkeypatch.setattr(queues, "is_async", True)
    try:
        first = queues.enqueue("routing", "tests.workers.jobfuncs.whoami", "first")
        failing = queues.enqueue("routing", "tests.workers.jobfuncs.explode")
        last = queues.enqueue("routing", "tests.workers.jobfuncs.whoami", "last")
        worker = _worker(config, prefix, "--burst", "routing")
        assert worker.wait(60) == 0
        for job in (first, last):
            assert job.get_status(refresh=True) == "finished"
            assert job.return_value() == {"pid": worker.pid, "left_by_earlier_job": None}
        assert failing.get_status(refresh=True) in ("scheduled", "failed")  # retried later, or failed
    finally:
        for key in queues.redis.scan_iter(f"*{prefix}*"):
            queues.redis.delete(key)


def test_a_job_stuck_in_sql_is_stopped_by_the_statement_timeout(app, config, monkeypatch):
    """In-process jobs (JobWorker) cannot be interrupted by RQ's timeout signal while they
    wait on PostgreSQL: the worker's sessions carry a statement_timeout (DB_STATEMENT_TIMEOUT,
    by default JOB_TIMEOUT), so a stuck job fails with the database's cancel (and is retried)
    and the worker goes on. A job enqueued with a longer timeout than JOB_TIMEOUT (an
    export) gets that longer limit in its transactions."""
    prefix = f"pfstmt-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(queues, "prefix", prefix)
    monkeypatch.setattr(queues, "is_async", True)
    monkeypatch.setenv("FIELDREPORT_DB_STATEMENT_TIMEOUT", "2")
    try:
        # Without retries, so that the failure is kept with its exception.
        stuck = queues.get("routing").enqueue("tests.workers.jobfuncs.sleep_in_db", 20, job_timeout=60)
        after = queues.enqueue("routing", "tests.workers.jobfuncs.whoami", "after")
        plain = queues.enqueue("routing", "tests.workers.jobfuncs.statement_timeout")
        longer = queues.enqueue("routing", "tests.workers.jobfuncs.statement_timeout", job_timeout=3600)
        worker = _worker(config, prefix, "--burst", "routing")
        assert worker.wait(90) == 0
        assert stuck.get_status(refresh=True) == "failed"
        assert "canceling statement due to statement timeout" in stuck.latest_result().exc_string
        assert after.get_status(refresh=True) == "finished"
        assert after.return_value()["pid"] == worker.pid
        assert plain.return_value() == "2s"
        assert longer.return_value() == "1h"
    finally:
        for key in queues.redis.scan_iter(f"*{prefix}*"):
            queues.redis.delete(key)
