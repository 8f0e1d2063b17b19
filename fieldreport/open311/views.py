"""GeoReport v2 routes: parse the arguments, call one service, render XML or JSON."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as HTTPNotFound

from fieldreport import links
from fieldreport.errors import DomainError, Invalid, RateLimited, ServiceUnavailable, wants_vietnamese
from fieldreport.open311 import bp, params, render, submit, updates
from fieldreport.services import apikeys, categories, open311_read

FMT = "<any(xml, json):fmt>"
SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2025-07-01T00:00:00+07:00"  # bump when the endpoint's capabilities change


def _vi() -> bool:
    """Language of names and notes: `locale` (Helsinki's extension), else Accept-Language."""
    locale = (params.arg(request.args, "locale") or "").lower()
    if locale[:2] in ("vi", "en"):
        return locale[:2] == "vi"
    return wants_vietnamese()


def _base() -> str:
    """This server's public root URL, for the stable photo URLs aggregators may store."""
    return links.public_base()


@bp.get(f"/discovery.{FMT}")
def discovery(fmt):
    params.jurisdiction(request.args)  # an unknown one is refused; every province has this endpoint
    cfg = current_app.config
    base = links.public_base() + bp.url_prefix  # configured, never the Host header
    return render.respond(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": cfg["OPEN311_CONTACT"],
            "key_service": cfg["OPEN311_KEY_SERVICE"],
            "endpoints": [
                {
                    "specification": SPEC,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@bp.get(f"/services.{FMT}")
def services(fmt):
    params.jurisdiction(request.args)  # the categories are the same in every province
    vi = _vi()
    return render.respond(fmt, "services", [render.service_row(c, vi) for c in categories.public_categories()])


@bp.get(f"/services/<service_code>.{FMT}")
def service_definition(service_code, fmt):
    params.jurisdiction(request.args)
    return render.respond(fmt, "service_definition", categories.definition(params.service_category(service_code)))


@bp.post(f"/requests.{FMT}")
def create_request(fmt):
    key = apikeys.authenticate(params.arg(request.form, "api_key"))  # the body only: URLs are logged
    files = request.files.getlist("media") + request.files.getlist("media[]")
    created = submit.create(
        key,
        request.form,
        files,
        client_ip=request.remote_addr or "",
        idempotency_key=request.headers.get("Idempotency-Key"),
        vi=_vi(),
    )
    return render.respond(fmt, "service_requests", [created])


@bp.get(f"/requests.{FMT}")
def list_requests(fmt):
    args = request.args
    start, end = params.w3c_datetime(args, "start_date"), params.w3c_datetime(args, "end_date")
    after, before = params.w3c_datetime(args, "updated_after"), params.w3c_datetime(args, "updated_before")
    if after and before and before < after:
        raise Invalid(
            "invalid_range", "updated_before is before updated_after.", "updated_before sớm hơn updated_after."
        )
    start, end = open311_read.window(start, end, default=not (after or before))
    q = open311_read.Query(
        ids=params.csv(args, "service_request_id", params.MAX_IDS),
        service_codes=params.csv(args, "service_code"),
        statuses=params.csv(args, "status"),
        start=start,
        end=end,
        updated_after=after,
        updated_before=before,
        near=params.near(args),
        bbox=params.bbox(args),
        page=params.positive_int(args, "page", 1),
        page_size=params.positive_int(args, "page_size", params.MAX_PAGE_SIZE, params.MAX_PAGE_SIZE),
        province=params.jurisdiction(args),
    )
    return _requests(fmt, open311_read.find(q), params.flag(args, "extensions"))


@bp.get(f"/requests/<service_request_id>.{FMT}")
def get_request(service_request_id, fmt):
    row = open311_read.one(service_request_id, params.jurisdiction(request.args))
    return _requests(fmt, [row], params.flag(request.args, "extensions"))


def _requests(fmt: str, rows: list, extensions: bool):
    photos = open311_read.photo_urls(rows, _base())
    return render.respond(fmt, "service_requests", render.requests(rows, photos, _vi(), extensions))


@bp.get(f"/tokens/<token>.{FMT}")
def token(token, fmt):
    """Requests are created synchronously, so a request's token is its service_request_id."""
    code = open311_read.one(token, params.jurisdiction(request.args)).code
    return render.respond(fmt, "service_requests", [{"service_request_id": code, "token": token}])


@bp.get(f"/servicerequestupdates.{FMT}")
def list_updates(fmt):
    args = request.args
    start, end = open311_read.window(params.w3c_datetime(args, "start_date"), params.w3c_datetime(args, "end_date"))
    rows = open311_read.updates(
        start,
        end,
        params.positive_int(args, "page", 1),
        params.positive_int(args, "page_size", params.MAX_PAGE_SIZE, params.MAX_PAGE_SIZE),
        params.jurisdiction(args),
    )
    return render.respond(fmt, "service_request_updates", render.request_updates(rows, _vi()))


@bp.post(f"/servicerequestupdates.{FMT}")
def receive_update(fmt):
    key = apikeys.authenticate(params.arg(request.form, "api_key"))  # the body only: URLs are logged
    files = request.files.getlist("media") + request.files.getlist("media[]")
    update_id = updates.receive(key, request.form, files)
    return render.respond(fmt, "service_request_updates", [{"update_id": update_id}])


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest):
    """Anything else under /open311/v2 answers in the spec's error format, not the app's."""
    if _allowed(request.path):
        raise MethodNotAllowed(valid_methods=_allowed(request.path))
    hint = "" if rest.endswith((".xml", ".json")) else " Resources end in .xml or .json."
    raise HTTPNotFound(f"No such resource: /{rest}.{hint}")


@bp.before_request
def _options():
    """OPTIONS lists the methods a resource answers, the same list as a 405's Allow.

    Flask's automatic answer would also count the catch-all route's PUT, PATCH and DELETE.
    """
    if request.method == "OPTIONS":
        allowed = _allowed(request.path)
        if not allowed:
            return unknown(request.path[len(bp.url_prefix) + 1 :])
        resp = current_app.response_class(status=204)
        resp.headers["Allow"] = ", ".join(allowed)
        return resp
    return None


def _allowed(path: str) -> list[str]:
    """The methods of the real routes matching `path` (HEAD with GET, OPTIONS with any)."""
    adapter = current_app.url_map.bind("")
    methods = [m for m in ("GET", "POST") if _matches(adapter, path, m)]
    if "GET" in methods:
        methods.append("HEAD")
    return sorted(methods + ["OPTIONS"]) if methods else []


def _matches(adapter, path: str, method: str) -> bool:
    try:
        endpoint, _ = adapter.match(path, method=method)
    except HTTPException:
        return False
    return endpoint != "open311.unknown"


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    headers = {}
    if isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, RateLimited) and "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    return render.errors(exc.status, [exc.message_vi if _vi() else exc.message_en], headers=headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return render.errors(exc.code or 500, [exc.description or exc.name], headers=headers)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):  # never a traceback, never the app's problem+json here
    current_app.logger.exception("open311 unhandled error")
    return render.errors(500, ["Internal error; please try again later."])
