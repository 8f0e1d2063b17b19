"""The failed-jobs list for admins: RQ's FailedJobRegistry of every queue, with the reason."""

from __future__ import annotations

from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from fieldreport.extensions import queues
from fieldreport.queue import QUEUE_NAMES


def failed_jobs(limit: int = 100) -> list[dict]:
    """The most recent failures first (up to `limit` per queue)."""
    out = []
    for short in QUEUE_NAMES:
        queue = queues.get(short)
        registry = FailedJobRegistry(queue=queue)
        ids = registry.get_job_ids(0, limit - 1, desc=True)
        for job in Job.fetch_many(ids, connection=queues.redis, serializer=JSONSerializer):
            if job is None:  # expired between the two reads
                continue
            result = job.latest_result()
            out.append(
                {
                    "id": job.id,
                    "queue": short,
                    "func": job.func_name,
                    "args": list(job.args),
                    "enqueued_at": job.enqueued_at,
                    "ended_at": job.ended_at,
                    "exc_info": result.exc_string if result is not None else None,
                }
            )
    out.sort(key=lambda j: (j["ended_at"] is not None, j["ended_at"]), reverse=True)
    return out
