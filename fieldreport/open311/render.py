"""GeoReport v2 wire formats: XML and JSON by path suffix, W3C datetimes, errors; the rows
of services, categories and updates as the spec's dicts."""

from __future__ import annotations

import functools
import re
from collections import namedtuple
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
from flask import Response, current_app, request

from fieldreport.models import OPEN_STATUSES, Category, Event
from fieldreport.open311 import statuses
from fieldreport.services import categories, disclosure
from fieldreport.services.disclosure import Viewer

FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# Characters XML 1.0 cannot carry even escaped; a stray one in a citizen's text must not break
# every client's parser.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# The element name of each item of a list, after the Spark convention the spec's JSON follows.
ITEM_NAMES = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "errors": "error",
    "photos": "photo",
    "service_request_updates": "request_update",
    "media_urls": "media_url",
}


def local_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def stamper(tz: ZoneInfo | None = None) -> Callable[[datetime | None], str | None]:
    """w3c() for a whole list: the zone is looked up once, not per value (1,000 rows x 7)."""
    tz = tz or local_tz()

    def stamp(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(tz).isoformat(timespec="seconds")

    return stamp


def w3c(value: datetime | None) -> str | None:
    """A W3C datetime with its offset, in the deployment's zone, to the second."""
    return stamper()(value)


def fmt_of_path(path: str | None = None) -> str:
    """The format a request asked for by its suffix; XML is the spec's required default."""
    path = path if path is not None else request.path
    return "json" if path.endswith(".json") else "xml"


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return _NOT_XML.sub("", str(value))


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _write(out: list[str], name: str, value) -> None:
    """Append `<name>value</name>`: dicts as child elements, lists as ITEM_NAMES items, None empty.

    Written as strings, not ElementTree nodes: a page of 1,000 requests is 20,000 elements and
    building the tree cost more than the query (bench/queries.py).
    """
    if value is None:
        out.append(f"<{name} />")
    elif isinstance(value, dict):
        out.append(f"<{name}>")
        for k, v in value.items():
            if v is None:  # the common leaves inline: a call per element was most of a page's XML
                out.append(f"<{k} />")
            elif type(v) is str:
                out.append(f"<{k}>{_escape(_NOT_XML.sub('', v))}</{k}>")
            else:
                _write(out, k, v)
        out.append(f"</{name}>")
    elif isinstance(value, (list, tuple)):
        item = ITEM_NAMES.get(name, "item")
        out.append(f"<{name}>")
        for v in value:
            _write(out, item, v)
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{_escape(_text(value))}</{name}>")


def to_xml(root: str, value) -> bytes:
    out: list[str] = []
    _write(out, root, value)
    return XML_DECLARATION + "".join(out).encode("utf-8")


def respond(fmt: str, root: str, value, status: int = 200, headers: dict | None = None) -> Response:
    """One response in `fmt`: XML under element `root`, or the same data as JSON."""
    body: bytes
    if fmt == "json":
        # UTF-8 as is, keys in the spec's order; orjson, because a page of 1,000 requests took
        # the standard encoder 5-14 ms, a tenth of the page (issue 16).
        body = orjson.dumps(value)
    else:
        body = to_xml(root, value)
    resp = Response(body, status=status, content_type=CONTENT_TYPES[fmt])
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def http_status(status: int) -> int:
    """The spec's statuses: 404 missing, 403 key problems, 400 for other client errors.

    Statuses a client should act on differently (retry later, method, size) keep their code.
    """
    if status in (401, 403):
        return 403
    if status in (404, 405, 413, 429) or status >= 500:
        return status
    return 400


def errors(status: int, descriptions: list[str], fmt: str | None = None, headers: dict | None = None) -> Response:
    """The spec's error document: a list of {code, description}."""
    status = http_status(status)
    body = [{"code": status, "description": d} for d in descriptions]
    return respond(fmt or fmt_of_path(), "errors", body, status=status, headers=headers)


def service_row(cat: Category, vi: bool) -> dict:
    """A category as the spec's service row."""
    name = cat.name_vi if vi else cat.name_en
    return {
        "service_code": cat.code,
        "service_name": name,
        "description": (cat.description_vi if vi else cat.description_en) or name,
        "metadata": bool(categories.attributes(cat)),
        "type": "realtime",
        "keywords": cat.keywords or "",  # the spec's JSON has a string, never null
        "group": cat.group,
    }


@functools.cache
def _record(fields: tuple[str, ...]):
    return namedtuple("RequestRow", fields)


def requests(rows: list, photos: dict, vi: bool, extensions: bool) -> list[dict]:
    """Request rows (services/open311_read.py) and their photo URLs → the spec's request dicts."""
    # Rows are copied into plain named tuples first: a SQLAlchemy Row's attribute lookup costs
    # ~0.4 µs and a request reads about 30 of them (a third of a 1,000-row page's CPU, issue 16).
    if rows:
        make = _record(tuple(rows[0]._fields))._make
        rows = [make(r) for r in rows]
    render = renderer(vi, extensions)
    return [render(row, photos.get(row.id, [])) for row in rows]


def renderer(vi: bool, extensions: bool):
    """row, photo URLs → request dict, with what is the same for every row worked out once:
    the zone of the datetimes, each service's notice (a page has 1,000 rows)."""
    w3c = stamper()
    notices: dict[str, str] = {}

    def render(r, photo_urls: list[str]) -> dict:
        notice = notices.get(r.service_code)
        if notice is None:
            notice = notices[r.service_code] = statuses.notice(r, vi)
        return _request(r, photo_urls, vi, extensions, w3c, notice)

    return render


def _request(r, photo_urls: list[str], vi: bool, extensions: bool, w3c, notice: str) -> dict:
    unit_name = (r.unit_vi if vi else (r.unit_en or r.unit_vi)) if r.unit_code else None
    shown = disclosure.content_visible(r.status, r.reject_reason, Viewer.PUBLIC)
    media = (photo_urls or ([r.media_url_given] if r.media_url_given else [])) if shown else []
    lon, lat = disclosure.location(r.lon, r.lat, r.status, r.reject_reason, Viewer.PUBLIC)
    out = {
        "service_request_id": r.code,
        "status": "open" if r.status in OPEN_STATUSES else "closed",
        "status_notes": statuses.notes(r, r.parent_code, unit_name, vi),
        "service_name": r.cat_vi if vi else r.cat_en,
        "service_code": r.service_code,
        "description": disclosure.report_fields(r, Viewer.PUBLIC)["description"],
        "agency_responsible": unit_name,
        "service_notice": notice,
        "requested_datetime": w3c(r.created_at),
        "updated_datetime": w3c(r.updated_at or r.created_at),
        "expected_datetime": w3c(r.citizen_due_at or r.due_at),
        "address": (r.address_hint if shown else None) or r.area_name,
        "address_id": None,
        "zipcode": None,
        "lat": round(lat, 7),
        "long": round(lon, 7),
        "media_url": media[0] if media else None,
    }
    if extensions:
        out["extended_attributes"] = {
            "detailed_status": r.status,
            "status_reason": r.reject_reason,
            "channel": r.channel,
            "agency_code": r.unit_code,
            "area_code": r.area_code,
            "area_name": r.area_name,
            "assigned_datetime": w3c(r.assigned_at),
            "accepted_datetime": w3c(r.accepted_at),
            "resolved_datetime": w3c(r.resolved_at),
            "closed_datetime": w3c(r.closed_at),
            "duplicate_of": r.parent_code,
            "followers_count": r.followers_count,
            "reopen_count": r.reopen_count,
            "media_urls": media,
        }
    return out


def request_updates(rows: list[tuple[Event, str]], vi: bool) -> list[dict]:
    """Public events (with their report's code) as mySociety request_update rows; each
    description is only what disclosure lets the public read (else the status in words)."""
    out = []
    for ev, code in rows:
        note = disclosure.event_note(ev, Viewer.PUBLIC, vi)
        out.append(
            {
                "update_id": str(ev.id),
                "service_request_id": code,
                "status": statuses.update_status(ev),
                "updated_datetime": w3c(ev.at),
                "description": note or statuses.label(ev.to_status, vi),
                "media_url": (ev.data or {}).get("media_url"),
                "external_status_code": ev.to_status,
            }
        )
    return out
