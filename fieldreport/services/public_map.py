"""The public map and open data: filters, server-side clusters, report rows for GeoJSON, CSV and Atom.

What any row may show comes from services.disclosure (the public viewer): non-public categories
are filtered out in SQL, withheld reports keep their status and plain reason but lose their text
and photos, and their point is rounded (also inside the cluster SQL, so a cluster of one cannot
give the exact place away).

Clusters are computed in PostGIS: points are grouped on a grid whose cell is about 64 screen
pixels at the asked zoom (integer cell indexes, cheaper to group than snapped geometries), so
the province-wide map of 100,000 open reports is a few hundred rows, not 100,000 markers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Float, case, cast, func, literal, select

from fieldreport.errors import Unprocessable
from fieldreport.extensions import db
from fieldreport.models import Area, Category, Report, Status, Unit
from fieldreport.models.base import utcnow
from fieldreport.services import deadlines, disclosure, provinces, public
from fieldreport.services.disclosure import Viewer

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
CELL_PX = 64
MIN_ZOOM, MAX_ZOOM = 5, 18
FEED_ENTRIES = 50


@dataclass(frozen=True)
class Filters:
    """What the public map, list, open data and feeds are filtered by (all optional)."""

    category: str | None = None
    status: str | None = None  # open | closed | a comma list of statuses
    area: str | None = None  # a commune's code
    province: str | None = None  # a province's code (a deployment of several provinces)
    period: str | None = None  # 7d | 30d | 90d | 365d
    since: date | None = None  # or a custom range of local dates (inclusive)
    until: date | None = None

    def query_args(self) -> dict:
        """The filters as URL arguments (shareable URLs keep exactly these)."""
        out = {
            "category": self.category,
            "status": self.status,
            "area": self.area,
            "province": self.province,
            "period": self.period,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
        }
        return {k: v for k, v in out.items() if v}


def _day(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Unprocessable(
            "bad_date", f"{name} must be a date (YYYY-MM-DD).", f"{name} phải là ngày dạng YYYY-MM-DD.", field=name
        ) from None


def parse_filters(args) -> Filters:
    """Filters from URL arguments; unknown values are a clear 422 (never silently ignored)."""
    period = args.get("period") or None
    if period is not None and period not in PERIODS:
        raise Unprocessable(
            "bad_period",
            f"period must be one of {', '.join(PERIODS)}.",
            f"period phải là một trong {', '.join(PERIODS)}.",
            field="period",
        )
    f = Filters(
        category=args.get("category") or None,
        status=args.get("status") or None,
        area=args.get("area") or None,
        province=args.get("province") or None,
        period=period,
        since=_day(args.get("from"), "from"),
        until=_day(args.get("to"), "to"),
    )
    if f.since and f.until and f.until < f.since:
        raise Unprocessable("bad_period_range", "to is before from.", "Đến ngày trước từ ngày.", field="to")
    public.statuses(f.status)  # validates
    if f.province:
        provinces.check(f.province)
    return f


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=deadlines.zone())


def time_range(f: Filters, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    if f.period:
        return (now or utcnow()) - timedelta(days=PERIODS[f.period]), None
    return (
        _local_midnight(f.since) if f.since else None,
        _local_midnight(f.until + timedelta(days=1)) if f.until else None,
    )


def area_id(code: str | None) -> int | None:
    if not code:
        return None
    found = db.session.scalar(select(Area.id).where(Area.code == code))
    if found is None:
        raise Unprocessable("unknown_area", f"No commune {code!r}.", f"Không có xã/phường {code!r}.", field="area")
    return found


def _conditions(f: Filters, cats: dict[int, Category]) -> list[ColumnElement[bool]]:
    """SQL conditions of the filters, always within what the public may see."""
    conds: list[ColumnElement[bool]] = [
        Report.category_id.in_(
            [cid for cid, c in cats.items() if disclosure.report_visible(c.public, Viewer.PUBLIC)] or [-1]
        )
    ]
    if f.category:
        cat = next(
            (c for c in cats.values() if c.code == f.category and disclosure.report_visible(c.public, Viewer.PUBLIC)),
            None,
        )
        if cat is None:
            raise Unprocessable(
                "unknown_category",
                f"Unknown category: {f.category!r}.",
                f"Loại phản ánh không tồn tại: {f.category!r}.",
                field="category",
            )
        conds.append(Report.category_id == cat.id)
    statuses = public.statuses(f.status)
    if statuses:
        conds.append(Report.status.in_(statuses))
    if f.area:
        conds.append(Report.area_id == area_id(f.area))
    if f.province:
        conds.append(Report.province_code == f.province)
    since, until = time_range(f)
    if since:
        conds.append(Report.created_at >= since)
    if until:
        conds.append(Report.created_at < until)
    return conds


def categories() -> dict[int, Category]:
    return {c.id: c for c in db.session.scalars(select(Category))}


# -- the map ------------------------------------------------------------------------------


def cell_degrees(zoom: int) -> float:
    """The grid cell of one cluster: CELL_PX pixels of a 256-px Web-Mercator tile at `zoom`."""
    zoom = min(max(int(zoom), MIN_ZOOM), MAX_ZOOM)
    return 360.0 / (256 * 2**zoom) * CELL_PX


def clusters_select(
    f: Filters, cats: dict[int, Category], zoom: int, bbox: tuple[float, float, float, float] | None = None
):
    """One SELECT: (n, lon, lat, code of a lone report) per grid cell (also the benchmark's)."""
    size = cell_degrees(zoom)
    where = _conditions(f, cats)
    if bbox:
        where.append(Report.location.op("&&")(func.ST_MakeEnvelope(*bbox, 4326)))
    held = disclosure.sql_withheld()
    x = case(
        (held, func.round(func.ST_X(Report.location) / disclosure.COARSE_DEGREES) * disclosure.COARSE_DEGREES),
        else_=func.ST_X(Report.location),
    )
    y = case(
        (held, func.round(func.ST_Y(Report.location) / disclosure.COARSE_DEGREES) * disclosure.COARSE_DEGREES),
        else_=func.ST_Y(Report.location),
    )
    inner = select(x.label("x"), y.label("y"), Report.code).where(*where).subquery()
    gx, gy = func.floor(inner.c.x / literal(size)), func.floor(inner.c.y / literal(size))
    return select(
        func.count().label("n"),
        cast(func.avg(inner.c.x), Float).label("lon"),
        cast(func.avg(inner.c.y), Float).label("lat"),
        func.min(inner.c.code).label("code"),
    ).group_by(gx, gy)


def clusters(f: Filters, zoom: int, bbox: tuple[float, float, float, float] | None = None) -> dict:
    """The map's clusters as GeoJSON points: `count`, and `code` when a cluster is one report."""
    rows = db.session.execute(clusters_select(f, categories(), zoom, bbox)).all()
    return {
        "type": "FeatureCollection",
        "zoom": zoom,
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(r.lon, 6), round(r.lat, 6)]},
                "properties": {"count": r.n, "code": r.code if r.n == 1 else None},
            }
            for r in rows
        ],
    }


def listing(f: Filters, vi: bool, cursor: str | None = None, page_size: int = 20) -> dict:
    """The list beside the map: newest first, keyset pages (as /api/v1/reports)."""
    since, until = time_range(f)
    return public.listing(
        vi=vi,
        page_size=page_size,
        status=public.statuses(f.status),
        category=f.category,
        since=since,
        until=until,
        cursor=cursor,
        area_id=area_id(f.area),
        province=f.province,
    )


# -- open data and feeds ------------------------------------------------------------------

FIELDS = (
    "code",
    "url",
    "category_code",
    "category_name",
    "status",
    "created_at",
    "updated_at",
    "resolved_at",
    "area_code",
    "area_name",
    "unit_name",
    "lon",
    "lat",
    "description",
    "public_answer",
    "reject_reason",
    "followers_count",
    "rating",
)


def rows(f: Filters, *, order: str = "created", limit: int | None = None, vi: bool = True):
    """Public reports as flat dicts (FIELDS), streamed; `url` is the path of the public page.

    The filters are checked here, before the first row: a bad one is a 422, not a cut file."""
    cats = categories()
    stmt = (
        select(
            Report.code,
            Report.category_id,
            Report.status,
            Report.reject_reason,
            Report.description,
            Report.address_hint,
            Report.public_answer,
            Report.created_at,
            Report.updated_at,
            Report.resolved_at,
            Report.followers_count,
            Report.rating,
            func.ST_X(Report.location).label("lon"),
            func.ST_Y(Report.location).label("lat"),
            Area.code.label("area_code"),
            Area.full_name.label("area_name"),
            Unit.name.label("unit_vi"),
            Unit.name_en.label("unit_en"),
        )
        .outerjoin(Area, Area.id == Report.area_id)
        .outerjoin(Unit, Unit.id == Report.unit_id)
        .where(*_conditions(f, cats))
    )
    if order == "updated":
        stmt = stmt.order_by(Report.updated_at.desc(), Report.id.desc())
    else:
        stmt = stmt.order_by(Report.created_at, Report.id)
    if limit:
        stmt = stmt.limit(limit)
    return _rows(stmt, cats, vi)


def _rows(stmt, cats: dict[int, Category], vi: bool):
    for r in db.session.execute(stmt.execution_options(yield_per=2000)):
        cat = cats[r.category_id]
        lon, lat = disclosure.location(r.lon, r.lat, r.status, r.reject_reason, Viewer.PUBLIC)
        shown = disclosure.report_fields(r, Viewer.PUBLIC)
        yield {
            "code": r.code,
            "url": f"/public/reports/{r.code}",
            "category_code": cat.code,
            "category_name": cat.name_vi if vi else cat.name_en,
            "status": r.status,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "resolved_at": r.resolved_at,
            "area_code": r.area_code,
            "area_name": r.area_name,
            "unit_name": (r.unit_vi if vi or not r.unit_en else r.unit_en),
            "lon": round(lon, 6),
            "lat": round(lat, 6),
            "description": shown["description"],
            "public_answer": shown["public_answer"],
            "reject_reason": r.reject_reason if r.status == Status.REJECTED else None,
            "followers_count": r.followers_count,
            "rating": r.rating,
        }
