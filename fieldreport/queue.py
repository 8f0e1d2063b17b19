"""The one way to enqueue background work: named queues on Redis with retry and TTL."""
from __future__ import annotations

from flask import Flask
from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

QUEUE_NAMES = ("routing", "media", "notify", "default")


class Queues:
    """Redis connection and the RQ queues; jobs take ids only (JSON serializer)."""

    def __init__(self) -> None:
        self.redis: Redis | None = None
        self.prefix = "fieldreport"
        self.timeout = 120
        self.retries = 5
        self.is_async = True

    def init_app(self, app: Flask) -> None:
        cfg = app.config
        self.redis = Redis.from_url(cfg["REDIS_URL"], socket_timeout=cfg["REDIS_TIMEOUT"],
                                    socket_connect_timeout=cfg["REDIS_TIMEOUT"],
                                    health_check_interval=30)
        self.prefix = cfg["QUEUE_PREFIX"]
        self.timeout = cfg["JOB_TIMEOUT"]
        self.retries = cfg["JOB_RETRIES"]
        app.extensions["queues"] = self

    def name(self, short: str) -> str:
        return f"{self.prefix}:{short}"

    def get(self, short: str) -> Queue:
        return Queue(self.name(short), connection=self.redis, serializer=JSONSerializer,
                     is_async=self.is_async)

    def all(self) -> list[Queue]:
        return [self.get(n) for n in QUEUE_NAMES]

    def enqueue(self, queue: str, func: str, *args, job_id: str | None = None, **kwargs):
        """Enqueue `func` (a dotted path under workers.jobs) with backoff retries.

        A job id makes a re-send of the same outbox row a no-op while the first is queued.
        """
        return self.get(queue).enqueue(
            func, *args, **kwargs,
            job_id=job_id,
            job_timeout=self.timeout,
            retry=Retry(max=self.retries, interval=[2, 10, 30, 120, 600]),
            result_ttl=3600,
            failure_ttl=30 * 24 * 3600,
            ttl=7 * 24 * 3600,
        )

    def ping(self) -> bool:
        return bool(self.redis.ping())
