"""A large export written by a worker: its request, state and file, kept in the database.

RQ only carries the job: a worker killed mid-export, or Redis losing the job, leaves the row
queued or started, and the periodic rescue sends it again (services/rescue.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base, created_at, utcnow


class ExportState(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"


class Export(Base):
    __tablename__ = "exports"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # export-<hex>, public
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    format: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(12), default=ExportState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    key: Mapped[str | None] = mapped_column(String(200))  # the file in object storage
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    # The last sign of life: queued, claimed, or the running worker's heartbeat.
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_exports_pending", "heartbeat_at", postgresql_where="state IN ('queued', 'started')"),)
