"""Derived indicator tables: one fact row per (report, unit), its rollups, the refresh queue.

Everything here is recomputed from `events` (the source of truth) and may be rebuilt at
any time; nothing else writes it. See fieldreport/services/indicators/ for the rules.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Index, Integer, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from fieldreport.models.base import Base, created_at
from fieldreport.models.vocab import IntakeChannel

TSTZ = DateTime(timezone=True)


# What the measures read of a fact (services/indicators/measures.py: its flows and its stock
# as of T), besides unit_id and received_day: the open facts' index holds them all.
OPEN_INCLUDE = (
    "area_id",
    "category_id",
    "channel",
    "received_at",
    "first_response_at",
    "left_at",
    "away_from",
    "away_to",
    "answered_at",
    "answer_kind",
    "handed_late_at",
    "due_at",
    "rated_at",
    "rating",
    "reopened_at",
    "auto_routed",
    "first_response_wh",
    "first_response_ch",
    "handling_wh",
    "handling_ch",
)


class IndicatorFact(Base):
    """What one unit did with one report, as known from the events so far.

    The unit held the report from `received_at` to `left_at` (NULL: holds it now), except
    for the spans away_from[i] < t <= away_to[i] when it had handed it on and got it back.
    `settle_day` is the last local day of the fact's events (the flows the rollups date by
    them) and of changes to its state at a period end; NULL while the unit holds it
    unanswered (backlog).
    """

    __tablename__ = "indicator_facts"

    report_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int] = mapped_column(Integer)  # 0: the report has no commune
    # Where the report came from (reports.channel: app, web, hotline, counter, zalo, open311:<client>).
    channel: Mapped[str] = mapped_column(String(80), server_default=IntakeChannel.APP.value)
    received_at: Mapped[datetime] = mapped_column(TSTZ)
    received_day: Mapped[date] = mapped_column(Date)
    left_at: Mapped[datetime | None] = mapped_column(TSTZ)
    away_from: Mapped[list[datetime]] = mapped_column(ARRAY(TSTZ), server_default="{}")
    away_to: Mapped[list[datetime]] = mapped_column(ARRAY(TSTZ), server_default="{}")
    due_at: Mapped[datetime | None] = mapped_column(TSTZ)
    answered_at: Mapped[datetime | None] = mapped_column(TSTZ)
    answer_kind: Mapped[str | None] = mapped_column(String(12))  # resolved|rejected|duplicate|closed
    handling_wh: Mapped[float | None] = mapped_column(Float)
    handling_ch: Mapped[float | None] = mapped_column(Float)
    first_response_at: Mapped[datetime | None] = mapped_column(TSTZ)
    first_response_wh: Mapped[float | None] = mapped_column(Float)
    first_response_ch: Mapped[float | None] = mapped_column(Float)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime | None] = mapped_column(TSTZ)
    reopened_at: Mapped[datetime | None] = mapped_column(TSTZ)
    # The first hand-on after the due by a unit that had not answered by then: its late outcome.
    handed_late_at: Mapped[datetime | None] = mapped_column(TSTZ)
    auto_routed: Mapped[bool] = mapped_column(Boolean)
    settle_day: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_indicator_facts_unit_day", "unit_id", "received_day"),
        Index("ix_indicator_facts_day", "received_day"),
        # Stabbing query "received before t, still changing on or after t": the facts whose
        # state at a period end differs from their final state, and the backlog. Nationally
        # a GiST on the span; per unit a B-tree whose three columns all filter in the index.
        Index("ix_indicator_facts_span", text("daterange(received_day + 1, settle_day + 1)"), postgresql_using="gist"),
        Index(
            "ix_indicator_facts_unit_settle", "unit_id", text("coalesce(settle_day, 'infinity'::date)"), "received_day"
        ),
        # The facts still open (no settle day): most of what a table as of "now" (a
        # dashboard's current period) reads from the facts, read from the index alone instead
        # of a heap page per fact, the open facts lying scattered among the settled ones.
        Index(
            "ix_indicator_facts_open",
            "unit_id",
            "received_day",
            postgresql_include=list(OPEN_INCLUDE),
            postgresql_where=text("settle_day IS NULL"),
        ),
    )


class IndicatorRollup(Base):
    """Sums of the facts' flows per day/month/year of their event × unit × category × area × channel.

    `grain` is 'd', 'm' or 'y' and `bucket` the first day of that day/month/year. Rows with
    category_id = 0 (and area_id = 0, channel '') are a unit's totals; days have only those.
    Detail rows are per category, commune and channel (group_by=channel reads them). The
    *_hist arrays count values per bucket of the bounds in services/indicators/measures.py.
    """

    __tablename__ = "indicator_rollups"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    bucket: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    reports: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    answered_late: Mapped[int] = mapped_column(Integer)
    transfers: Mapped[int] = mapped_column(Integer)
    auto_routed: Mapped[int] = mapped_column(Integer)
    fr_n: Mapped[int] = mapped_column(Integer)
    fr_wh_sum: Mapped[float] = mapped_column(Float)
    fr_ch_sum: Mapped[float] = mapped_column(Float)
    ht_n: Mapped[int] = mapped_column(Integer)
    ht_wh_sum: Mapped[float] = mapped_column(Float)
    ht_ch_sum: Mapped[float] = mapped_column(Float)
    rated: Mapped[int] = mapped_column(Integer)
    r1: Mapped[int] = mapped_column(Integer)
    r2: Mapped[int] = mapped_column(Integer)
    r3: Mapped[int] = mapped_column(Integer)
    r4: Mapped[int] = mapped_column(Integer)
    r5: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    dissatisfied: Mapped[int] = mapped_column(Integer)
    fr_wh_hist: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    fr_ch_hist: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    ht_wh_hist: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    ht_ch_hist: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    # Last, as the migration added it (part of the key; '' on unit totals and days).
    channel: Mapped[str] = mapped_column(String(80), primary_key=True, server_default="")

    # The refresh rebuilds a unit's month (year) rows from its day (month) rows.
    __table_args__ = (Index("ix_indicator_rollups_unit", "unit_id", "grain", "bucket"),)


class IndicatorDirty(Base):
    """Reports whose facts must be recomputed: filled by a trigger on every event insert.

    The trigger writes in the event's own transaction, so no committed event is missed
    whatever order concurrent transactions commit in (an id watermark can skip those). An
    append-only queue without a unique key, so writers never wait on each other; the
    refresh takes rows by id and recomputes each report once per batch.
    """

    __tablename__ = "indicator_dirty"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(BigInteger)
    marked_at: Mapped[datetime] = created_at()
