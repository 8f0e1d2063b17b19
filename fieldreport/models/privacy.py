"""Personal data: the append-only log of who read a reporter's identity, and why."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base, created_at


class IdentityView(Base):
    """One reading of a reporter's name, phone and e-mail by a dispatcher or admin (Decree
    13/2023/NĐ-CP: every processing of personal data is traceable). The database refuses
    UPDATE, DELETE and TRUNCATE on this table (migration 0031), so not even an admin with
    SQL access through the application's role rewrites it."""

    __tablename__ = "identity_views"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = created_at()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(120))  # "<role>:<username>" at the time
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    reason: Mapped[str] = mapped_column(String(500))

    __table_args__ = (Index("ix_identity_views_report", "report_id"),
                      Index("ix_identity_views_at", "at"))
