"""Reading GeoReport arguments: W3C datetimes, comma lists, paging, service_code, attribute[code] fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

from fieldreport import inputs, links
from fieldreport.errors import Invalid, NotFound, Unprocessable
from fieldreport.models import Category
from fieldreport.open311.render import local_tz
from fieldreport.services import categories, provinces

MAX_PAGE_SIZE = 1000
# Tracking codes in one service_request_id list: 500 of 10 characters, commas URL-encoded,
# is 6.5 KB, inside gunicorn's 8190-byte request line (config/gunicorn.conf.py).
MAX_IDS = 500
URL_MAX = 2000
_W3C_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_ATTR = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def arg(args: Mapping, name: str) -> str | None:
    """An optional argument: empty means absent, as the spec says."""
    value = args.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def w3c_datetime(args: Mapping, name: str) -> datetime | None:
    """Parse a W3C (ISO 8601 subset) datetime; a date alone is local midnight.

    The spec requires a zone on datetimes; a client that omits it means local time.
    """
    raw = arg(args, name)
    if raw is None:
        return None
    try:
        if _W3C_DATE.match(raw):
            parts = [int(p) for p in raw.split("-")] + [1, 1]
            return datetime.combine(datetime(parts[0], parts[1], parts[2]).date(), time(), tzinfo=local_tz())
        text = raw
        if "T" in text and text.count(" ") == 1:  # an unencoded "+07:00" arrives as " 07:00"
            text = text.replace(" ", "+")
        if text[-1:] in ("z", "Z"):
            text = text[:-1] + "+00:00"
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            "invalid_datetime",
            f"{name} must be a W3C datetime such as 2025-07-01T00:00:00+07:00.",
            f"{name} phải là thời điểm dạng W3C, ví dụ 2025-07-01T00:00:00+07:00.",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_tz())
    return value


def jurisdiction(args: Mapping) -> str | None:
    """The province a `jurisdiction_id` names (docs/open311.md), None for the whole deployment.

    With one province the argument is ignored, as it always was. With several: a served
    province's code ("56"), or the deployment's host and the code ("<host>/56"); the host
    alone is the whole deployment; anything else is 404 unknown_jurisdiction.
    """
    raw = arg(args, "jurisdiction_id")
    if raw is None or not provinces.is_multi():
        return None
    host = (urlsplit(links.public_base()).hostname or "").lower()
    domain, _, code = raw.rpartition("/")
    if not domain and code.lower() == host:
        return None
    served = [p["code"] for p in provinces.listing()]
    if (not domain or domain.lower() == host) and code in served:
        return code
    raise NotFound(
        "unknown_jurisdiction",
        f"jurisdiction_id {raw!r} is not served here; use a province code ({', '.join(served)}) or {host}/<code>.",
        f"Không phục vụ jurisdiction_id {raw!r}; dùng mã tỉnh ({', '.join(served)}) hoặc {host}/<mã tỉnh>.",
    )


def csv(args: Mapping, name: str, limit: int = MAX_PAGE_SIZE) -> list[str]:
    """A comma-delimited argument, also accepted repeated (`status=open&status=closed`)."""
    values = args.getlist(name) if isinstance(args, MultiDict) else [args.get(name) or ""]
    items = [v.strip() for raw in values for v in (raw or "").split(",") if v.strip()]
    if len(items) > limit:
        raise Invalid("too_many_values", f"At most {limit} values of {name}.", f"Tối đa {limit} giá trị cho {name}.")
    return list(dict.fromkeys(items))


def positive_int(args: Mapping, name: str, default: int, maximum: int = inputs.MAX_PAGE) -> int:
    return inputs.bounded_int(arg(args, name), name, default, maximum)


def flag(args: Mapping, name: str) -> bool:
    return (arg(args, name) or "").lower() in {"1", "true", "yes", "on"}


def coordinate(args: Mapping, name: str, low: float, high: float) -> float | None:
    raw = arg(args, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (low <= value <= high):  # also false for NaN
        raise Invalid(
            "invalid_coordinate",
            f"{name} must be a number between {low} and {high}.",
            f"{name} phải là số trong khoảng {low} đến {high}.",
        )
    return value


RADIUS_DEFAULT = 1000.0  # metres, when lat/long come without radius
RADIUS_MAX = 50_000.0


def near(args: Mapping) -> tuple[float, float, float] | None:
    """The near-me extension: `lat`, `long` (WGS84) and `radius` in metres (default 1 km)."""
    lat, lon = coordinate(args, "lat", -90, 90), coordinate(args, "long", -180, 180)
    radius = arg(args, "radius")
    if lat is None and lon is None:
        if radius is not None:
            raise Invalid("radius_without_point", "radius needs lat and long.", "radius cần lat và long.")
        return None
    if lat is None or lon is None:
        raise Unprocessable("coordinates_incomplete", "Send both lat and long.", "Cần gửi cả lat và long.")
    try:
        meters = RADIUS_DEFAULT if radius is None else float(radius)
    except ValueError:
        meters = float("nan")
    if not 0 < meters <= RADIUS_MAX:  # also false for NaN
        raise Invalid(
            "invalid_radius",
            f"radius must be metres, more than 0 and at most {RADIUS_MAX:.0f}.",
            f"radius phải là số mét, lớn hơn 0 và không quá {RADIUS_MAX:.0f}.",
        )
    return lat, lon, meters


def bbox(args: Mapping) -> tuple[float, float, float, float] | None:
    """`bbox=minlon,minlat,maxlon,maxlat` in WGS84 degrees."""
    raw = arg(args, "bbox")
    if raw is None:
        return None
    try:
        box = tuple(float(v) for v in raw.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (-180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90):
        raise Invalid(
            "invalid_bbox",
            "bbox must be minlon,minlat,maxlon,maxlat in degrees, with min < max.",
            "bbox phải là minlon,minlat,maxlon,maxlat (độ), với min < max.",
        )
    return box


def attributes(form: MultiDict) -> dict[str, list[str]]:
    """`attribute[code]=v` and `attribute[code][]=v1&attribute[code][]=v2` → {code: [values]}."""
    out: dict[str, list[str]] = {}
    for key in form.keys():
        m = _ATTR.match(key)
        if m:
            values = [v for v in form.getlist(key) if v is not None]
            out.setdefault(m.group(1), []).extend(values)
    return out


def url(args: Mapping, name: str) -> str | None:
    """An http(s) URL kept as given (never fetched)."""
    value = arg(args, name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > URL_MAX:
        raise Invalid("invalid_url", f"{name} must be an http(s) URL.", f"{name} phải là địa chỉ http(s).")
    return value


def text(args: Mapping, name: str, limit: int) -> str | None:
    value = arg(args, name)
    if value is not None and len(value) > limit:
        raise Unprocessable(
            "text_too_long", f"{name} is longer than {limit} characters.", f"{name} dài quá {limit} ký tự."
        )
    return value


def service_category(code: str | None) -> Category:
    """The active public category with this service_code: 400 when absent, 404 when unknown."""
    if not code:
        raise Invalid("service_code_missing", "service_code is required.", "Thiếu service_code.")
    cat = categories.public_category(code)
    if cat is None:
        raise NotFound(
            "service_not_found", f"service_code {code!r} was not found.", f"Không tìm thấy service_code {code!r}."
        )
    return cat


def form_attributes(cat: Category, form: MultiDict) -> dict:
    """`attribute[...]` fields shaped for intake, which checks them against the definition.

    Empty values are dropped: the spec treats an empty optional argument as an absent one.
    Codes the service does not define are ignored: clients send attributes of other servers'
    definitions, and the spec's answer to extra arguments is to ignore them.
    """
    kinds = {str(a["code"]): a["datatype"] for a in categories.attributes(cat)}
    out: dict = {}
    for code, values in attributes(form).items():
        values = [v.strip() for v in values if v and v.strip()]
        if not values or code not in kinds:
            continue
        if kinds.get(code) == "multivaluelist":
            out[code] = list(dict.fromkeys(values))
        elif len(values) > 1:
            raise Unprocessable(
                "invalid_attribute", f"attribute[{code}] takes one value.", f"attribute[{code}] chỉ nhận một giá trị."
            )
        else:
            out[code] = values[0]
    return out
