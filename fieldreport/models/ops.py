"""Reliability tables: job outbox, idempotency keys, uploads, notifications, calendar days."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base, created_at
from fieldreport.models.vocab import NotificationState


class Outbox(Base):
    """A job recorded in the same transaction as the change that needs it; sent after commit."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    queue: Mapped[str] = mapped_column(String(32))
    func: Mapped[str] = mapped_column(String(120))
    args: Mapped[list] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = created_at()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_unsent", "id", postgresql_where="sent_at IS NULL"),)


class IdempotencyKey(Base):
    """The first answer to a request carrying an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)  # the daily purge


class Upload(Base):
    """A presigned upload slot; the object is checked when a report references it."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    client_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id"))


class Notification(Base):
    """A message to a citizen or unit, delivered by a worker through a channel."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    channel: Mapped[str] = mapped_column(String(16))  # log | email | webhook | push | sms
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"))
    recipient: Mapped[str | None] = mapped_column(String(240))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSONB, default=dict)
    # pending | sent | failed | cancelled (unsubscribed before it went out)
    status: Mapped[str] = mapped_column(String(12), default=NotificationState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CalendarDay(Base):
    """An announced exception to the working calendar: an extra day off or a make-up day,
    for every province ('') or for one (a province announcing its own days off)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    province_code: Mapped[str] = mapped_column(String(8), primary_key=True, default="", server_default="")
    kind: Mapped[str] = mapped_column(String(8))  # off | work
    note: Mapped[str | None] = mapped_column(String(200))
