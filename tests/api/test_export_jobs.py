"""Large exports kept in the database: the status reads the row, the rescue re-sends the lost.

Jobs run inline here; tests/faults/test_faults.py kills a real worker mid-export.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fieldreport.extensions import db, storage
from fieldreport.models import Export, User
from fieldreport.models.base import utcnow
from fieldreport.services import rescue
from fieldreport.services.indicators import export_jobs
from tests import factories as f

PARAMS = {
    "period": "month",
    "from": None,
    "to": None,
    "group_by": "unit",
    "detail": "groups",
    "visible": None,
    "lang": "en",
    "format": "csv",
}


def _row(username: str, **fields) -> Export:
    user = db.session.scalar(select(User).where(User.username == username))
    row = Export(id="export-" + fields.pop("suffix"), user_id=user.id, params=PARAMS, format="csv", **fields)
    db.session.add(row)
    db.session.commit()
    return row


def test_unknown_or_malformed_export_id_is_404_never_500(client, db_session):
    h = f.bearer(db_session, "admin")
    for export_id in ("export-nope", "x" * 300, "export-" + "0" * 32):
        r = client.get(f"/api/v1/indicators/exports/{export_id}", headers=h)
        assert r.status_code == 404, (export_id, r.status_code)
        assert r.json["code"] == "export_not_found"


def test_export_started_by_a_worker_that_died_is_rescued_and_finishes(client, db_session):
    stale = utcnow() - timedelta(minutes=10)
    _row("supervisor", suffix="killed", state="started", attempts=1, heartbeat_at=stale)
    _row("supervisor", suffix="lost", state="queued", attempts=0, heartbeat_at=stale)  # Redis lost it
    _row("supervisor", suffix="alive", state="started", attempts=1, heartbeat_at=utcnow())
    _row("supervisor", suffix="hopeless", state="started", attempts=export_jobs.MAX_ATTEMPTS, heartbeat_at=stale)
    assert rescue.requeue_exports() == 2  # jobs run inline: both written now
    h = f.bearer(db_session, "supervisor")
    for suffix in ("killed", "lost"):
        body = client.get(f"/api/v1/indicators/exports/export-{suffix}", headers=h).json
        assert body["status"] == "finished" and body["progress"] == 1.0, body
        assert body["download_url"]
        row = db.session.get(Export, f"export-{suffix}")
        assert row.key == f"exports/export-{suffix}.csv" and storage.exists(row.key)
        assert row.attempts == (2 if suffix == "killed" else 1)
    alive = client.get("/api/v1/indicators/exports/export-alive", headers=h).json
    assert alive["status"] == "started"  # its worker is still beating: left alone
    hopeless = client.get("/api/v1/indicators/exports/export-hopeless", headers=h).json
    assert hopeless["status"] == "failed" and hopeless["error"] == "export_failed"
    assert db.session.get(Export, "export-hopeless").last_error == "worker lost"
    assert rescue.requeue_exports() == 0  # nothing left to rescue


def test_a_job_sent_twice_runs_once(client, db_session):
    _row("supervisor", suffix="twice", state="queued", attempts=0, heartbeat_at=utcnow())
    assert export_jobs.run("export-twice")["key"] == "exports/export-twice.csv"
    assert export_jobs.run("export-twice") == {"skipped": "export-twice"}
    assert db.session.get(Export, "export-twice").attempts == 1


def test_someone_elses_export_is_403(client, db_session):
    _row("supervisor", suffix="mine", state="queued", attempts=0, heartbeat_at=utcnow())
    r = client.get("/api/v1/indicators/exports/export-mine", headers=f.bearer(db_session, "bmt.staff"))
    assert r.status_code == 403
