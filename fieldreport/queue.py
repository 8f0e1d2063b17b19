"""The one way to enqueue background work: named queues on Redis with retry and TTL."""

from __future__ import annotations

from typing import NamedTuple

from flask import Flask
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.connection import Connection
from redis.exceptions import ConnectionError, RedisError, TimeoutError
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from fieldreport.breaker import Breaker

QUEUE_NAMES = ("routing", "media", "notify", "default")


class Job(NamedTuple):
    """A background job: the queue it goes to and the worker function (workers/jobs.py) that
    runs it, named here once. Call sites unpack it: outbox.record(*ROUTE_REPORT, report.id)."""

    queue: str
    func: str


ROUTE_REPORT = Job("routing", "workers.jobs.route_report")
MAKE_DERIVATIVES = Job("media", "workers.jobs.make_derivatives")
COLLECT_ORPHANS = Job("media", "workers.jobs.collect_orphans")
DELIVER_NOTIFICATION = Job("notify", "workers.jobs.deliver_notification")
ZALO_PROCESS = Job("notify", "workers.jobs.zalo_process")
ZALO_SEND = Job("notify", "workers.jobs.zalo_send")
INDICATORS_CALENDAR_CHANGED = Job("default", "workers.jobs.indicators_calendar_changed")
EXPORT_INDICATORS = Job("default", "workers.jobs.export_indicators")
PURGE_IDEMPOTENCY_KEYS = Job("default", "workers.jobs.purge_idempotency_keys")
SLA_SWEEP = Job("default", "workers.jobs.sla_sweep")
REFRESH_ROLLUPS = Job("default", "workers.jobs.refresh_rollups")
RETENTION_SWEEP = Job("default", "workers.jobs.retention_sweep")
JOBS = (
    ROUTE_REPORT,
    MAKE_DERIVATIVES,
    COLLECT_ORPHANS,
    DELIVER_NOTIFICATION,
    ZALO_PROCESS,
    ZALO_SEND,
    INDICATORS_CALENDAR_CHANGED,
    EXPORT_INDICATORS,
    PURGE_IDEMPOTENCY_KEYS,
    SLA_SWEEP,
    REFRESH_ROLLUPS,
    RETENTION_SWEEP,
)


class CircuitOpen(RedisError):
    """Redis failed several times in a row: refused at once for a while. A RedisError (so
    every caller that survives Redis being down survives this), but not a ConnectionError,
    so redis-py does not retry it."""


class _GuardedConnection(Connection):
    """A Redis connection behind the process's breaker: while open, a connect or a command
    fails at once instead of waiting REDIS_TIMEOUT (redis-py alone retried 10 times)."""

    breaker: Breaker = Breaker()  # replaced per app by Queues.init_app
    _inside = False  # the handshake's own commands run inside the connect already admitted

    def _guarded(self, fn, *args, **kwargs):
        if self._inside:
            return fn(*args, **kwargs)
        if not self.breaker.allow():
            raise CircuitOpen("Redis is unavailable (circuit open)")
        self._inside = True
        try:
            return fn(*args, **kwargs)
        except (ConnectionError, TimeoutError):
            self.breaker.failure()
            raise
        finally:
            self._inside = False

    def connect_check_health(self, *args, **kwargs):
        if self._sock:
            return None
        return self._guarded(super().connect_check_health, *args, **kwargs)

    def send_packed_command(self, command, check_health=True):
        return self._guarded(super().send_packed_command, command, check_health)

    def read_response(self, *args, **kwargs):
        try:
            response = super().read_response(*args, **kwargs)
        except (ConnectionError, TimeoutError):
            self.breaker.failure()
            raise
        except RedisError:  # the server answered (an error reply): it is up
            self.breaker.success()
            raise
        self.breaker.success()
        return response


class Queues:
    """Redis connection and the RQ queues; jobs take ids only (JSON serializer)."""

    def __init__(self) -> None:
        self._redis: Redis | None = None
        self.breaker = Breaker()
        self.prefix = "fieldreport"
        self.timeout = 120
        self.retries = 5
        self.is_async = True

    def init_app(self, app: Flask) -> None:
        cfg = app.config
        self.breaker = Breaker(cfg["BREAKER_FAILURES"], cfg["BREAKER_OPEN_SECONDS"])
        guarded = type("GuardedConnection", (_GuardedConnection,), {"breaker": self.breaker})
        # One quick retry for a dropped keep-alive connection, none after a timeout: a hung
        # server must not multiply the wait (the storage adapter does the same).
        self.redis = Redis.from_url(
            cfg["REDIS_URL"],
            socket_timeout=cfg["REDIS_TIMEOUT"],
            socket_connect_timeout=cfg["REDIS_TIMEOUT"],
            health_check_interval=30,
            connection_class=guarded,
            retry=RedisRetry(ExponentialBackoff(cap=0.2, base=0.05), 1, supported_errors=(ConnectionError,)),
        )
        self.prefix = cfg["QUEUE_PREFIX"]
        self.timeout = cfg["JOB_TIMEOUT"]
        self.retries = cfg["JOB_RETRIES"]
        app.extensions["queues"] = self

    @property
    def redis(self) -> Redis:
        """The connection create_app made (init_app); using it before is a programming error."""
        if self._redis is None:
            raise RuntimeError("Queues used before init_app")
        return self._redis

    @redis.setter
    def redis(self, connection: Redis) -> None:
        self._redis = connection

    @property
    def configured(self) -> bool:
        return self._redis is not None

    def name(self, short: str) -> str:
        return f"{self.prefix}:{short}"

    def get(self, short: str) -> Queue:
        return Queue(self.name(short), connection=self.redis, serializer=JSONSerializer, is_async=self.is_async)

    def all(self) -> list[Queue]:
        return [self.get(n) for n in QUEUE_NAMES]

    def enqueue(
        self, queue: str, func: str, *args, job_id: str | None = None, job_timeout: int | None = None, **kwargs
    ):
        """Enqueue `func` (a dotted path under workers.jobs) with backoff retries.

        A job id makes a re-send of the same outbox row a no-op while the first is queued.
        """
        return self.get(queue).enqueue(func, *args, **kwargs, **self._options(job_id, job_timeout))

    def enqueue_many(self, jobs: list[tuple[str, str, list, str]]) -> None:
        """Enqueue (queue, func, args, job id) jobs in one Redis round trip (a MULTI/EXEC
        pipeline: all of them or, when Redis fails, none), with enqueue()'s options."""
        with self.redis.pipeline() as pipe:
            for queue, func, args, job_id in jobs:
                self.get(queue).enqueue(func, *args, pipeline=pipe, **self._options(job_id, None))
            pipe.execute()

    def _options(self, job_id: str | None, job_timeout: int | None) -> dict:
        return dict(
            job_id=job_id,
            job_timeout=job_timeout or self.timeout,
            retry=Retry(max=self.retries, interval=[2, 10, 30, 120, 600]),
            result_ttl=3600,
            failure_ttl=30 * 24 * 3600,
            ttl=7 * 24 * 3600,
        )

    def ping(self) -> bool:
        return bool(self.redis.ping())
