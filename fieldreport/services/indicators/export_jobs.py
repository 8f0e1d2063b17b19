"""Large exports as jobs: the request, its state and its file in the database, the work in a
worker, and a periodic rescue for the ones a killed worker or a lost job left behind.

States: queued → started → finished, or failed after MAX_ATTEMPTS. A worker claims a queued
row with one UPDATE, so a job sent twice (a retry, a rescue) runs once. While it writes, a
heartbeat thread records its progress and a sign of life every few seconds; a started row
whose heartbeat stopped for RESCUE_AFTER_SECONDS lost its worker and is queued again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import func, select, update

from fieldreport import queue as jobs
from fieldreport.errors import Forbidden, NotFound
from fieldreport.extensions import db, queues, storage
from fieldreport.models import Export, ExportState, Role
from fieldreport.models.base import utcnow
from fieldreport.services import uow
from fieldreport.services.indicators import exports
from fieldreport.services.indicators import table as indicators

log = logging.getLogger(__name__)

JOB_TIMEOUT = 3600
MAX_ATTEMPTS = 3
HORIZON = timedelta(days=2)  # older work that is still undone needs a person, not a loop
PENDING = (ExportState.QUEUED, ExportState.STARTED)


def start(params: dict, user) -> dict:
    """Record a large export and send its job; returns its status (its id is public)."""
    export_id = "export-" + uuid.uuid4().hex
    with db.primary():  # called from a GET that may read the replica: this one writes
        db.session.add(
            Export(
                id=export_id,
                user_id=user.id,
                params=params,
                format=params["format"],
                state=ExportState.QUEUED,
                heartbeat_at=utcnow(),
            )
        )
        uow.commit()
        send(export_id)
        return status(export_id, user)


def send(export_id: str) -> None:
    """Enqueue the job; when Redis is down the row stays queued and the rescue sends it."""
    try:
        queues.enqueue(*jobs.EXPORT_INDICATORS, export_id, job_id=export_id, job_timeout=JOB_TIMEOUT)
    except RedisError as exc:
        log.warning("export %s not sent: %s", export_id, exc)


def _heartbeat_seconds() -> float:
    return max(0.5, min(10.0, current_app.config["RESCUE_AFTER_SECONDS"] / 3))


class _Progress:
    """Counts the rows as they are written (read by the heartbeat)."""

    def __init__(self, rows: Iterable[list], total: int) -> None:
        self.rows, self.total, self.done = rows, max(total, 1), 0

    def __iter__(self) -> Iterator[list]:
        for row in self.rows:
            self.done += 1
            yield row

    @property
    def share(self) -> float:
        return round(min(self.done / self.total, 0.99), 4)


@contextmanager
def _heartbeat(export_id: str, progress: list):
    """Record progress and a sign of life from a thread, on its own connection (the job's
    session is busy with a server-side cursor)."""
    stop = threading.Event()
    every = _heartbeat_seconds()

    def beat() -> None:
        while not stop.wait(every):
            counter = progress[0]
            try:
                with uow.own_connection() as conn:
                    conn.execute(
                        update(Export)
                        .where(Export.id == export_id, Export.state == ExportState.STARTED)
                        .values(
                            heartbeat_at=func.now(),
                            rows=counter.done if counter else 0,
                            progress=counter.share if counter else 0.0,
                        )
                    )
            except Exception as exc:  # noqa: BLE001 (a missed beat is retried on the next one)
                log.warning("export %s heartbeat failed: %s", export_id, exc)

    thread = threading.Thread(target=beat, name=f"heartbeat-{export_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _claim(export_id: str) -> Export | None:
    attempts = db.session.execute(
        update(Export)
        .where(Export.id == export_id, Export.state == ExportState.QUEUED)
        .values(state=ExportState.STARTED, attempts=Export.attempts + 1, heartbeat_at=func.now())
        .returning(Export.attempts)
    ).scalar()
    if attempts is None:
        uow.commit()
        return None
    row = db.session.scalar(select(Export).where(Export.id == export_id).execution_options(populate_existing=True))
    uow.commit()
    return row


def run(export_id: str) -> dict:
    """The export job: claim the row, write the file, record where it is (idempotent)."""
    row = _claim(export_id)
    if row is None:
        return {"skipped": export_id}
    progress: list = [None]
    try:
        with _heartbeat(export_id, progress):
            key, rows = _write(export_id, row.params, progress)
    except Exception as exc:
        uow.rollback()
        state = ExportState.FAILED if row.attempts >= MAX_ATTEMPTS else ExportState.QUEUED
        db.session.execute(
            update(Export)
            .where(Export.id == export_id)
            .values(state=state, heartbeat_at=func.now(), last_error=f"{type(exc).__name__}: {exc}"[:500])
        )
        uow.commit()
        raise
    db.session.execute(
        update(Export)
        .where(Export.id == export_id)
        .values(
            state=ExportState.FINISHED,
            key=key,
            rows=rows,
            progress=1.0,
            finished_at=func.now(),
            heartbeat_at=func.now(),
        )
    )
    uow.commit()
    return {"key": key, "rows": rows}


def _write(export_id: str, params: dict, progress: list) -> tuple[str, int]:
    fmt = params["format"]
    lang = params.get("lang") or "vi"
    visible = params.get("visible")
    q = indicators.from_params(params, None if visible is None else set(visible))
    if q.detail == "reports":
        columns = exports.REPORT_COLUMNS
        total = exports.count_report_rows(q.period, q.scope, q.as_of)
        rows = _Progress(exports.report_rows(q.period, q.scope, q.as_of), total)
    else:
        table = indicators.compute(q.period, q.scope, q.group_by, q.depth)
        columns = exports.GROUP_COLUMNS
        rows = _Progress(exports.group_rows(table, lang), len(table["rows"]) + 1)
    progress[0] = rows
    head = exports.header(columns, lang)
    key = f"exports/{export_id}.{fmt}"
    if fmt == "csv":
        storage.put_stream(key, _Reader(exports.csv_chunks(head, rows)), exports.MIME["csv"])
    else:
        f = exports.xlsx_file(head, rows)
        try:
            storage.put_stream(key, f, exports.MIME["xlsx"])
        finally:
            f.close()
    return key, rows.done


class _Reader:
    """A readable stream over byte chunks, for a multipart upload of unknown length."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.buf = chunks, bytearray()

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buf) < n:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buf += chunk
        n = len(self.buf) if n < 0 else min(n, len(self.buf))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def status(export_id: str, user) -> dict:
    """State, progress and, when finished, a download link (404 for an unknown id)."""
    row = db.session.get(Export, export_id) if len(export_id) <= 48 else None
    if row is None:
        raise NotFound("export_not_found", "No such export.", "Không có tệp xuất này.")
    if row.user_id != user.id and user.role != Role.ADMIN:
        raise Forbidden("export_forbidden", "This export belongs to someone else.", "Tệp xuất này thuộc về người khác.")
    out = {"id": row.id, "status": row.state, "progress": row.progress, "rows": row.rows, "format": row.format}
    if row.state == ExportState.FINISHED:
        out["progress"] = 1.0
        assert row.key is not None  # run() sets the key with the finished state
        out["download_url"] = storage.presigned_get(row.key)
    elif row.state == ExportState.FAILED:
        out["error"] = "export_failed"
    return out


def requeue_stuck(older_than_seconds: int, limit: int = 100) -> int:
    """Re-send exports queued or started with no sign of life for a while (periodic).

    A started one lost its worker (killed, or its host died): it is queued again, or marked
    failed once it has used MAX_ATTEMPTS. A queued one lost its job (Redis down at the send,
    or Redis lost its data). Re-sending one still in a queue is harmless: the claim runs it once.
    """
    now = utcnow()
    stale = (
        Export.state.in_(PENDING),
        Export.heartbeat_at <= now - timedelta(seconds=older_than_seconds),
        Export.created_at >= now - HORIZON,
    )
    db.session.execute(
        update(Export)
        .where(*stale, Export.state == ExportState.STARTED, Export.attempts >= MAX_ATTEMPTS)
        .values(state=ExportState.FAILED, last_error="worker lost")
    )
    ids = db.session.scalars(
        update(Export)
        .where(
            Export.id.in_(
                select(Export.id)
                .where(*stale)
                .order_by(Export.heartbeat_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        .values(state=ExportState.QUEUED, heartbeat_at=func.now())
        .returning(Export.id)
    ).all()
    uow.commit()  # end the transaction before talking to Redis
    for export_id in ids:
        send(export_id)
    return len(ids)
