"""Personal data: the append-only log of who read a reporter's identity (and who changed an
account), when, and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base, created_at

IDENTITY_VIEW = "identity_view"


class IdentityView(Base):
    """One reading of a reporter's name, phone and e-mail by a dispatcher or admin (Decree
    13/2023/NĐ-CP: every processing of personal data is traceable). The database refuses
    UPDATE, DELETE and TRUNCATE on this table (migration 0031), so not even an admin with
    SQL access through the application's role rewrites it."""

    __tablename__ = "identity_views"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = created_at()
    # The same log holds administrators' acts on accounts (services/accounts.py, migration
    # 0037): action "account.create", "account.deactivate"... with subject_user_id, no report.
    action: Mapped[str] = mapped_column(String(40), default=IDENTITY_VIEW, server_default=IDENTITY_VIEW)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the flask CLI
    actor: Mapped[str] = mapped_column(String(120))  # "<role>:<username>" at the time, or "cli:<user>"
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detail: Mapped[str | None] = mapped_column(String(200))  # e.g. the role and unit given
    reason: Mapped[str] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_identity_views_report", "report_id"),
        Index("ix_identity_views_at", "at"),
        Index("ix_identity_views_subject", "subject_user_id"),
        CheckConstraint(
            "(action = 'identity_view') = (report_id IS NOT NULL)"
            " AND (action LIKE 'account.%') = (subject_user_id IS NOT NULL)",
            name="ck_identity_views_subject",
        ),
    )
