"""Periodic work: rescues run by the periodic process itself, and jobs it enqueues.

Both run once per interval across hosts (`python -m workers.main cron`, a Redis SET NX per
slot). Rescues never go through a queue: they must not wait behind a backlog of bulk jobs.
"""

from __future__ import annotations

from fieldreport import queue as jobs
from fieldreport.services import rescue

# (function, interval in seconds): run inline by the periodic process
RESCUES = [
    (rescue.sweep_outbox, 5),
    (rescue.requeue_unrouted, 10),
    (rescue.requeue_derivatives, 10),
    (rescue.requeue_notifications, 30),
    (rescue.requeue_exports, 10),
]

# (dotted function, queue short name, interval in seconds): enqueued
PERIODIC = [
    (job.func, job.queue, interval)
    for job, interval in (
        (jobs.COLLECT_ORPHANS, 3600),
        (jobs.PURGE_IDEMPOTENCY_KEYS, 24 * 3600),
        (jobs.SLA_SWEEP, 300),
        (jobs.REFRESH_ROLLUPS, 60),
        (jobs.RETENTION_SWEEP, 24 * 3600),
    )
]
