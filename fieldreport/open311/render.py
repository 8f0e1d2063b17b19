"""GeoReport v2 wire formats: XML and JSON by path suffix, W3C datetimes, errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, current_app, json, request

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
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False, sort_keys=False)  # keep the spec's order
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
