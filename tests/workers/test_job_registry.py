"""One registry of jobs (fieldreport/queue.py): each names its queue and a worker function that
exists, and no other module spells a job's dotted name."""

from __future__ import annotations

import importlib
import re

from fieldreport import queue
from tests.conftest import ROOT


def test_every_registered_job_runs_a_worker_function_on_a_known_queue():
    for job in queue.JOBS:
        module, _, name = job.func.rpartition(".")
        assert module == "workers.jobs" and callable(getattr(importlib.import_module(module), name)), job
        assert job.queue in queue.QUEUE_NAMES, job
    assert len({job.func for job in queue.JOBS}) == len(queue.JOBS)


def test_no_module_spells_a_job_name_but_the_registry():
    spelled = []
    for path in [*(ROOT / "fieldreport").rglob("*.py"), *(ROOT / "workers").rglob("*.py")]:
        if path == ROOT / "fieldreport" / "queue.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"""["']workers\.jobs\.\w+["']""", line):
                spelled.append(f"{path.relative_to(ROOT)}:{n}")
    assert spelled == []
