"""The report aggregate: the report itself, its photos, followers and append-only events."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldreport.models.base import Base, created_at, utcnow
from fieldreport.models.vocab import IntakeChannel, PhotoKind, Status


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # public tracking code
    citizen_token_hash: Mapped[str] = mapped_column(String(64), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    status: Mapped[str] = mapped_column(String(16), default=Status.SUBMITTED)
    description: Mapped[str | None] = mapped_column(Text)
    address_hint: Mapped[str | None] = mapped_column(String(500))
    attributes: Mapped[dict] = mapped_column(JSONB, default=dict)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(16), default="device")  # device | exif | address
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    province_code: Mapped[str | None] = mapped_column(String(8))  # of the point (its commune)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # Reporter identity: private, visible to the dispatcher role only.
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_phone: Mapped[str | None] = mapped_column(String(40))
    reporter_email: Mapped[str | None] = mapped_column(String(240))
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(80), default=IntakeChannel.APP)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Deadlines: the unit's working due (an extension moves it), the due that counts for the
    # indicators (set on assignment, never moved by an extension), and the citizen's first one.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    indicator_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    citizen_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    public_answer: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    followers_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    manually_triaged: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    routing: Mapped[dict | None] = mapped_column(JSONB)  # explain: rule, area, distance
    # The privacy notice the reporter was shown (services.privacy.NOTICE_VERSION, or a
    # channel's own: "zalo:<version>", "open311:client"); None before notices were recorded.
    notice_version: Mapped[str | None] = mapped_column(String(40))
    # Personal data erased (on the citizen's request, an admin's, or by the retention job):
    # when, by whom ("citizen", "admin:<username>", "retention") and the admin's reason.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erased_by: Mapped[str | None] = mapped_column(String(120))
    erased_reason: Mapped[str | None] = mapped_column(String(500))

    photos: Mapped[list[Photo]] = relationship(back_populates="report", order_by="Photo.id")

    __table_args__ = (
        Index("ix_reports_location", "location", postgresql_using="gist"),
        Index("ix_reports_unit_status_due", "unit_id", "status", "due_at"),
        Index("ix_reports_status_created", "status", "created_at"),
        Index("ix_reports_category_created", "category_id", "created_at"),
        Index("ix_reports_created", "created_at"),
        Index("ix_reports_updated", "updated_at"),
        Index("ix_reports_area", "area_id"),
        Index("ix_reports_province_created", "province_code", "created_at"),
        Index("ix_reports_parent", "parent_id"),
        # The public map of open reports, newest first (the status IN list matches OPEN_STATUSES).
        Index(
            "ix_reports_open_created",
            "created_at",
            postgresql_where="status IN ('submitted', 'assigned', 'in_progress', 'awaiting_info', 'reopened')",
        ),
        # The staff queue: a unit's open reports, soonest due first (a page reads its rows only).
        Index(
            "ix_reports_open_unit_due",
            "unit_id",
            "due_at",
            "id",
            postgresql_where="status IN ('submitted', 'assigned', 'in_progress', 'awaiting_info', 'reopened')",
        ),
        # Reports waiting for the router: the triage queue and the stale-routing sweep.
        Index(
            "ix_reports_unrouted",
            "created_at",
            postgresql_where="unit_id IS NULL AND status IN ('submitted', 'reopened')",
        ),
        # The public map's clusters of open reports, read from the index alone.
        Index(
            "ix_reports_open_map",
            "status",
            postgresql_include=["category_id", "reject_reason", "location", "code"],
            postgresql_where="status IN ('submitted', 'assigned', 'in_progress', 'awaiting_info', 'reopened')",
        ),
    )


class Photo(Base):
    """An image: the private original under its content hash, plus public derivatives."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    # A supporter's photo belongs to their addition, not to the report: never public.
    addition_id: Mapped[int | None] = mapped_column(ForeignKey("report_additions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8), default=PhotoKind.BEFORE)  # before | after | support
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(200))  # private original
    mime: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    gps = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))  # private evidence
    display_key: Mapped[str | None] = mapped_column(String(200))
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()

    report: Mapped[Report | None] = relationship(back_populates="photos")


class Follower(Base):
    """A "me too" on a report: counted once per follower key."""

    __tablename__ = "followers"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    follower_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("report_id", "follower_key", name="uq_followers_report_follower"),)


class Addition(Base):
    """A supporter's photos and note on someone else's report ("me too, and here is mine").

    Shown to staff only: like every citizen comment it is never public, and its photos hang
    on the addition (report_id NULL), so no public view can list them by accident.
    """

    __tablename__ = "report_additions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    follower_key: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()

    photos: Mapped[list[Photo]] = relationship(order_by="Photo.id")


class Event(Base):
    """Append-only history of a report; indicators and audit are computed from it."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    at: Mapped[datetime] = created_at()
    type: Mapped[str] = mapped_column(String(32))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str | None] = mapped_column(String(120))  # role/channel label
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    reason: Mapped[str | None] = mapped_column(String(500))  # a code or a staff member's words
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # shown to the citizen
    data: Mapped[dict] = mapped_column(JSONB, default=dict)

    __table_args__ = (
        Index("ix_events_report_at", "report_id", "at"),
        Index("ix_events_at", "at"),
    )
