"""Report categories (Open311 services) and the rules that route them to units."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base

URGENCIES = ("urgent", "simple", "standard", "complex")
DEADLINE_UNITS = ("hours", "days")


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_vi: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    group: Mapped[str] = mapped_column(String(60))
    keywords: Mapped[str | None] = mapped_column(String(400))
    urgency: Mapped[str] = mapped_column(String(16), default="standard")
    deadline_amount: Mapped[float] = mapped_column(Float)
    deadline_unit: Mapped[str] = mapped_column(String(8))  # hours | days (working time)
    photo_required: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    # Only a citizen signed in by phone (one-time code) may report in this category.
    signin_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_other: Mapped[bool] = mapped_column(Boolean, default=False)  # always to the dispatcher
    # Open311 service definition attributes: [{code, datatype, required, description, values}]
    attributes: Mapped[list] = mapped_column(JSONB, default=list)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class RoutingRule(Base):
    """(category, scope, unit, priority): the most specific matching scope wins.

    Scope is an area (commune or province) or a drawn geometry; a null category matches
    every category. `scope_area_m2` is stored so that precedence needs no geometry maths.
    """

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    scope = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    scope_area_m2: Mapped[float | None] = mapped_column(Float)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (Index("ix_routing_rules_scope", "scope", postgresql_using="gist"),)
