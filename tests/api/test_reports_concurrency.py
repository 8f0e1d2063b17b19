"""Two identical submissions at the same moment on two servers make one report.

Runs against the committed database (not the rolled-back test session): two WSGI servers in
threads, each request on its own DB connection, so only PostgreSQL can decide. Cleans up after.
"""

from __future__ import annotations

import threading
import uuid

import pytest
import urllib3
from sqlalchemy import text
from werkzeug.serving import make_server

from fieldreport.extensions import db, queues
from tests.api.intake_helpers import BMT, image

ROUNDS = 6


@pytest.fixture()
def servers(app, redis_clean):
    """Two API servers on free ports sharing nothing but PostgreSQL, Redis and the bucket."""
    queues.is_async = True  # jobs wait in Redis: this test is about the request, not the router
    started = [make_server("127.0.0.1", 0, app, threaded=True) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in started]
    for t in threads:
        t.start()
    yield [f"http://127.0.0.1:{s.server_port}" for s in started]
    for s in started:
        s.shutdown()
    queues.is_async = False
    redis_clean.flushdb()


def _purge(report_ids: list[int], keys: list[str], outbox_after: int) -> None:
    """Delete committed test reports and whatever rows point at them (other features add some)."""
    with db.engine.begin() as conn:
        refs = conn.execute(
            text(
                "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text "
                "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "WHERE c.contype = 'f' AND c.confrelid::regclass::text IN ('reports', 'events', 'photos')"
            )
        ).all()
        ids = {"ids": report_ids}
        for parent, sub in (
            ("photos", "SELECT id FROM photos WHERE report_id = ANY(:ids)"),
            ("events", "SELECT id FROM events WHERE report_id = ANY(:ids)"),
        ):
            for table, column, target in refs:
                if target == parent and table not in ("reports", "events", "photos"):
                    conn.execute(text(f'DELETE FROM {table} WHERE "{column}" IN ({sub})'), ids)
        for table, column, target in refs:
            if target == "reports" and table != "reports":
                conn.execute(text(f'DELETE FROM {table} WHERE "{column}" = ANY(:ids)'), ids)
        # This database is this test session's own: every outbox row since the start is ours.
        conn.execute(text("DELETE FROM outbox WHERE id > :after"), {"after": outbox_after})
        conn.execute(text("DELETE FROM reports WHERE id = ANY(:ids)"), ids)
        conn.execute(text("DELETE FROM idempotency_keys WHERE key = ANY(:keys)"), {"keys": keys})


def test_simultaneous_identical_requests_on_two_servers_make_one_report(servers):
    http = urllib3.PoolManager(maxsize=4)
    keys = [f"race-{uuid.uuid4()}" for _ in range(ROUNDS)]
    report_ids: list[int] = []
    with db.engine.connect() as conn:
        outbox_after = conn.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar()
    try:
        for key in keys:
            fields = {
                "category": "street_light",
                "lat": str(BMT[0]),
                "lon": str(BMT[1]),
                "description": key,
                "photos": ("p.jpg", image(size=(1600, 1200)), "image/jpeg"),
            }
            barrier, answers = threading.Barrier(2), [None, None]

            def post(i):
                barrier.wait()
                answers[i] = http.request(
                    "POST", f"{servers[i]}/api/v1/reports", fields=fields, headers={"Idempotency-Key": key}, timeout=60
                )

            threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert [a.status for a in answers] == [201, 201], [a.data for a in answers]
            bodies = [a.json() for a in answers]
            assert bodies[0] == bodies[1]  # same code, same token
            assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
            with db.engine.connect() as conn:
                rows = conn.execute(text("SELECT id, code FROM reports WHERE description = :k"), {"k": key}).all()
                photos = conn.execute(
                    text("SELECT count(*) FROM photos WHERE report_id = ANY(:ids)"), {"ids": [r.id for r in rows]}
                ).scalar()
            report_ids += [r.id for r in rows]
            assert [r.code for r in rows] == [bodies[0]["code"]] and photos == 1
    finally:
        _purge(report_ids, keys, outbox_after)
