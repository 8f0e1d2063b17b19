"""Public reads: one report by code, the map listing, nearby open reports, a citizen's own reports.

Nothing here ever returns the reporter's identity, the original photo or an actor's name.
Listing pagination is keyset on (created_at, id), newest first: the cursor is opaque, pages stay
as fast deep in the list as on page one, and a report arriving meanwhile does not shift pages.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, tuple_

from fieldreport.errors import Invalid, NotFound, Unprocessable
from fieldreport.extensions import db, storage
from fieldreport.models import OPEN_STATUSES, STATUSES, Area, Category, Event, Photo, Report, Status, Unit
from fieldreport.services import disclosure, provinces
from fieldreport.services.disclosure import Viewer
from fieldreport.services.intake import CODE_ALPHABET, CODE_LENGTH

_CODE_RE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
_READ_AS = str.maketrans("OIL", "011")  # Crockford: what people mistype reads as the digit
NEARBY_LIMIT = 20


def normalize_code(raw: str) -> str | None:
    code = re.sub(r"[\s-]", "", raw or "").upper().translate(_READ_AS)
    return code if _CODE_RE.fullmatch(code) else None


def find(code: str, *, lock: bool = False, province: str | None = None) -> Report:
    """The report with this tracking code (of `province` when given), or 404."""
    norm = normalize_code(code)
    q = select(Report).where(Report.code == norm)
    if province is not None:
        q = q.where(Report.province_code == province)
    report = db.session.scalar(q.with_for_update() if lock else q) if norm else None
    if report is None:
        raise NotFound("report_not_found", "No report has this tracking code.", "Không có phản ánh nào với mã này.")
    return report


def exists(code: str) -> bool:
    """Whether a report has this tracking code: the lookup page's answer. Who may see it is the
    API's question (a reporter sees their report of a non-public category with its token)."""
    norm = normalize_code(code)
    return norm is not None and db.session.scalar(select(Report.id).where(Report.code == norm)) is not None


def _category_view(r, vi: bool) -> dict:
    """A listed row's category (its cat_* columns: see _item_select)."""
    return {"code": r.cat_code, "name": r.cat_vi if vi else r.cat_en}


def _unknown_category(category: str) -> Unprocessable:
    return Unprocessable(
        "unknown_category",
        f"Unknown category: {category!r}.",
        f"Loại phản ánh không tồn tại: {category!r}.",
        field="category",
    )


def visible(code: str, token: str | None = None, user_id: int | None = None) -> tuple[Report, Viewer]:
    """The report behind a public URL and who is looking; 404 when it is not theirs to see
    (a non-public category answers exactly like an unknown code)."""
    report = find(code)
    viewer = disclosure.viewer_for_token(token, user_id, report)
    category_public = db.session.execute(select(Category.public).where(Category.id == report.category_id)).scalar_one()
    if not disclosure.report_visible(category_public, viewer):
        raise NotFound("report_not_found", "No report has this tracking code.", "Không có phản ánh nào với mã này.")
    return report, viewer


def view(report: Report, vi: bool, viewer: Viewer = Viewer.PUBLIC) -> dict:
    """The public page of a report, as disclosure allows this viewer."""
    # One round trip for the names (and only names: an Area row would drag its polygon along).
    names = db.session.execute(
        select(
            Category.code,
            Category.name_vi,
            Category.name_en,
            Category.public,
            Area.code.label("area_code"),
            Area.full_name,
            Unit.name.label("unit_vi"),
            Unit.name_en.label("unit_en"),
        )
        .select_from(Category)
        .outerjoin(Area, Area.id == report.area_id)
        .outerjoin(Unit, Unit.id == report.unit_id)
        .where(Category.id == report.category_id)
    ).one()
    history = timeline(report.id, viewer, vi)
    shown: Sequence[Photo] = []
    if disclosure.photos_visible(report.status, report.reject_reason, viewer):
        shown = db.session.scalars(select(Photo).where(Photo.report_id == report.id).order_by(Photo.id)).all()
    # The stable redirect answers the public; what only this viewer may see is signed here.
    stable = disclosure.photos_visible(
        report.status, report.reject_reason, Viewer.PUBLIC
    ) and disclosure.report_visible(names.public, Viewer.PUBLIC)
    lon, lat = disclosure.location(*_lonlat(report), report.status, report.reject_reason, viewer)
    extended_to = next((h["due_at"] for h in reversed(history) if h["due_at"]), None)
    return {
        "code": report.code,
        "status": report.status,
        "category": {"code": names.code, "name": names.name_vi if vi else names.name_en},
        **disclosure.report_fields(report, viewer),
        "reject_reason": report.reject_reason if report.status == Status.REJECTED else None,
        "reject_reason_text": (
            disclosure.reason_words(report.reject_reason, vi) if report.status == Status.REJECTED else None
        ),
        "location": {"lat": lat, "lon": lon},
        "created_at": report.created_at,
        "updated_at": report.updated_at,
        "area": {"code": names.area_code, "name": names.full_name} if names.area_code else None,
        "unit": {"name": names.unit_vi if vi or not names.unit_en else names.unit_en} if names.unit_vi else None,
        "due_at": disclosure.citizen_due(report.citizen_due_at, report.due_at, extended_to),
        "resolved_at": report.resolved_at,
        "closed_at": report.closed_at,
        "rating": report.rating,
        "followers_count": report.followers_count,
        "photos": [_photo_view(report.code, p, stable) for p in shown],
        "history": history,
    }


def timeline(report_id: int, viewer: Viewer, vi: bool) -> list[dict]:
    """A report's history as this viewer may read it, oldest first (unit names, no people)."""
    rows = db.session.execute(
        select(
            Event.type,
            Event.to_status,
            Event.at,
            Event.public,
            Event.actor,
            Event.reason,
            Event.note,
            Event.data,
            Unit.name.label("unit_vi"),
            Unit.name_en.label("unit_en"),
        )
        .outerjoin(Unit, Unit.id == Event.to_unit_id)
        .where(Event.report_id == report_id)
        .order_by(Event.at, Event.id)
    ).all()
    out = []
    for ev in rows:
        unit = ev.unit_vi if vi or not ev.unit_en else ev.unit_en
        item = disclosure.event_view(ev, viewer, unit, vi)
        if item is not None:
            out.append(item)
    return out


def _lonlat(report: Report) -> tuple[float, float]:
    from fieldreport import geo

    return geo.lonlat(report.location)


def _photo_view(code: str, p: Photo, stable: bool) -> dict:
    """Stable URLs (redirects to fresh presigned ones), so a stored or cached view never dies;
    presigned ones for photos only this viewer may see (the redirect answers the public)."""
    ready = bool(p.display_key and p.thumb_key)
    urls: dict[str, str | None] = {"display_url": None, "thumb_url": None}
    if p.display_key and p.thumb_key:  # ready
        for variant, key in (("display", p.display_key), ("thumb", p.thumb_key)):
            urls[f"{variant}_url"] = photo_path(code, p.id, variant) if stable else storage.presigned_get(key)
    return {"id": p.id, "kind": p.kind, "width": p.width, "height": p.height, "ready": ready, **urls}


def photo_path(code: str, photo_id: int, variant: str) -> str:
    """A stable URL that redirects to a fresh presigned URL (lists stay cacheable and cheap)."""
    return f"/api/v1/reports/{code}/photos/{photo_id}/{variant}"


def _thumbs(rows, viewer: Viewer = Viewer.PUBLIC) -> dict[int, str]:
    """The first ready photo's thumbnail of each listed report (the rows' thumb_id/thumb_key,
    selected with them: see _item_select), as a stable redirecting URL."""
    out = {}
    for r in rows:
        if r.thumb_id is None or not disclosure.photos_visible(r.status, r.reject_reason, viewer):
            continue
        # The redirect answers the public; what only the reporter may see is signed here instead.
        private = not disclosure.photos_visible(
            r.status, r.reject_reason, Viewer.PUBLIC
        ) or not disclosure.report_visible(r.cat_public, Viewer.PUBLIC)
        out[r.id] = storage.presigned_get(r.thumb_key) if private else photo_path(r.code, r.thumb_id, "thumb")
    return out


def _item_select(*columns, keys: bool = False):
    """SELECT `columns` of reports with what a listed item shows besides, in the same statement
    instead of a round trip each per page (issue 20): its category (cat_code, cat_vi, cat_en,
    cat_public) and its first ready thumbnail's id (thumb_id; NULL when none), and with `keys`
    that thumbnail's storage key too (thumb_key: what only the reporter may see is presigned).
    The thumbnail is a correlated subquery in the select list, not a LATERAL join: PostgreSQL
    evaluates it after the sort and limit, so only for the page's rows (a join looked up the
    photos of all 649 candidates of a 1 km box at 1M reports)."""
    ready = (Photo.report_id == Report.id, Photo.thumb_key.is_not(None))
    first = select(func.min(Photo.id)).where(*ready).scalar_subquery()
    extra = [first.label("thumb_id")]
    if keys:
        extra.append(
            select(Photo.thumb_key).where(*ready).order_by(Photo.id).limit(1).scalar_subquery().label("thumb_key")
        )
    return select(
        *columns,
        Category.code.label("cat_code"),
        Category.name_vi.label("cat_vi"),
        Category.name_en.label("cat_en"),
        Category.public.label("cat_public"),
        *extra,
    ).join(Category, Category.id == Report.category_id)


def photo_redirect(code: str, photo_id: int, variant: str, token: str | None = None, user_id: int | None = None) -> str:
    """The presigned URL behind photo_path(); 404 unless that public copy exists and
    disclosure lets this viewer see the report's photos."""
    key_column = {"display": Photo.display_key, "thumb": Photo.thumb_key}.get(variant)
    norm = normalize_code(code)
    row = (
        db.session.execute(
            select(
                key_column.label("key"),
                Report.status,
                Report.reject_reason,
                Report.citizen_token_hash,
                Report.reporter_user_id,
                Category.public,
            )
            .join(Report, Report.id == Photo.report_id)
            .join(Category, Category.id == Report.category_id)
            .where(Photo.id == photo_id, Report.code == norm)
        ).first()
        if key_column is not None and norm
        else None
    )
    key = None
    if row is not None:
        viewer = disclosure.viewer_for_token(token, user_id, row)
        if disclosure.report_visible(row.public, viewer) and disclosure.photos_visible(
            row.status, row.reject_reason, viewer
        ):
            key = row.key
    if key is None:
        raise NotFound(
            "photo_not_found",
            "No such public photo (it may still be processing).",
            "Không có ảnh công khai này (ảnh có thể đang được xử lý).",
        )
    return storage.presigned_get(key)


def _items(rows, vi: bool, extra=None, viewer: Viewer = Viewer.PUBLIC) -> list[dict]:
    thumbs = _thumbs(rows, viewer)
    return [
        {
            "code": r.code,
            "status": r.status,
            "category": _category_view(r, vi),
            "location": _location(r, viewer),
            "created_at": r.created_at,
            "followers_count": r.followers_count,
            "thumb_url": thumbs.get(r.id),
            **(extra(r) if extra else {}),
        }
        for r in rows
    ]


def _location(r, viewer: Viewer) -> dict:
    lon, lat = disclosure.location(r.lon, r.lat, r.status, r.reject_reason, viewer)
    return {"lat": lat, "lon": lon}


_ITEM_COLUMNS = (
    Report.id,
    Report.code,
    Report.status,
    Report.reject_reason,
    Report.category_id,
    Report.created_at,
    Report.followers_count,
    func.ST_X(Report.location).label("lon"),
    func.ST_Y(Report.location).label("lat"),
)


def statuses(raw: str | None) -> list[str] | None:
    """'open', 'closed' or a comma list of statuses."""
    if not raw:
        return None
    out: list[str] = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        if part == "open":
            out += OPEN_STATUSES
        elif part == "closed":
            out += [s for s in STATUSES if s not in OPEN_STATUSES]
        elif part in STATUSES:
            out.append(part)
        else:
            raise Unprocessable("unknown_status", f"Unknown status {part!r}.", f"Trạng thái {part!r} không hợp lệ.")
    return [s for s in STATUSES if s in out]


def encode_cursor(created_at: datetime, report_id: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{report_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, rid = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed, int(rid)
    except (ValueError, UnicodeDecodeError):
        raise Invalid(
            "invalid_cursor", "The cursor is not one this API returned.", "Con trỏ phân trang không hợp lệ."
        ) from None


def listing_select(
    *,
    bbox: tuple[float, float, float, float] | None = None,
    status: list[str] | None = None,
    category: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    page_size: int = 50,
    area_id: int | None = None,
    province: str | None = None,
):
    """The listing page as one SELECT (also what the benchmark runs raw): only reports of
    public categories; `category` by its code (no row when it is unknown: see listing)."""
    q = _item_select(*_ITEM_COLUMNS).where(disclosure.public_categories())
    if category is not None:
        q = q.where(Report.category_id == _public_category_id(category))
    if status:
        q = q.where(Report.status.in_(status))
    if area_id is not None:
        q = q.where(Report.area_id == area_id)
    if province is not None:
        q = q.where(Report.province_code == provinces.check(province))
    if bbox:
        q = q.where(Report.location.op("&&")(func.ST_MakeEnvelope(*bbox, 4326)))
    if since:
        q = q.where(Report.created_at >= since)
    if until:
        q = q.where(Report.created_at < until)
    if cursor:
        at, rid = decode_cursor(cursor)
        # The plain inequality lets the created_at indexes bound the scan; the tuple breaks ties.
        q = q.where(Report.created_at <= at, tuple_(Report.created_at, Report.id) < tuple_(at, rid))
    return q.order_by(Report.created_at.desc(), Report.id.desc()).limit(page_size + 1)


def _public_category_id(code: str):
    """SQL: the id of the public category `code` (NULL when there is none), evaluated once per statement."""
    return select(Category.id).where(Category.code == code, disclosure.public_categories()).scalar_subquery()


def listing(*, vi: bool, page_size: int = 50, **filters) -> dict:
    """The public map listing, newest first, keyset-paginated (filters: see listing_select)."""
    rows = db.session.execute(listing_select(page_size=page_size, **filters)).all()
    category = filters.get("category")
    if not rows and category is not None and db.session.scalar(select(_public_category_id(category))) is None:
        raise _unknown_category(category)  # asked only of an empty page: a listed row proves it exists
    more = len(rows) > page_size
    rows = rows[:page_size]
    return {
        "items": _items(rows, vi),
        "page_size": page_size,
        "next_cursor": encode_cursor(rows[-1].created_at, rows[-1].id) if more else None,
    }


def within(lat: float, lon: float, meters: float):
    """Reports within `meters` of a point (on the spheroid), as one indexable condition.

    A degree box around the point lets the GiST index on reports.location find the candidates;
    the exact distance is then measured on the spheroid. As ST_Distance <= meters, not
    ST_DWithin: on geography ST_DWithin adds an index condition on geography(location), which
    has no statistics, so PostgreSQL took ~96,000 reports within 10 km for 5 and chose plans
    of seconds at 1M reports (issue 16); the box alone is estimated from the column's
    statistics and the page is then read newest first.
    """
    pt = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    dy = meters / 110_574 * 1.1
    dx = meters / (111_320 * max(math.cos(math.radians(lat)), 0.01)) * 1.1
    return and_(
        Report.location.op("&&")(func.ST_MakeEnvelope(lon - dx, lat - dy, lon + dx, lat + dy, 4326)),
        func.ST_Distance(func.geography(Report.location), func.geography(pt)) <= meters,
    )


def nearby_select(lat: float, lon: float, category: str, meters: float):
    """Open reports of the active public category `category` within `meters`, nearest first,
    with their unit's names (unit_vi, unit_en), as one SELECT."""
    pt = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    distance = func.ST_Distance(func.geography(Report.location), func.geography(pt)).label("distance_m")
    return (
        _item_select(
            *_ITEM_COLUMNS,
            distance,
            Report.description,
            Report.address_hint,
            Report.reject_reason,
            Report.public_answer,
            Report.unit_id,
            Unit.name.label("unit_vi"),
            Unit.name_en.label("unit_en"),
        )
        .outerjoin(Unit, Unit.id == Report.unit_id)
        .where(
            within(lat, lon, meters),
            Report.category_id
            == select(Category.id)
            .where(Category.code == category, Category.active, disclosure.public_categories())
            .scalar_subquery(),
            Report.status.in_(OPEN_STATUSES),
        )
        .order_by(distance, Report.id)
        .limit(NEARBY_LIMIT)
    )


def nearby(lat: float, lon: float, category: str, vi: bool, meters: float) -> list[dict]:
    """Open reports near a point ("me too" instead of a duplicate), nearest first; those of a
    non-public category are nobody else's to see (an empty list)."""
    rows = db.session.execute(nearby_select(lat, lon, category, meters)).all()
    if not rows and db.session.scalar(select(Category.id).where(Category.code == category, Category.active)) is None:
        raise _unknown_category(category)  # asked only when nothing is near: a row proves it exists
    # "Me too" shows what the report is about and who handles it, so the citizen can tell.
    return _items(
        rows,
        vi,
        extra=lambda r: {
            "distance_m": round(r.distance_m, 1),
            "description": disclosure.report_fields(r, Viewer.PUBLIC)["description"],
            "unit": {"name": r.unit_en if not vi and r.unit_en else r.unit_vi} if r.unit_id is not None else None,
        },
    )


def mine(token_hash: str | None, user_id: int | None, vi: bool, limit: int = 100) -> list[dict]:
    """The reports of one citizen token (the app's) and/or one signed-in citizen, newest first."""
    conds = []
    if token_hash:
        conds.append(Report.citizen_token_hash == token_hash)
    if user_id:
        conds.append(Report.reporter_user_id == user_id)
    if not conds:
        return []
    rows = db.session.execute(
        _item_select(
            *_ITEM_COLUMNS,
            Report.rating,
            Report.resolved_at,
            Report.public_answer,
            Report.citizen_due_at,
            Report.due_at,
            Report.updated_at,
            keys=True,
        )
        .where(or_(*conds))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit)
    ).all()
    return _items(
        rows,
        vi,
        viewer=Viewer.REPORTER,
        extra=lambda r: {
            "rating": r.rating,
            "public_answer": r.public_answer,
            "updated_at": r.updated_at,
            "due_at": r.citizen_due_at or r.due_at,
            "resolved_at": r.resolved_at,
        },
    )
