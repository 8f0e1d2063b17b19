"""gunicorn settings; each value can be overridden on the command line."""

import os
import shutil
import tempfile

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Refusals gunicorn makes itself (414, 431) answer application/problem+json like the app.
worker_class = "config.gunicorn_worker.ProblemWorker"
# gunicorn's largest bounded request line (the default is 4094): the API's longest URLs fit,
# e.g. Open311's service_request_id list of MAX_IDS tracking codes.
limit_request_line = 8190
timeout = 60
graceful_timeout = 20
# Behind a load balancer: keep idle client connections open longer than the balancer does
# (HAProxy `timeout http-keep-alive`, cloud balancers 60 s), so the server never closes a
# connection at the moment a client sends on it (2 s here reset ~5% of posts made every 2.5 s).
# ProblemWorker is a gthread worker, which serves keep-alive connections.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
accesslog = "-"
logger_class = "config.gunicorn_logger.ScrubbingLogger"  # no token, key or code in logged URLs
preload_app = False  # each worker opens its own DB pool and Redis connection


# Prometheus multiprocess mode: each worker writes its samples to files in this directory and
# /metrics sums them, so a scrape counts every worker's requests, not those of the one worker
# that answered it. Set here, before any worker imports prometheus_client (preload_app is off);
# one directory per gunicorn (its port), emptied when the arbiter starts (a previous run's
# files would be summed too).
metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"fieldreport-prometheus-{os.environ.get('PORT', '8000')}"),
)


def on_starting(server):
    """Before any worker: refuse to serve outside demo mode while demo accounts keep their demo
    password (the RQ worker and the periodic process make the same check), then empty the
    metrics directory. (One hook: gunicorn keeps only the last
    `on_starting` a config file defines, and a second one silently dropped the first.)"""
    from config.settings import Config
    from fieldreport.deploy import refuse_demo_passwords

    refuse_demo_passwords(Config())
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)


def child_exit(server, worker):
    """A dead worker's counters stay in the sum; its live gauges are dropped."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_dir)
