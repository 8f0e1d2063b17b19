"""Operations endpoints: liveness, readiness of each dependency, Prometheus metrics."""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from flask import Blueprint, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import text

from fieldreport.errors import Forbidden, Unauthorized
from fieldreport.extensions import db, queues, storage

bp = Blueprint("ops", __name__)

REQUESTS = Counter("fieldreport_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram("fieldreport_http_request_seconds", "HTTP request latency", ["endpoint"])


@bp.before_app_request
def _start_timer():
    g._t0 = time.perf_counter()


@bp.after_app_request
def _observe(resp):
    endpoint = request.endpoint or "unknown"
    REQUESTS.labels(request.method, endpoint, resp.status_code).inc()
    if hasattr(g, "_t0"):
        LATENCY.labels(endpoint).observe(time.perf_counter() - g._t0)
    return resp


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _check_db() -> None:
    db.session.execute(text("SELECT postgis_lib_version()")).scalar_one()


def _check_redis() -> None:
    queues.ping()


_probe = {"ok_until": 0.0}
PROBE_SECONDS = 10.0  # a write per readiness check would be a write per balancer poll


def _check_storage() -> None:
    """The bucket exists and accepts a write (a full disk answers every upload with 503)."""
    if not storage.ping():
        raise RuntimeError("bucket missing")
    now = time.monotonic()
    if now < _probe["ok_until"]:
        return
    storage.probe_write()
    _probe["ok_until"] = now + PROBE_SECONDS


def replica_lag() -> str | None:
    """How far the read replica is behind ("0.4s"), or None with no replica configured."""
    if db.read_engine is None:
        return None
    with db.read_engine.connect() as conn:
        standby, lag = conn.execute(
            text(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = "
                "pg_last_wal_replay_lsn() THEN 0 ELSE EXTRACT(EPOCH FROM now() - "
                "pg_last_xact_replay_timestamp()) END"
            )
        ).one()
    if not standby:
        return "not a standby"
    return "no transaction replayed yet" if lag is None else f"{float(lag):.1f}s"


def breakers() -> dict:
    """Each dependency's circuit breaker in this process: closed, open or half-open."""
    return {
        "database": db.breaker.describe(),
        "redis": queues.breaker.describe(),
        "storage": storage.breaker.describe(),
    }


# Parts whose outage degrades the service without stopping it: with Redis down reports are still
# saved (rate limits let them through, jobs wait in the outbox), and Redis is shared by every
# API host, so a 503 would only take all of them out of the balancer at once.
DEGRADING = frozenset({"redis"})


@bp.get("/readyz")
def readyz():
    checks, down = {}, []
    try:  # reported, not a reason to leave the balancer: reads may lag, writes go to the primary
        lag = replica_lag()
        if lag is not None:
            checks["replica_lag"] = lag
    except Exception as exc:  # noqa: BLE001
        checks["replica_lag"] = f"down: {type(exc).__name__}"
    degraded = []
    for name, fn in (("database", _check_db), ("redis", _check_redis), ("storage", _check_storage)):
        try:
            fn()
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 (report every part, not just the first failure)
            checks[name] = f"down: {type(exc).__name__}"
            (degraded if name in DEGRADING else down).append(name)
    if down:
        db.session.rollback()
        resp = jsonify(status="unavailable", down=down + degraded, checks=checks, breakers=breakers())
        resp.status_code = 503
        resp.headers["Retry-After"] = "10"
        return resp
    if degraded:
        return jsonify(status="degraded", degraded=degraded, checks=checks, breakers=breakers())
    return jsonify(status="ok", checks=checks, breakers=breakers())


@bp.get("/metrics")
def metrics():
    """Prometheus metrics: with METRICS_TOKEN set, for `Authorization: Bearer <token>` only;
    without it, for scrapers on this host only (loopback), never for the public internet."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    if token:
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
            raise Unauthorized(
                "metrics_token",
                "The metrics need the scrape token (Bearer).",
                "Cần mã truy cập để đọc số liệu vận hành (Bearer).",
            )
    elif not _loopback(request.remote_addr):
        raise Forbidden(
            "metrics_internal",
            "Metrics are served to this host only; set FIELDREPORT_METRICS_TOKEN to scrape from elsewhere.",
            "Số liệu vận hành chỉ phục vụ trong máy chủ; đặt FIELDREPORT_METRICS_TOKEN để đọc từ nơi khác.",
        )
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def _loopback(addr: str | None) -> bool:
    try:
        return ipaddress.ip_address(addr or "").is_loopback
    except ValueError:
        return False


def _registry() -> CollectorRegistry:
    """Under gunicorn (config/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR) the sum of every
    worker's samples; in a single process (flask run, tests) this process's registry."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
