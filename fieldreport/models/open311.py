"""Updates received from external Open311 systems, kept to make each update_id apply once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base, created_at


class Open311Update(Base):
    """One POSTed servicerequestupdate: (client key, its update_id) → the event it became."""

    __tablename__ = "open311_updates"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    update_id: Mapped[str] = mapped_column(String(100))  # the client's id, not ours
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    # The event it became; set once that event exists (resolve commits it itself).
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    status: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(24))  # what it did: resolve | note | ...
    received_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("api_key_id", "update_id", name="uq_open311_updates_key_update"),)
