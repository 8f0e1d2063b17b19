"""Administrative areas: province, commune/ward (and optional old districts) as MultiPolygons."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base

AREA_LEVELS = ("province", "district", "commune")


class Area(Base):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # official code, e.g. 24133
    name: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(240))
    kind: Mapped[str | None] = mapped_column(String(40))  # Xã, Phường, Đặc khu, Tỉnh
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    province_code: Mapped[str | None] = mapped_column(String(8), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    area_km2: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    label = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))

    __table_args__ = (Index("ix_areas_geom", "geom", postgresql_using="gist"),)
