"""Periodic jobs for `rq cron` (started by `python -m workers.main cron`)."""
from __future__ import annotations

# (dotted function, queue short name, interval in seconds)
PERIODIC = [
    ("workers.jobs.sweep_outbox", "default", 30),
]
