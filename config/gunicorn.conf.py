"""gunicorn settings; each value can be overridden on the command line."""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
graceful_timeout = 20
# Behind a load balancer: keep idle client connections open longer than the balancer does
# (HAProxy `timeout http-keep-alive`, cloud balancers 60 s), so the server never closes a
# connection at the moment a client sends on it (2 s here reset ~5% of posts made every 2.5 s).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
worker_class = "gthread"  # threads serve keep-alive connections; sync workers cannot
accesslog = "-"
preload_app = False  # each worker opens its own DB pool and Redis connection
