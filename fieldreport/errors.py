"""Domain exceptions and the one mapping from them to application/problem+json responses."""
from __future__ import annotations

from flask import Flask, Response, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A failure a client can act on: stable `code`, HTTP status, message in vi and en."""

    status = 400

    def __init__(self, code: str, message_en: str, message_vi: str | None = None, *,
                 status: int | None = None, **extra) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_en = message_en
        self.message_vi = message_vi or message_en
        if status is not None:
            self.status = status
        self.extra = extra


class Invalid(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class TooLarge(DomainError):
    status = 413


class Unprocessable(DomainError):
    status = 422


class RateLimited(DomainError):
    status = 429


class ServiceUnavailable(DomainError):
    """A dependency (storage, Redis, database) is down; the client should retry later."""

    status = 503
    retry_after = 30


def wants_vietnamese() -> bool:
    best = request.accept_languages.best_match(["vi", "en"], default="vi")
    return best == "vi"


def problem(status: int, code: str, message_en: str, message_vi: str | None = None,
            headers: dict | None = None, **extra) -> Response:
    """Build the one error shape (RFC 9457 problem details plus `code` and `message`)."""
    vi = wants_vietnamese()
    body = {
        "type": f"https://fieldreport.example/problems/{code}",
        "title": message_en,
        "status": status,
        "code": code,
        "message": (message_vi or message_en) if vi else message_en,
        **extra,
    }
    resp = Response(json.dumps(body, ensure_ascii=False), status=status,
                    mimetype="application/problem+json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _from_domain(exc: DomainError) -> Response:
    headers = {}
    if isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, RateLimited) and "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    return problem(exc.status, exc.code, exc.message_en, exc.message_vi, headers, **exc.extra)


_HTTP_VI = {
    400: "Yêu cầu không hợp lệ.", 401: "Cần đăng nhập.", 403: "Không có quyền.",
    404: "Không tìm thấy.", 405: "Phương thức không được hỗ trợ.", 409: "Xung đột dữ liệu.",
    413: "Dữ liệu gửi lên quá lớn.", 415: "Kiểu dữ liệu không được hỗ trợ.",
    422: "Dữ liệu không hợp lệ.", 429: "Quá nhiều yêu cầu.",
}


def _from_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    extra = {}
    # flask-smorest puts marshmallow messages in exc.data["messages"]
    data = getattr(exc, "data", None) or {}
    if "messages" in data:
        extra["errors"] = data["messages"]
    code = {422: "validation_error"}.get(status, (exc.name or "error").lower().replace(" ", "_"))
    en = {422: "The request has invalid fields."}.get(status, exc.description or exc.name)
    resp = problem(status, code, en, _HTTP_VI.get(status), **extra)
    if status == 405 and getattr(exc, "valid_methods", None):
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    return resp


def _database_down(exc: Exception) -> Response:
    """The database refused or dropped the connection (or its breaker is open): retry later."""
    from fieldreport.extensions import db  # the one error mapping needs the session to reset
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 (the connection itself may be gone)
        db.session.remove()
    return _from_domain(ServiceUnavailable("database_unavailable", "The database is unavailable.",
                                           "Cơ sở dữ liệu đang không truy cập được."))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, _from_domain)
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(HTTPException, _from_http)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # never leak a traceback; log it
        if isinstance(exc, HTTPException):
            return _from_http(exc)
        app.logger.exception("unhandled error")
        return problem(500, "internal_error", "Internal error.", "Lỗi hệ thống.")
