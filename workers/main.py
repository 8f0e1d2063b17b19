"""Worker entrypoint: build the app once, preload, then run an RQ worker or the cron scheduler.

    python -m workers.main worker [--burst] [QUEUE ...]
    python -m workers.main cron

Both ride out outages of Redis and the database: they wait with back-off, log once per
outage, and carry on when the service is back (a supervisor restarts what still dies).

A worker runs its jobs in its own process, one after another (JobWorker: RQ's SimpleWorker,
no fork per job), each job in a fresh app context. Chosen by measurement (bench/routing.py,
`make bench`): forking a work horse per job cost more than the routing job itself. A job
that raises is failed or retried by RQ as before; one that kills the process (a crash, the
OOM killer) takes the worker with it: the supervisor (systemd, `make run`) starts it again
and RQ's maintenance re-queues the abandoned job (as after a killed host). Several workers
per host (one per core) give the parallelism the fork used to give.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import time
from contextvars import ContextVar

from flask import Flask
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, OperationalError

from config.settings import Config
from fieldreport import create_app
from fieldreport.deploy import refuse_demo_passwords
from fieldreport.extensions import db, queues
from fieldreport.queue import QUEUE_NAMES
from fieldreport.services import routing
from workers.schedule import PERIODIC, RESCUES

log = logging.getLogger("fieldreport.workers")
OUTAGE_ERRORS = (RedisError, OperationalError, DBAPIError, ConnectionError, OSError)


class Outage:
    """Back-off while a dependency is down; one log line when it starts, one when it ends."""

    def __init__(self, what: str, first: float = 0.5, most: float = 10.0) -> None:
        self.what, self.first, self.most = what, first, most
        self.since: float | None = None
        self.delay = first

    def failed(self, exc: BaseException) -> float:
        if self.since is None:
            self.since = time.monotonic()
            log.warning("%s: %s (%s); retrying with back-off", self.what, type(exc).__name__, exc)
        delay, self.delay = self.delay, min(self.delay * 2, self.most)
        return delay

    def over(self) -> None:
        if self.since is not None:
            log.warning("%s: recovered after %.1fs", self.what, time.monotonic() - self.since)
        self.since, self.delay = None, self.first


def preload(app) -> None:
    """Warm what jobs need so the first job is not slow (e.g. the routing index)."""
    hook = app.extensions.get("worker_preload")
    if hook:
        hook()


# A job enqueued with a longer timeout than JOB_TIMEOUT (an export: 3600 s) has that limit
# set in each of its transactions; None for every other job (no extra round trip).
_longer_statements: ContextVar[int | None] = ContextVar("longer_statements", default=None)


@sa_event.listens_for(db.session, "after_begin")
def _statement_limit(session, transaction, connection) -> None:
    seconds = _longer_statements.get()
    if seconds:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {seconds * 1000}")


class JobWorker(SimpleWorker):
    """Each job in this process, in its own app context: per-job state (flask.g, e.g. the
    working calendar; the database session) never reaches the next job."""

    app: Flask | None = None  # set by run_worker

    def execute_job(self, job, queue):
        with self.app.app_context():
            cfg = self.app.config
            longer = cfg["DB_STATEMENT_TIMEOUT"] and (job.timeout or 0) > cfg["JOB_TIMEOUT"]
            token = _longer_statements.set(int(job.timeout) if longer else None)
            try:
                super().execute_job(job, queue)
            finally:
                _longer_statements.reset(token)


class _Stop:
    """SIGTERM/SIGINT seen by the supervising loop (RQ handles them inside work())."""

    requested = False


def run_worker(burst: bool, names: list[str], fork_per_job: bool = False) -> None:
    """`fork_per_job`: RQ's forking Worker instead of JobWorker (kept to compare, bench/routing.py)."""
    cfg = Config()
    # A statement never outlives the job's timeout: RQ's timeout is a signal, which cannot
    # interrupt an in-process job waiting on PostgreSQL; the statement_timeout does, and the
    # job fails (and is retried) like any other error.
    cfg.DB_STATEMENT_TIMEOUT = cfg.DB_STATEMENT_TIMEOUT or cfg.JOB_TIMEOUT
    app = create_app(cfg)
    JobWorker.app = app
    worker_class = Worker if fork_per_job else JobWorker
    app.extensions.setdefault("worker_preload", routing.preload)
    outage = Outage("worker")
    _own_signals()
    with app.app_context():
        # A forked work horse (fork_per_job) must open its own DB connections.
        os.register_at_fork(after_in_child=db.dispose_after_fork)
        while not _Stop.requested:
            try:
                preload(app)
                qs = [queues.get(n) for n in (names or QUEUE_NAMES)]
                worker = worker_class(qs, connection=queues.redis, serializer=JSONSerializer)
                queues.redis.ping()
            except OUTAGE_ERRORS as exc:
                db.session.rollback()
                time.sleep(outage.failed(exc))
                continue
            outage.over()
            try:
                worker.work(burst=burst, with_scheduler=True)
            except OUTAGE_ERRORS as exc:  # raised outside RQ's own loop (e.g. at teardown)
                time.sleep(outage.failed(exc))
            # RQ's loop returns on a stop request, in burst mode, or when Redis broke under it.
            _own_signals()  # RQ installed its handlers for the loop; stopping is ours again
            if burst or worker._shutdown_requested_date is not None:  # a warm shutdown
                return
            time.sleep(outage.failed(RedisError("worker loop ended")))


def promote_scheduled(scheduler: RQScheduler) -> None:
    """Move due retries to their queues when this process holds the scheduler lock.

    Workers only re-try RQ's lock every 10 minutes, so after a worker holding it was killed,
    retries due at once waited 8–11 minutes. The periodic process tries every tick: the lock
    (61 s) of a dead holder is picked up within a second of expiring.
    """
    if scheduler.acquire_locks():
        scheduler.enqueue_scheduled_jobs()


def claim(name: str, now: int, interval: int) -> bool:
    """True for exactly one process across hosts per (periodic work, interval slot).

    The run is also written to a short list in Redis, so a multi-host test (and an operator)
    can check that nothing ran twice in one interval.
    """
    slot = now // interval
    if not queues.redis.set(f"{queues.prefix}:cron:{name}:{slot}", "1", nx=True, ex=interval * 2):
        return False
    with queues.redis.pipeline() as pipe:
        pipe.lpush(f"{queues.prefix}:cron:ran", f"{name}:{slot}")
        pipe.ltrim(f"{queues.prefix}:cron:ran", 0, 4999)
        pipe.execute()
    return True


def tick(now: int, scheduler: RQScheduler) -> list[str]:
    """One pass of the periodic process; returns what it ran (for logs and tests)."""
    ran = []
    for fn, interval in RESCUES:
        name = f"{fn.__module__}.{fn.__name__}"
        if claim(name, now, interval):
            fn()
            ran.append(name)
    for func, queue, interval in PERIODIC:
        if claim(func, now, interval):
            queues.enqueue(queue, func)
            ran.append(func)
    promote_scheduled(scheduler)
    return ran


def run_cron(stop_after: float | None = None) -> None:
    """Run the rescues and enqueue each periodic job once per interval across all hosts.

    rq's own cron pickles its jobs; ours use the JSON serializer, so this small loop
    enqueues through the one helper. A Redis SET NX per slot makes every host agree.
    """
    app = create_app()
    started = time.monotonic()
    outage = Outage("cron")
    with app.app_context():
        scheduler = RQScheduler(
            [queues.name(n) for n in QUEUE_NAMES], connection=queues.redis, serializer=JSONSerializer
        )
        try:
            while not _Stop.requested and (stop_after is None or time.monotonic() - started < stop_after):
                try:
                    tick(int(time.time()), scheduler)
                except OUTAGE_ERRORS as exc:
                    _rollback()
                    time.sleep(outage.failed(exc))
                    continue
                outage.over()
                time.sleep(1)
        finally:
            try:
                scheduler.release_locks()
            except OUTAGE_ERRORS:
                pass


def _rollback() -> None:
    try:
        db.session.rollback()
    except OUTAGE_ERRORS:
        db.session.remove()


def _stop(signum, frame) -> None:
    _Stop.requested = True


def _own_signals() -> None:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def main() -> None:
    parser = argparse.ArgumentParser(prog="workers.main")
    parser.add_argument("mode", choices=["worker", "cron"])
    parser.add_argument("--burst", action="store_true")
    parser.add_argument(
        "--fork-per-job",
        action="store_true",
        help="RQ's forking Worker (a work horse per job) instead of JobWorker; for comparison",
    )
    parser.add_argument("queues", nargs="*")
    args = parser.parse_intermixed_args()  # `worker --burst routing` as the usage says
    # Outside demo mode, no job runs while a demo account keeps its well-known password
    # (the API server makes the same check before it serves).
    refuse_demo_passwords(Config())
    if args.mode == "worker":
        run_worker(args.burst, args.queues, args.fork_per_job)
    else:
        _own_signals()
        run_cron()


if __name__ == "__main__":
    main()
