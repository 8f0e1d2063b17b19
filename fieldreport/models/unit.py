"""Units that handle reports (commune committees, departments, utilities, dispatcher): a tree."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldreport.models.base import Base

UNIT_KINDS = ("dispatcher", "province", "commune", "department", "utility", "contractor", "police")


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(240))
    name_en: Mapped[str | None] = mapped_column(String(240))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    # The province whose people and reports the unit's users work on; None: national (every
    # province the deployment serves), like the single-province demo's units.
    province_code: Mapped[str | None] = mapped_column(String(8), index=True)
    email: Mapped[str | None] = mapped_column(String(240))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")

    parent: Mapped[Unit | None] = relationship(remote_side="Unit.id")
