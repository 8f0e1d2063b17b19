"""The read side of GeoReport: reports as service requests, public events as request updates.

Only public fields are selected; the reporter's name, phone, email and account never leave
the database through these queries. What a row looks like on the wire is open311/render.py's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from fieldreport.errors import Invalid, NotFound
from fieldreport.extensions import db
from fieldreport.models import OPEN_STATUSES, STATUSES, Area, Category, Event, Photo, Report, Unit
from fieldreport.models.base import utcnow
from fieldreport.services import disclosure, public

SPAN = timedelta(days=90)


@dataclass
class Query:
    ids: list[str]
    service_codes: list[str]
    statuses: list[str]
    start: datetime | None = None
    end: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    page: int = 1
    page_size: int = 1000
    near: tuple[float, float, float] | None = None  # lat, long, radius in metres
    bbox: tuple[float, float, float, float] | None = None  # minlon, minlat, maxlon, maxlat
    province: str | None = None  # the jurisdiction: one province's requests (None: the deployment's)


def window(start: datetime | None, end: datetime | None, *, default: bool = True):
    """The spec's range: at most 90 days; the most recent 90 days when neither end is given."""
    if start and end and end < start:
        raise Invalid("invalid_range", "end_date is before start_date.", "end_date sớm hơn start_date.")
    if start and end and end - start > SPAN:
        raise Invalid(
            "range_too_long",
            "start_date and end_date may not span more than 90 days.",
            "Khoảng start_date–end_date không được quá 90 ngày.",
        )
    if start and not end:
        end = start + SPAN
    elif end and not start:
        start = end - SPAN
    elif not start and not end and default:
        end = utcnow()
        start = end - SPAN
    return start, end


def _status_filter(wanted: list[str]) -> list[str]:
    out: set[str] = set()
    for s in wanted:
        s = s.lower()
        if s == "open":
            out.update(OPEN_STATUSES)
        elif s == "closed":
            out.update(x for x in STATUSES if x not in OPEN_STATUSES)
        elif s in STATUSES:  # our detailed statuses are accepted too
            out.add(s)
        else:
            raise Invalid(
                "invalid_status",
                f"Unknown status {s!r}; use open or closed.",
                f"Trạng thái {s!r} không hợp lệ; dùng open hoặc closed.",
            )
    return sorted(out)


# Only what a request row shows: never the reporter_* columns, never the whole entity.
REPORT_COLUMNS = (
    "id",
    "code",
    "status",
    "reject_reason",
    "public_answer",
    "description",
    "address_hint",
    "channel",
    "created_at",
    "updated_at",
    "due_at",
    "citizen_due_at",
    "assigned_at",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "followers_count",
    "reopen_count",
)


_PARENT = aliased(Report, name="parent")  # one alias, so SQLAlchemy's compiled cache hits


@functools.cache
def _own_columns() -> tuple:
    """What a request row reads from its report's own row (never a reporter_* column)."""
    return (
        *(getattr(Report, c) for c in REPORT_COLUMNS),
        Report.attributes["media_url"].astext.label("media_url_given"),
        Report.category_id,
        Report.unit_id,
        Report.area_id,
        Report.parent_id,
        func.ST_Y(Report.location).label("lat"),
        func.ST_X(Report.location).label("lon"),
    )


def _rows(page):
    """The request rows of `page` (a subquery of _own_columns(), newest first): its reports
    joined to their names and public photos.

    The page's reports are read once, in the statement that picks them (their row is read
    there anyway, for the place and the time): picking ids first and reading the reports
    again by id took as long as the picking itself for a 10 km near-me page (issue 16). The
    names and photos are joined to the page's rows only, never to skipped ones.
    """
    return (
        select(
            *(page.c[c] for c in REPORT_COLUMNS),
            page.c.media_url_given,
            Category.code.label("service_code"),
            Category.name_vi.label("cat_vi"),
            Category.name_en.label("cat_en"),
            Category.deadline_amount,
            Category.deadline_unit,
            Unit.name.label("unit_vi"),
            Unit.name_en.label("unit_en"),
            Unit.code.label("unit_code"),
            Area.code.label("area_code"),
            Area.full_name.label("area_name"),
            _PARENT.code.label("parent_code"),
            page.c.lat,
            page.c.lon,
            # The report's public display copies, in the order media_urls lists them: in the
            # same statement (an index lookup per row) instead of a second query per page.
            func.array(
                select(Photo.id)
                .where(Photo.report_id == page.c.id, Photo.display_key.is_not(None))
                .order_by(Photo.kind.desc(), Photo.id)
                .scalar_subquery()
            ).label("photo_ids"),
        )
        .select_from(page)
        .join(Category, Category.id == page.c.category_id)
        .outerjoin(Unit, Unit.id == page.c.unit_id)
        .outerjoin(Area, Area.id == page.c.area_id)
        .outerjoin(_PARENT, _PARENT.id == page.c.parent_id)
        .where(disclosure.public_categories())
        .order_by(page.c.created_at.desc(), page.c.id.desc())
    )


def find(q: Query) -> list[tuple]:
    return list(db.session.execute(find_select(q)))


def find_select(q: Query):
    """The one SELECT of a requests page (also what bench/queries.py runs raw)."""
    own = select(*_own_columns())
    if q.ids:  # the spec: service_request_id overrides every other argument (not the jurisdiction)
        return _rows(_in(own.where(Report.code.in_(q.ids)), q.province).subquery("page"))
    cats = select(Category.id).where(disclosure.public_categories())
    if q.service_codes:
        cats = cats.where(Category.code.in_(q.service_codes))
    page = _in(own.where(Report.category_id.in_(cats)), q.province)
    if q.statuses:
        page = page.where(Report.status.in_(_status_filter(q.statuses)))
    if q.start:
        page = page.where(Report.created_at >= q.start)
    if q.end:
        page = page.where(Report.created_at <= q.end)
    if q.updated_after:
        page = page.where(Report.updated_at >= q.updated_after)
    if q.updated_before:
        page = page.where(Report.updated_at <= q.updated_before)
    if q.near:
        page = page.where(public.within(*q.near))
    if q.bbox:
        page = page.where(Report.location.op("&&")(func.ST_MakeEnvelope(*q.bbox, 4326)))
    page = page.order_by(Report.created_at.desc(), Report.id.desc())
    return _rows(page.limit(q.page_size).offset((q.page - 1) * q.page_size).subquery("page"))


def _in(stmt, province: str | None):
    """`stmt` limited to one province's reports (a jurisdiction); unchanged for the deployment's."""
    return stmt if province is None else stmt.where(Report.province_code == province)


def one(code: str, province: str | None = None) -> tuple:
    """The request `code`: 404 when unknown, or when it is of another province than `province`."""
    own = _in(select(*_own_columns()).where(Report.code == code), province)
    row = db.session.execute(_rows(own.subquery("page"))).first()
    if row is None:
        raise NotFound(
            "request_not_found",
            f"service_request_id {code!r} was not found.",
            f"Không tìm thấy service_request_id {code!r}.",
        )
    return row


def photo_urls(rows: Iterable, base: str) -> dict[int | None, list[str]]:
    """Report id → stable URLs of the metadata-free display copies (never the originals), from
    the rows' photo_ids (selected with them by _base()).

    Each redirects to a fresh presigned URL, so an aggregator that stores media_url keeps a
    live link (a presigned URL dies after PRESIGN_SECONDS).
    """
    return {
        r.id: [base + public.photo_path(r.code, photo_id, "display") for photo_id in r.photo_ids]
        for r in rows
        if r.photo_ids
    }


def updates(
    start: datetime | None, end: datetime | None, page: int, page_size: int, province: str | None = None
) -> list[tuple[Event, str]]:
    """Public events of public reports (of one province when given) with their report's code, oldest first."""
    stmt = (
        select(Event, Report.code)
        .join(Report, Report.id == Event.report_id)
        .join(Category, Category.id == Report.category_id)
        .where(Event.public, disclosure.public_categories())
    )
    stmt = _in(stmt, province)
    if start:
        stmt = stmt.where(Event.at >= start)
    if end:
        stmt = stmt.where(Event.at <= end)
    stmt = stmt.order_by(Event.at, Event.id).limit(page_size).offset((page - 1) * page_size)
    return [(ev, code) for ev, code in db.session.execute(stmt)]
