"""Public transparency pages: the map and list of reports, each report's page, unit scorecards.

Server-rendered, Vietnamese first, shareable URLs (every filter is in the query string). What a
page shows of a report is what services.disclosure gives the public; the figures are the
indicator service's, through services.scorecards. Open data and Atom feeds: web/opendata.py.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from fieldreport.errors import DomainError, Unprocessable, domain_problem
from fieldreport.models import PhotoKind
from fieldreport.services import categories, communes, provinces, public, public_map, scorecards
from fieldreport.services.disclosure import Viewer
from fieldreport.web import i18n

bp = Blueprint("public", __name__, url_prefix="/public")
DATA_SUFFIXES = (".json", ".geojson", ".csv", ".atom")

# key → (Vietnamese, English): the words of these pages only (the shared catalogue is the console's).
MESSAGES = {
    "title": ("Phản ánh hiện trường công khai", "Public field reports"),
    "map": ("Bản đồ phản ánh", "Map of reports"),
    "scorecard": ("Kết quả xử lý của các đơn vị", "How units handle reports"),
    "open_data": ("Dữ liệu mở", "Open data"),
    "send_report": ("Gửi phản ánh", "Send a report"),
    "category": ("Lĩnh vực", "Category"),
    "status": ("Trạng thái", "Status"),
    "commune": ("Xã, phường", "Commune"),
    "province": ("Tỉnh, thành phố", "Province"),
    "period": ("Thời gian", "Period"),
    "all": ("Tất cả", "All"),
    "open": ("Đang xử lý", "Open"),
    "closed": ("Đã kết thúc", "Closed"),
    "7d": ("7 ngày qua", "Last 7 days"),
    "30d": ("30 ngày qua", "Last 30 days"),
    "90d": ("90 ngày qua", "Last 90 days"),
    "365d": ("12 tháng qua", "Last 12 months"),
    "from": ("Từ ngày", "From"),
    "to": ("Đến ngày", "To"),
    "filter": ("Lọc", "Filter"),
    "reset": ("Bỏ lọc", "Clear"),
    "list": ("Danh sách phản ánh", "List of reports"),
    "none": ("Không có phản ánh nào phù hợp.", "No report matches."),
    "more": ("Xem thêm", "More"),
    "map_label": ("Bản đồ các phản ánh (cụm điểm)", "Map of reports (clustered)"),
    "report": ("Phản ánh", "Report"),
    "submitted_at": ("Ngày gửi", "Sent on"),
    "area": ("Địa bàn", "Area"),
    "unit": ("Đơn vị xử lý", "Handling unit"),
    "due": ("Hạn xử lý", "Due"),
    "followers": ("Người cùng phản ánh", "Others reporting it"),
    "description": ("Nội dung", "Description"),
    "withheld": (
        "Nội dung và hình ảnh của phản ánh này không được công khai.",
        "The text and photos of this report are not published.",
    ),
    "answer": ("Trả lời của đơn vị", "The unit's answer"),
    "before": ("Trước khi xử lý", "Before"),
    "after": ("Sau khi xử lý", "After"),
    "timeline": ("Quá trình xử lý", "Timeline"),
    "rating": ("Đánh giá của người dân", "Citizen's rating"),
    "share": ("Đường dẫn chia sẻ", "Link to share"),
    "reason": ("Lý do", "Reason"),
    "new_due": ("Hạn mới", "New date"),
    "summary": ("Toàn tỉnh", "Province-wide"),
    "received": ("Tiếp nhận", "Received"),
    "resolved": ("Đã giải quyết", "Resolved"),
    "on_time_rate": ("Đúng hạn", "On time"),
    "satisfaction": ("Hài lòng", "Satisfaction"),
    "median_hours": ("Thời gian xử lý (trung vị, giờ làm việc)", "Handling time (median, working hours)"),
    "reports": ("Số phản ánh", "Reports"),
    "backlog": ("Đang tồn", "Backlog"),
    "rank": ("Hạng", "Rank"),
    "too_few": ("Quá ít phản ánh để xếp hạng", "Too few reports to rank"),
    "worst_first": ("Xếp từ thấp nhất", "Worst first"),
    "best_first": ("Xếp từ cao nhất", "Best first"),
    "group_commune": ("UBND xã, phường", "Commune committees"),
    "group_department": ("Sở, ngành", "Departments"),
    "group_utility": ("Doanh nghiệp dịch vụ công", "Utilities and contractors"),
    "group_police": ("Công an", "Police"),
    "peers": ("Trung vị các đơn vị cùng nhóm", "Median of the peer group"),
    "month": ("Tháng", "Month"),
    "quarter": ("Quý", "Quarter"),
    "year": ("Năm", "Year"),
    "week": ("Tuần", "Week"),
    "period_of": ("Kỳ", "Period"),
    "min_reports_note": (
        (
            "Đơn vị có dưới {n} phản ánh trong kỳ được đánh dấu, không xếp hạng. "
            "Số liệu của sở, ngành gồm cả các đơn vị trực thuộc."
        ),
        (
            "Units with fewer than {n} reports in the period are flagged, not ranked. "
            "A department's figures include the units under it."
        ),
    ),
    "na": ("không áp dụng", "n/a"),
}


def pt(key: str, **kwargs) -> str:
    pair = MESSAGES.get(key)
    text = (pair[0] if i18n.current_lang() == "vi" else pair[1]) if pair else i18n.t(key)
    return text.format(**kwargs) if kwargs else text


@bp.context_processor
def inject():
    return {"pt": pt, "vi": i18n.current_lang() == "vi"}


@bp.errorhandler(DomainError)
def answer_error(exc: DomainError):
    """Data URLs answer problem+json; pages answer a page."""
    if request.path.endswith(DATA_SUFFIXES):
        return domain_problem(exc)
    msg = exc.message_vi if i18n.current_lang() == "vi" else exc.message_en
    return render_template("error.html", status=exc.status, message=msg), exc.status


def _vi() -> bool:
    return i18n.current_lang() == "vi"


@bp.get("/")
def index():
    """The map of reports and the list beside it, filtered by the query string."""
    f = public_map.parse_filters(request.args)
    page = public_map.listing(f, _vi(), cursor=request.args.get("cursor"))
    return render_template(
        "public/index.html",
        f=f,
        page=page,
        categories=categories.public_categories(),
        communes=communes.listed(f.province),  # a filter's province is a served one
        provinces=provinces.listing() if provinces.is_multi() else [],
        periods=list(public_map.PERIODS),
        args=f.query_args(),
    )


@bp.get("/clusters.json")
def clusters():
    """Server-side clusters for the map (zoom, bbox=w,s,e,n, and the page's filters)."""
    f = public_map.parse_filters(request.args)
    try:
        zoom = int(request.args.get("zoom", 12))
        bbox = tuple(float(v) for v in request.args["bbox"].split(",")) if request.args.get("bbox") else None
    except ValueError:
        raise Unprocessable(
            "bad_map_view",
            "zoom is an integer and bbox is w,s,e,n in degrees.",
            "zoom là số nguyên, bbox là tây,nam,đông,bắc (độ).",
        ) from None
    if bbox is not None and (
        len(bbox) != 4 or not (-180 <= bbox[0] <= bbox[2] <= 180) or not (-90 <= bbox[1] <= bbox[3] <= 90)
    ):
        raise Unprocessable("bad_bbox", "bbox is w,s,e,n in degrees.", "bbox là tây,nam,đông,bắc (độ).")
    resp = jsonify(public_map.clusters(f, zoom, bbox))
    resp.cache_control.public = True
    resp.cache_control.max_age = 60
    return resp


@bp.get("/reports/<code>")
def report(code: str):
    """One report's public page: photos before/after, the unit's answer, the timeline."""
    found, _ = public.visible(code)  # the public page is the public's, whatever cookie comes with it
    view = public.view(found, _vi(), Viewer.PUBLIC)
    share = url_for("web.public.report", code=found.code, _external=True)
    return render_template(
        "public/report.html",
        r=view,
        share=share,
        before=[p for p in view["photos"] if p["kind"] != PhotoKind.AFTER],
        after=[p for p in view["photos"] if p["kind"] == PhotoKind.AFTER],
    )


def _period_args():
    kind = request.args.get("period") or "month"
    start = request.args.get("from")
    try:
        start_day = date.fromisoformat(start) if start else None
    except ValueError:
        raise Unprocessable(
            "bad_date", "from must be a date (YYYY-MM-DD).", "from phải là ngày dạng YYYY-MM-DD.", field="from"
        ) from None
    return kind, start_day


@bp.get("/scorecard")
def scorecard():
    """The province summary and each peer group's ranking for a period."""
    kind, start = _period_args()
    data = scorecards.table(kind, start)
    worst = request.args.get("order") == "worst"
    groups = {g: scorecards.ranking(data, g, worst) for g in scorecards.PEER_GROUPS}
    return render_template("public/scorecard.html", data=data, groups=groups, worst=worst, kind=kind, start=start)


@bp.get("/units/<code>")
def unit(code: str):
    """One unit's scorecard against its peers."""
    kind, start = _period_args()
    data = scorecards.table(kind, start)
    try:
        card = scorecards.unit_card(data, code)
    except DomainError:
        abort(404)
    return render_template("public/unit.html", data=data, card=card, kind=kind, start=start)
