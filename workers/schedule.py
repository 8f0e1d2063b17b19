"""Periodic jobs, enqueued once per interval across hosts by `python -m workers.main cron`."""
from __future__ import annotations

# (dotted function, queue short name, interval in seconds)
PERIODIC = [
    ("workers.jobs.sweep_outbox", "default", 30),
    ("workers.jobs.requeue_unrouted", "routing", 60),
    ("workers.jobs.collect_orphans", "media", 3600),
    ("workers.jobs.purge_idempotency_keys", "default", 24 * 3600),
    ("workers.jobs.sla_sweep", "default", 300),
    ("workers.jobs.refresh_rollups", "default", 60),
]
