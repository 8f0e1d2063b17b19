"""The one request guard: text, JSON and numbers no view could store or parse are refused first.

PostgreSQL text cannot hold NUL, UTF-8 cannot hold a lone surrogate (JSON's "\\ud800" makes
one), Python's JSON parser recurses once per nesting level (RecursionError at ~1,000) and
refuses integers past 4,300 digits with a ValueError few callers expect. Each of these was a
500 somewhere (report JSON, staff actions, Open311, login, console forms). Instead of a check
per endpoint, `guard` runs before every view, over the path's variables, the query, the form
and the JSON body — parsed here once with bounds, and cached on the request for the view —
and answers 422 (invalid_text) or 400 (json_too_deep, number_too_long, invalid_json) in each
surface's own error shape (the error handlers do the shaping; Open311 answers 400 for both).
Paging numbers go through `bounded_int`, so a page past any OFFSET is a 400 as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from fieldreport.errors import BadInput, Invalid

MAX_JSON_DEPTH = 32  # our deepest body (answers inside a report) is 3 levels
MAX_NUMBER_CHARS = 40  # more than any coordinate, count or id; far below Python's 4,300
MAX_PAGE = 1_000_000  # with a page size of 1,000 the OFFSET still fits a bigint many times
MAX_ID = 2**31 - 1  # PostgreSQL's integer: the largest <int:…> path variable (Id)


def _bad_text(where: str, what_en: str, what_vi: str) -> BadInput:
    return BadInput(
        "invalid_text",
        f"{where} contains {what_en}, which text cannot hold.",
        f"{where} chứa {what_vi}, không thể lưu dưới dạng văn bản.",
        status=422,
        field=where,
    )


def check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise _bad_text(where, "a NUL character (\\u0000)", "ký tự NUL (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad_text(where, "a lone UTF-16 surrogate", "ký tự UTF-16 lẻ (surrogate)") from None


def _number(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise BadInput(
            "number_too_long",
            f"A number in the JSON body has more than {MAX_NUMBER_CHARS} characters.",
            f"Một số trong nội dung JSON dài hơn {MAX_NUMBER_CHARS} ký tự.",
        )
    return text


def _no_constant(name: str):
    raise BadInput("invalid_json", f"{name} is not a JSON number.", f"{name} không phải số JSON hợp lệ.")


def loads(text: str | bytes) -> Any:
    """json.loads with bounds: short numbers, no NaN/Infinity, no nesting past MAX_JSON_DEPTH."""
    _check_depth(text)
    return json.loads(
        text, parse_int=lambda s: int(_number(s)), parse_float=lambda s: float(_number(s)), parse_constant=_no_constant
    )


def _check_depth(text: str | bytes) -> None:
    """Refuse deep nesting before the recursive parser sees it (a linear scan, strings skipped)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return  # the common case: too few brackets to be deep
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise BadInput(
                    "json_too_deep",
                    f"The JSON body is nested more than {MAX_JSON_DEPTH} levels.",
                    f"Nội dung JSON lồng nhau quá {MAX_JSON_DEPTH} cấp.",
                )
        elif byte in (0x5D, 0x7D):
            depth -= 1


def _strings(value: Any, where: str) -> Iterable[tuple[str, str]]:
    """Every string in a parsed JSON value (keys too), with where it sits. Depth is bounded."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield where, k
            yield from _strings(v, f"{where}.{k}" if isinstance(k, str) else where)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]")


def bounded_int(raw: str | None, name: str, default: int, maximum: int = MAX_PAGE) -> int:
    """A positive integer argument (page numbers): absent → default; junk or > maximum → 400."""
    if raw is None or not raw.strip():
        return default
    raw = raw.strip()
    if not raw.isdecimal() or len(raw) > len(str(maximum)) or not 1 <= int(raw) <= maximum:
        raise Invalid(
            "invalid_integer",
            f"{name} must be a whole number from 1 to {maximum}.",
            f"{name} phải là số nguyên từ 1 đến {maximum}.",
            field=name,
        )
    return int(raw)


class GuardedRequest(Request):
    """Flask's request with the bounded JSON loader (get_json() in views is bounded too)."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, BadInput):
            raise e
        raise BadInput("invalid_json", "The body is not valid JSON.", "Nội dung không phải JSON hợp lệ.")


def guard() -> None:
    """before_request: refuse what no view can store (see the module docstring)."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            check_text(value, name)
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            name = name or ""  # a nameless multipart part has None
            check_text(name, "field name")
            check_text(value or "", name)
    for name, upload in request.files.items(multi=True):
        check_text(upload.filename or "", name or "")
    if request.is_json and request.content_length != 0:
        body = request.get_json(silent=False)  # parsed with `loads`, cached for the view
        for where, value in _strings(body, "body"):
            check_text(value, where)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON with the bounded loader: request.get_json() in any view is bounded too."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


class Id(IntegerConverter):
    """<int:…> path variables: ids PostgreSQL's integer holds (0..MAX_ID). A larger number
    matches no route (404), and the OpenAPI document states the maximum (flask-smorest reads
    the converter's bounds), so what the document allows is what the routes take."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = Id  # before any route is added
    app.request_class = GuardedRequest
    app.json = JSONProvider(app)
    app.before_request(guard)
