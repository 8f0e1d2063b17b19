"""Periodic work: rescues run by the periodic process itself, and jobs it enqueues.

Both run once per interval across hosts (`python -m workers.main cron`, a Redis SET NX per
slot). Rescues never go through a queue: they must not wait behind a backlog of bulk jobs.
"""
from __future__ import annotations

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
    ("workers.jobs.collect_orphans", "media", 3600),
    ("workers.jobs.purge_idempotency_keys", "default", 24 * 3600),
    ("workers.jobs.sla_sweep", "default", 300),
    ("workers.jobs.refresh_rollups", "default", 60),
    ("workers.jobs.retention_sweep", "default", 24 * 3600),
]
