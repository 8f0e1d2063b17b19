"""Open data: public reports as GeoJSON and CSV (CC BY 4.0, fields in docs/open-data.md), Atom feeds.

Both formats stream (one row at a time from a server-side cursor), take the public map's
filters (category, status, area, period, from, to) and carry only what services.disclosure
gives the public. Feeds: the latest updated reports of a commune, of a category, or of all.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from xml.sax.saxutils import escape

from flask import (
    Blueprint,
    Response,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from fieldreport import links
from fieldreport.errors import DomainError
from fieldreport.services import public_map
from fieldreport.web import i18n
from fieldreport.web.public import answer_error, inject

bp = Blueprint("opendata", __name__, url_prefix="/public")
bp.register_error_handler(DomainError, answer_error)
bp.context_processor(inject)

LICENCE = "CC-BY-4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
LICENCE_LINK = f'<{LICENCE_URL}>; rel="license"'


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


@bp.get("/open-data")
def index():
    """What is published, under which licence, and the links."""
    return render_template("public/open_data.html", fields=public_map.FIELDS, licence_url=LICENCE_URL)


@bp.get("/data/reports.geojson")
def geojson():
    f = public_map.parse_filters(request.args)
    vi = i18n.current_lang() == "vi"
    base = links.public_base()
    found = public_map.rows(f, vi=vi)  # checks the filters before the 200 goes out

    def body():
        yield (
            '{"type":"FeatureCollection","license":'
            + json.dumps(LICENCE)
            + ',"license_url":'
            + json.dumps(LICENCE_URL)
            + ',"attribution":'
            + json.dumps("fieldreport — phản ánh hiện trường")
            + ',"features":['
        )
        first = True
        for row in found:
            props = {k: _iso(v) for k, v in row.items() if k not in ("lon", "lat")}
            props["url"] = base + row["url"]
            feature = {
                "type": "Feature",
                "id": row["code"],
                "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                "properties": props,
            }
            yield ("" if first else ",") + json.dumps(feature, ensure_ascii=False, separators=(",", ":"))
            first = False
        yield "]}"

    return Response(
        stream_with_context(body()),
        mimetype="application/geo+json",
        headers={"Link": LICENCE_LINK, "Content-Disposition": 'inline; filename="reports.geojson"'},
    )


@bp.get("/data/reports.csv")
def csv_export():
    f = public_map.parse_filters(request.args)
    vi = i18n.current_lang() == "vi"
    base = links.public_base()
    found = public_map.rows(f, vi=vi)  # checks the filters before the 200 goes out

    def body():
        buf = io.StringIO()
        out = csv.writer(buf)
        buf.write("\ufeff")  # Excel opens UTF-8 Vietnamese correctly only with the BOM
        out.writerow(public_map.FIELDS)
        for row in found:
            row["url"] = base + row["url"]
            out.writerow([_iso(row[k]) if row[k] is not None else "" for k in public_map.FIELDS])
            if buf.tell() > 64_000:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return Response(
        stream_with_context(body()),
        mimetype="text/csv",
        headers={"Link": LICENCE_LINK, "Content-Disposition": 'attachment; filename="reports.csv"'},
    )


def title_of(status: str, e: dict) -> str:
    return f"[{status}] {e['category_name']} — {e['area_name'] or ''}".strip(" —")


def _feed(title: str, f: public_map.Filters, self_url: str) -> Response:
    vi = i18n.current_lang() == "vi"
    base = links.public_base()
    entries = list(public_map.rows(f, order="updated", limit=public_map.FEED_ENTRIES, vi=vi))
    updated = max((e["updated_at"] for e in entries), default=None)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(title)}</title>",
        f"<id>{escape(self_url)}</id>",
        f'<link rel="self" href="{escape(self_url)}"/>',
        f'<link rel="alternate" href="{escape(base + url_for("web.public.index", **f.query_args()))}"/>',
        f"<updated>{_iso(updated) or '1970-01-01T00:00:00+00:00'}</updated>",
        f"<rights>{escape(LICENCE)} {escape(LICENCE_URL)}</rights>",
        "<author><name>fieldreport</name></author>",
    ]
    for e in entries:
        link = base + e["url"]
        status = i18n.status_label(e["status"])
        text = " ".join(x for x in (e["description"], e["public_answer"]) if x)
        parts += [
            "<entry>",
            f"<id>{escape(link)}</id>",
            f"<title>{escape(title_of(status, e))}</title>",
            f'<link rel="alternate" href="{escape(link)}"/>',
            f"<updated>{_iso(e['updated_at'])}</updated>",
            f"<published>{_iso(e['created_at'])}</published>",
            f'<category term="{escape(e["category_code"])}"/>',
            f'<summary type="text">{escape(text)}</summary>' if text else "",
            "</entry>",
        ]
    parts.append("</feed>")
    return Response("\n".join(p for p in parts if p), mimetype="application/atom+xml")


@bp.get("/feeds/reports.atom")
def feed_all():
    return _feed(f"{i18n.t('app_name')}", public_map.Filters(), links.absolute(request.full_path))


@bp.get("/feeds/communes/<code>.atom")
def feed_commune(code: str):
    f = public_map.Filters(area=code)
    public_map.area_id(code)  # an unknown commune is a 422, not an empty feed
    return _feed(f"{i18n.t('app_name')} — {code}", f, links.absolute(request.full_path))


@bp.get("/feeds/categories/<code>.atom")
def feed_category(code: str):
    return _feed(f"{i18n.t('app_name')} — {code}", public_map.Filters(category=code), links.absolute(request.full_path))
