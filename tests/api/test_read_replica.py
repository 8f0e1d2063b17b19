"""DATABASE_READ_URL: lag-tolerant reads go to the read engine, everything else to the primary."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import text

from fieldreport.extensions import db


@pytest.fixture()
def replica_app(app, config):
    """A second app whose read URL is the same database through a read-only session: reads
    that reach it work, a write that reached it would fail, so routing shows in the answers."""
    from fieldreport import create_app

    cfg = copy.copy(config)
    sep = "&" if "?" in cfg.DATABASE_URL else "?"
    cfg.DATABASE_READ_URL = (
        cfg.DATABASE_URL + sep + "application_name=fr_replica&options=-c%20default_transaction_read_only%3Don"
    )
    saved = (db.engine, db.read_engine)
    replica = create_app(cfg)
    yield replica
    for engine in (db.engine, db.read_engine):
        engine.dispose()
    db.engine, db.read_engine = saved  # the session app's engines again
    from fieldreport.extensions import _RoutingSession

    _RoutingSession.replica = saved[1]
    db._factory.configure(bind=saved[0])


def _replica_connections() -> int:
    return db.read_engine.pool.checkedin() + db.read_engine.pool.checkedout()


def test_public_lists_read_the_replica_and_a_fresh_report_reads_the_primary(replica_app, demo):
    c = replica_app.test_client()
    assert _replica_connections() == 0
    assert c.get("/api/v1/categories").status_code == 200
    assert c.get("/open311/v2/services.json").status_code == 200
    used = _replica_connections()
    assert used >= 1  # the lag-tolerant reads went to the read engine
    # A submission (a write) and the citizen's view of it right after go to the primary:
    resp = c.post(
        "/api/v1/reports", json={"category": "street_light", "lat": 12.667, "lon": 108.038, "description": "Đèn hỏng"}
    )
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["code"]
    assert c.get(f"/api/v1/reports/{code}").status_code == 200
    with db.engine.connect() as conn:  # clean up what this test committed
        rid = conn.execute(text("SELECT id FROM reports WHERE code = :c"), {"c": code}).scalar()
        for table in ("notifications", "outbox", "events", "photos", "followers"):
            col = "report_id" if table != "outbox" else None
            if col:
                conn.execute(text(f"DELETE FROM {table} WHERE report_id = :r"), {"r": rid})
        conn.execute(text("DELETE FROM reports WHERE id = :r"), {"r": rid})
        conn.commit()


def test_readyz_reports_that_the_read_url_is_not_a_standby(replica_app):
    body = replica_app.test_client().get("/readyz").get_json()
    assert body["checks"]["replica_lag"] == "not a standby"
