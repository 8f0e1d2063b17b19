"""The dashboard's on-screen tables as a CSV or XLSX download (small: one row per unit/commune)."""
from __future__ import annotations

import csv
import io

from flask import Response

FORMATS = ("csv", "xlsx")
COLUMNS = [  # (header, path into an indicator row)
    ("reports", ("reports",)), ("on_time", ("on_time",)), ("late", ("late",)),
    ("on_time_rate", ("on_time_rate",)), ("late_rate", ("late_rate",)),
    ("resolved", ("resolved",)), ("rejected", ("rejected",)), ("backlog", ("backlog",)),
    ("handling_wh_mean", ("handling_time", "working_hours", "mean")),
    ("handling_wh_median", ("handling_time", "working_hours", "median")),
    ("handling_wh_p90", ("handling_time", "working_hours", "p90")),
    ("handling_ch_median", ("handling_time", "calendar_hours", "median")),
    ("first_response_wh_median", ("first_response", "working_hours", "median")),
    ("satisfaction_rate", ("satisfaction", "rate")), ("rated", ("satisfaction", "rated")),
    ("mean_rating", ("satisfaction", "mean_rating")), ("transfers", ("transfers",)),
    ("auto_routed_share", ("auto_routed_share",)),
]


def _get(row: dict, path: tuple[str, ...]):
    for key in path:
        row = (row or {}).get(key)
    return row


def rows(data: dict, lang: str) -> list[list]:
    """Header + one line per unit, commune and category, then the total."""
    bands = list(data["by_unit"]["total"]["overdue_backlog"])
    p = data["period"]
    head = ["group", "code", "name", "from", "to", *[c for c, _ in COLUMNS],
            *[f"overdue_{b}" for b in bands]]
    out = [head]

    def line(group, code, name, r):
        out.append([group, code, name, p.start.isoformat(), p.last.isoformat(),
                    *[_get(r, path) for _, path in COLUMNS],
                    *[r["overdue_backlog"].get(b, 0) for b in bands]])

    for r in data["by_unit"]["rows"]:
        line("unit", r["unit"]["code"], r["unit"]["name"], r)
    for r in data["by_area"]["rows"]:
        line("area", r["area"]["code"], r["area"]["name"], r)
    for r in data["by_category"]["rows"]:
        c = r["category"]
        line("category", c["code"], c["name_vi"] if lang == "vi" else c["name_en"], r)
    line("total", "", "", data["by_unit"]["total"])
    return out


def response(fmt: str, data: dict, lang: str) -> Response:
    table = rows(data, lang)
    p = data["period"]
    name = f"indicators_{p.start.isoformat()}_{p.last.isoformat()}.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")  # Excel opens UTF-8 Vietnamese correctly only with a BOM
        csv.writer(buf).writerows([["" if v is None else v for v in line] for line in table])
        body, mime = buf.getvalue().encode(), "text/csv; charset=utf-8"
    else:
        from openpyxl import Workbook
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("indicators")
        for line in table:
            ws.append(line)
        out = io.BytesIO()
        wb.save(out)
        body, mime = out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
