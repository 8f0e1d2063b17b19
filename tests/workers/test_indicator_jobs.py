"""Indicator jobs as a worker runs them: a real RQ worker process, its own connection and commit."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select

from fieldreport.extensions import db, queues
from fieldreport.models import Event, IndicatorDirty, IndicatorFact
from fieldreport.services.indicators import rollups
from fieldreport.worktime import TZ
from tests import factories as f
from tests.workers.test_routing_jobs import _worker


def test_a_calendar_edit_job_queues_its_reports_in_a_worker(app, config, monkeypatch):
    """The calendar-change job must commit: run inline it hid that it never did."""
    prefix = f"i17cal-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        report = f.make_report(db.session, "street_light", *f.BMT)
        unit = f.unit(db.session, "UBND-24133").id
        db.session.execute(
            insert(Event),
            [
                {
                    "report_id": report.id,
                    "at": datetime(2026, 3, 9, 9, tzinfo=TZ),
                    "type": "assigned",
                    "actor": "system:router",
                    "from_status": "submitted",
                    "to_status": "assigned",
                    "to_unit_id": unit,
                    "public": True,
                    "data": {},
                }
            ],
        )
        db.session.commit()
        report_id = report.id
        rollups.refresh()  # commits: the fact exists, the queue is empty
        db.session.execute(delete(IndicatorDirty).where(IndicatorDirty.report_id == report_id))
        db.session.commit()
        db.session.remove()
    monkeypatch.setattr(queues, "prefix", prefix)
    monkeypatch.setattr(queues, "is_async", True)
    try:
        queues.enqueue("default", "workers.jobs.indicators_calendar_changed", date(2026, 3, 10).isoformat())
        worker = _worker(config, prefix, "--burst", "default")
        assert worker.wait(120) == 0
        with db.engine.connect() as conn:  # what any other process sees now
            queued = conn.execute(
                select(func.count()).select_from(IndicatorDirty).where(IndicatorDirty.report_id == report_id)
            ).scalar()
        assert queued == 1
    finally:
        for key in queues.redis.scan_iter(f"*{prefix}*"):
            queues.redis.delete(key)
        with app.app_context():  # the events go, then a refresh takes the fact out of the rollups
            f.purge_reports(db.session, [report_id])
            db.session.add(IndicatorDirty(report_id=report_id))
            db.session.commit()
            rollups.refresh()
            assert (
                db.session.scalar(
                    select(func.count()).select_from(IndicatorFact).where(IndicatorFact.report_id == report_id)
                )
                == 0
            )
            db.session.remove()
