"""Messaging channels: Zalo Official Account messages received and the conversations they build."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base, created_at


class ZaloMessage(Base):
    """One webhook event, stored before it is acknowledged; its msg_id makes a redelivery a no-op."""

    __tablename__ = "zalo_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(100), unique=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    event_name: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSONB)
    received_at: Mapped[datetime] = created_at()
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(40))


class ZaloConversation(Base):
    """What one Zalo user has sent towards a report so far (place, photos, text)."""

    __tablename__ = "zalo_conversations"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict] = mapped_column(JSONB, default=dict)  # lat, lon, upload_ids, text
    updated_at: Mapped[datetime] = created_at()
