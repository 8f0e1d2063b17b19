"""Job functions: take ids, run inside the worker's app context, call one service each."""

from __future__ import annotations

from datetime import date

from fieldreport.services import erasure, idempotency, notify, outbox, photos, routing, sla, workflow, zalo
from fieldreport.services.indicators import export_jobs, rollups


def noop() -> None:
    """Does nothing: the floor that job benchmarks are measured against."""


def sweep_outbox() -> int:
    return outbox.sweep()


def make_derivatives(photo_id: int) -> str:
    """Public display/thumbnail copies of one photo (queue "media")."""
    return photos.make_derivatives(photo_id)


def collect_orphans() -> dict:
    """Remove bucket objects no row refers to (failed requests, unused uploads)."""
    return photos.collect_orphans()


def purge_idempotency_keys() -> int:
    """Forget idempotency keys older than clients retry with (periodic)."""
    return idempotency.purge()


def retention_sweep() -> int:
    """Anonymise reports finished more than RETENTION_MONTHS ago (periodic, daily)."""
    return erasure.retention_sweep()


def route_report(report_id: int) -> str:
    """Decide the responsible unit of a new or reopened report (queue "routing")."""
    return routing.route_report(report_id)


def requeue_unrouted(older_than_seconds: int = 120) -> int:
    """Re-send routing jobs of reports still waiting (a lost job, a killed worker)."""
    return routing.requeue_unrouted(older_than_seconds)


def deliver_notification(notification_id: int) -> str:
    """Send one notification through its channel (queue "notify"); raises to be retried."""
    return notify.deliver(notification_id)


def sla_sweep() -> dict:
    """Warn before the due, mark overdue, escalate, ask for an apology (periodic)."""
    return sla.sweep()


def refresh_rollups() -> int:
    """Recompute indicator facts and rollups of the reports touched by new events (periodic)."""
    return rollups.refresh()


def indicators_calendar_changed(day: str) -> int:
    """After an admin edited the calendar on `day`: move the running reports' dues (by their
    province's calendar), then queue the reports whose indicators may move."""
    workflow.calendar_changed(date.fromisoformat(day))
    return rollups.mark_calendar_change(date.fromisoformat(day))


def export_indicators(export_id: str, params: dict | None = None) -> dict:
    """Write a large indicators export to object storage (queue default). `params` is read
    from the export's row; the argument is accepted from jobs queued before it was."""
    return export_jobs.run(export_id)


def zalo_process(message_id: int) -> str:
    """Apply one stored Zalo OA message to its conversation (queue "notify")."""
    return zalo.process(message_id)


def zalo_send(user_id: str, text: str) -> str:
    """Send one reply through the Zalo OA API (queue "notify"); raises to be retried."""
    return zalo.send(user_id, text)
