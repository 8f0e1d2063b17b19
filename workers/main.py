"""Worker entrypoint: build the app once, preload, then run an RQ worker or the cron scheduler.

    python -m workers.main worker [--burst] [QUEUE ...]
    python -m workers.main cron
"""
from __future__ import annotations

import argparse
import os
import time

from rq import Worker
from rq.serializers import JSONSerializer

from fieldreport import create_app
from fieldreport.extensions import db, queues
from fieldreport.queue import QUEUE_NAMES
from fieldreport.services import routing
from workers.schedule import PERIODIC


def preload(app) -> None:
    """Warm what jobs need so the first job is not slow (e.g. the routing index)."""
    hook = app.extensions.get("worker_preload")
    if hook:
        hook()


def run_worker(burst: bool, names: list[str]) -> None:
    app = create_app()
    app.extensions.setdefault("worker_preload", routing.preload)
    with app.app_context():
        preload(app)
        # A forked work horse must open its own DB connections.
        os.register_at_fork(after_in_child=db.dispose_after_fork)
        qs = [queues.get(n) for n in (names or QUEUE_NAMES)]
        worker = Worker(qs, connection=queues.redis, serializer=JSONSerializer)
        worker.work(burst=burst, with_scheduler=True)


def run_cron(stop_after: float | None = None) -> None:
    """Enqueue each periodic job once per interval across all hosts.

    rq's own cron pickles its jobs; ours use the JSON serializer, so this small loop
    enqueues through the one helper. A Redis SET NX per slot makes every host agree.
    """
    app = create_app()
    started = time.monotonic()
    with app.app_context():
        while stop_after is None or time.monotonic() - started < stop_after:
            now = int(time.time())
            for func, queue, interval in PERIODIC:
                slot = now // interval
                if queues.redis.set(f"{queues.prefix}:cron:{func}:{slot}", "1", nx=True, ex=interval * 2):
                    queues.enqueue(queue, func)
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="workers.main")
    parser.add_argument("mode", choices=["worker", "cron"])
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("queues", nargs="*")
    args = parser.parse_intermixed_args()  # `worker --burst routing` as the usage says
    if args.mode == "worker":
        run_worker(args.burst, args.queues)
    else:
        run_cron()


if __name__ == "__main__":
    main()
