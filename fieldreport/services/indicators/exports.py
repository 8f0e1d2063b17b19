"""The one indicator export: CSV or XLSX, streamed in constant memory; big ones as an RQ job.

The API's exports, the dashboard's download of its on-screen tables and the export job all
write through here. Two shapes: `groups` (the indicator table of the API, one row per unit/commune/category
plus the total) and `reports` (one row per report and unit of the period, with its state
as of the period end — millions of rows at national scale, read with a server-side cursor).
CSV is written chunk by chunk; XLSX through openpyxl's write-only workbook (rows go to a
temporary file, never all in memory). An export larger than EXPORT_SYNC_MAX_ROWS (default
50,000 rows) is not streamed in the request: it becomes a job (export_jobs.py) that writes
the file to object storage.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime

from flask import current_app
from openpyxl import Workbook
from sqlalchemy import text

from fieldreport.extensions import db
from fieldreport.models.vocab import IntakeChannel
from fieldreport.services import deadlines
from fieldreport.services.indicators import table as indicators
from fieldreport.services.indicators.measures import LATE_OUTCOME, stock
from fieldreport.services.indicators.periods import Period, first_day_after
from fieldreport.services.indicators.query import filters

CHUNK_ROWS = 2000
MIME = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FORMATS = tuple(MIME)
GROUP_COLUMNS = [
    "group",
    "code",
    "name",
    "received",
    "reports",
    "on_time",
    "late",
    "on_time_rate",
    "late_rate",
    "answered",
    "resolved",
    "rejected",
    "backlog",
    "overdue_0_2",
    "overdue_3_5",
    "overdue_6_10",
    "overdue_over_10",
    "handling_n",
    "handling_wh_mean",
    "handling_wh_median",
    "handling_wh_p90",
    "handling_ch_mean",
    "handling_ch_median",
    "handling_ch_p90",
    "first_response_n",
    "first_response_wh_mean",
    "first_response_wh_median",
    "first_response_wh_p90",
    "first_response_ch_mean",
    "satisfaction_rate",
    "dissatisfied",
    "rated",
    "rating_1",
    "rating_2",
    "rating_3",
    "rating_4",
    "rating_5",
    "mean_rating",
    "reopened",
    "transfers",
    "transfers_per_report",
    "auto_routed",
    "auto_routed_share",
]
# Column headers: Vietnamese by default, English (the stable machine names) with lang=en.
HEADERS_VI = {
    "group": "Nhóm",
    "code": "Mã",
    "name": "Tên",
    "received": "Tiếp nhận",
    "reports": "Phản ánh trong kỳ",
    "on_time": "Đúng hạn",
    "late": "Trễ hạn",
    "on_time_rate": "Tỷ lệ đúng hạn (%)",
    "late_rate": "Tỷ lệ trễ hạn (%)",
    "answered": "Đã trả lời",
    "resolved": "Đã xử lý xong",
    "rejected": "Từ chối, trùng, đóng",
    "backlog": "Tồn đọng",
    "overdue_0_2": "Quá hạn 0–2 ngày",
    "overdue_3_5": "Quá hạn 3–5 ngày",
    "overdue_6_10": "Quá hạn 6–10 ngày",
    "overdue_over_10": "Quá hạn trên 10 ngày",
    "handling_n": "Số đã xử lý xong (tính thời gian)",
    "handling_wh_mean": "Thời gian xử lý trung bình (giờ làm việc)",
    "handling_wh_median": "Thời gian xử lý trung vị (giờ làm việc)",
    "handling_wh_p90": "Thời gian xử lý P90 (giờ làm việc)",
    "handling_ch_mean": "Thời gian xử lý trung bình (giờ)",
    "handling_ch_median": "Thời gian xử lý trung vị (giờ)",
    "handling_ch_p90": "Thời gian xử lý P90 (giờ)",
    "first_response_n": "Số có phản hồi đầu tiên",
    "first_response_wh_mean": "Phản hồi đầu tiên trung bình (giờ làm việc)",
    "first_response_wh_median": "Phản hồi đầu tiên trung vị (giờ làm việc)",
    "first_response_wh_p90": "Phản hồi đầu tiên P90 (giờ làm việc)",
    "first_response_ch_mean": "Phản hồi đầu tiên trung bình (giờ)",
    "satisfaction_rate": "Tỷ lệ hài lòng (%)",
    "dissatisfied": "Không hài lòng",
    "rated": "Số lượt đánh giá",
    **{f"rating_{k}": f"Đánh giá {k} sao" for k in range(1, 6)},
    "mean_rating": "Điểm đánh giá trung bình",
    "reopened": "Mở lại",
    "transfers": "Lượt chuyển đi",
    "transfers_per_report": "Lượt chuyển / phản ánh tiếp nhận",
    "auto_routed": "Tự động phân công",
    "auto_routed_share": "Tỷ lệ tự động phân công (%)",
    "report_code": "Mã phản ánh",
    "unit_code": "Mã đơn vị",
    "category_code": "Mã lĩnh vực",
    "area_code": "Mã xã/phường",
    "channel": "Kênh tiếp nhận",
    "received_at": "Thời điểm tiếp nhận",
    "due_at": "Hạn xử lý",
    "answered_at": "Thời điểm trả lời",
    "answer_kind": "Hình thức trả lời",
    "counted": "Tính vào kỳ",
    "handling_wh": "Thời gian xử lý (giờ làm việc)",
    "handling_ch": "Thời gian xử lý (giờ)",
    "first_response_wh": "Phản hồi đầu tiên (giờ làm việc)",
    "rating": "Đánh giá",
}
REPORT_COLUMNS = [
    "report_code",
    "unit_code",
    "category_code",
    "area_code",
    "channel",
    "received_at",
    "due_at",
    "answered_at",
    "answer_kind",
    "counted",
    "on_time",
    "late",
    "handling_wh",
    "handling_ch",
    "first_response_wh",
    "rating",
    "reopened",
    "transfers",
    "auto_routed",
]


# The channels a report comes in by (reports.channel); an Open311 client is "open311:<name>".
CHANNEL_NAMES: dict[str, tuple[str, str]] = {
    IntakeChannel.APP: ("Ứng dụng di động", "Mobile app"),
    IntakeChannel.WEB: ("Trang web", "Web"),
    IntakeChannel.HOTLINE: ("Đường dây nóng", "Hotline"),
    IntakeChannel.COUNTER: ("Bộ phận tiếp nhận", "Reception desk"),
    IntakeChannel.ZALO: ("Zalo OA", "Zalo OA"),
}


def channel_name(channel: str, lang: str = "vi") -> str:
    """A channel's name for people: a known one in `lang`, an Open311 client by its name."""
    if channel in CHANNEL_NAMES:
        return CHANNEL_NAMES[channel][0 if lang == "vi" else 1]
    if channel.startswith("open311:"):
        return f"Open311: {channel.split(':', 1)[1]}"
    return channel


def header(columns: list[str], lang: str = "vi") -> list[str]:
    """The header line in `lang` ("vi" or "en")."""
    return list(columns) if lang == "en" else [HEADERS_VI[c] for c in columns]


def _na(value):
    """Ratios print with two decimals and "n/a" for a denominator of 0."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.2f}"
    return value


def group_rows(table: dict, lang: str = "vi") -> Iterator[list]:
    """Flatten compute()'s answer: the groups, then the total."""
    return tables_rows([table], table["total"], lang)


def tables_rows(tables: list[dict], total: dict, lang: str = "vi") -> Iterator[list]:
    """The rows of several compute() answers one after another (e.g. the dashboard's tables
    by unit, by commune and by category), then one total line."""
    for row in [*(r for t in tables for r in t["rows"]), {"total": True, **total}]:
        if "unit" in row:
            label = ("unit", row["unit"]["code"], row["unit"]["name"])
        elif "area" in row:
            label = ("area", row["area"]["code"], row["area"]["name"])
        elif "category" in row:
            c = row["category"]
            label = ("category", c["code"], c["name_vi"] if lang == "vi" else c["name_en"])
        elif "channel" in row:
            label = ("channel", row["channel"], channel_name(row["channel"], lang))
        else:
            label = ("total", "", "")
        ht, fr, sat = row["handling_time"], row["first_response"], row["satisfaction"]
        ob = row["overdue_backlog"]
        yield [
            *label,
            row["received"],
            row["reports"],
            row["on_time"],
            row["late"],
            _na(row["on_time_rate"]),
            _na(row["late_rate"]),
            row["answered"],
            row["resolved"],
            row["rejected"],
            row["backlog"],
            ob["0-2"],
            ob["3-5"],
            ob["6-10"],
            ob[">10"],
            ht["count"],
            *[_na(ht["working_hours"][k]) for k in ("mean", "median", "p90")],
            *[_na(ht["calendar_hours"][k]) for k in ("mean", "median", "p90")],
            fr["count"],
            *[_na(fr["working_hours"][k]) for k in ("mean", "median", "p90")],
            _na(fr["calendar_hours"]["mean"]),
            _na(sat["rate"]),
            sat["dissatisfied"],
            sat["rated"],
            *[sat["ratings"][str(k)] for k in range(1, 6)],
            _na(sat["mean_rating"]),
            sat["reopened"],
            row["transfers"],
            _na(row["transfers_per_report"]),
            row["auto_routed"],
            _na(row["auto_routed_share"]),
        ]


def _report_query(p: Period, sc: indicators.Scope, t: datetime, count: bool = False):
    """The facts received in the period, each with its state as of T (the table's rules)."""
    where, params = filters("f", sc.unit_ids, sc.area_ids, sc.category_ids)
    where += " AND f.received_day >= :start AND f.received_day < :stop"
    params.update(start=p.start, stop=min(p.end, first_day_after(t)), t=t)
    if count:
        return f"SELECT count(*) FROM indicator_facts f WHERE {where}", params
    out_t = "coalesce(least(f.answered_at, f.handed_late_at) < :t, false)"
    due_t = "coalesce(f.due_at < :t, false)"
    ans_t = "coalesce(f.answered_at < :t, false)"
    return (
        f"""
      SELECT r.code, u.code, c.code, a.code, f.channel, f.received_at, f.due_at,
             CASE WHEN {ans_t} THEN f.answered_at END, CASE WHEN {ans_t} THEN f.answer_kind END,
             {out_t} OR f.open_t, ({out_t} AND NOT {LATE_OUTCOME}) OR (f.open_t AND NOT {due_t}),
             ({out_t} AND {LATE_OUTCOME}) OR (f.open_t AND {due_t}),
             CASE WHEN {ans_t} AND f.answer_kind = 'resolved' THEN f.handling_wh END,
             CASE WHEN {ans_t} AND f.answer_kind = 'resolved' THEN f.handling_ch END,
             CASE WHEN f.first_response_at < :t THEN f.first_response_wh END,
             CASE WHEN f.rated_at < :t THEN f.rating END, coalesce(f.reopened_at < :t, false),
             (SELECT count(*) FROM unnest(f.away_from || f.left_at) m WHERE m < :t), f.auto_routed
      FROM ({stock(where, ":t")}) f
      JOIN reports r ON r.id = f.report_id JOIN units u ON u.id = f.unit_id
      JOIN categories c ON c.id = f.category_id LEFT JOIN areas a ON a.id = f.area_id
      ORDER BY f.received_day, f.report_id, f.unit_id""",
        params,
    )


def count_report_rows(p, sc, t) -> int:
    sql, params = _report_query(p, sc, t, count=True)
    return db.session.execute(text(sql), params).scalar_one()


def report_rows(p, sc, t) -> Iterator[list]:
    """Per-report rows through a server-side cursor (constant memory)."""
    sql, params = _report_query(p, sc, t)
    stmt = text(sql).execution_options(stream_results=True, yield_per=CHUNK_ROWS)
    result = db.session.execute(stmt, params)
    tz = deadlines.zone()
    for row in result:
        out = list(row)
        for i in (5, 6, 7):
            if out[i] is not None:
                out[i] = out[i].astimezone(tz).replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")
        for i in (12, 13, 14):
            if out[i] is not None:
                out[i] = round(out[i], 2)
        yield out


def csv_chunks(header: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM (Excel opens Vietnamese correctly), a chunk every CHUNK_ROWS rows."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else v for v in row])
        if i % CHUNK_ROWS == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def xlsx_file(header: list[str], rows: Iterable[list], title: str = "indicators"):
    """A temporary file holding the workbook (write-only: rows never all in memory)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    wb.save(out)
    out.seek(0)
    return out


def stream(fmt: str, header: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    """The file's bytes, chunk by chunk, in `fmt` ("csv" or "xlsx")."""
    return csv_chunks(header, rows) if fmt == "csv" else file_chunks(xlsx_file(header, rows))


def file_chunks(f, size: int = 256 * 1024) -> Iterator[bytes]:
    try:
        while chunk := f.read(size):
            yield chunk
    finally:
        f.close()


def sync_limit() -> int:
    return int(current_app.config.get("EXPORT_SYNC_MAX_ROWS", 50_000))
