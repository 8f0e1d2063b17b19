"""Citizen-side tables: one-time sign-in codes and per-report notification subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base, created_at


class OtpChallenge(Base):
    """A one-time code sent by SMS; only its keyed hash is stored. The newest one per phone counts."""

    __tablename__ = "otp_challenges"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16))  # E.164
    code_hash: Mapped[str] = mapped_column(String(64))
    client_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_otp_challenges_phone_created", "phone", "created_at"),)


class Subscription(Base):
    """One way to tell one person about one report: a browser's push subscription, an SMS to a
    signed-in phone, or an e-mail. Unsubscribing keeps the row (so a default channel, such as
    the reporter's e-mail, stays off); it is per report and per channel."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # push | sms | email | zalo
    address: Mapped[str] = mapped_column(String(1000))  # push endpoint | E.164 phone | e-mail | Zalo user id
    keys: Mapped[dict] = mapped_column(JSONB, default=dict)  # push: p256dh, auth
    role: Mapped[str] = mapped_column(String(10))  # reporter | follower
    lang: Mapped[str] = mapped_column(String(2), default="vi")
    created_at: Mapped[datetime] = created_at()
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("report_id", "channel", "address", name="uq_subscriptions_report_channel_address"),
    )
