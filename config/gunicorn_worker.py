"""gunicorn's threaded worker, answering its own request-line and header refusals as problem+json.

gunicorn refuses an over-long request line (414) or header block (431) before the app sees
the request, with a text/html page; API clients parse application/problem+json.
"""

from __future__ import annotations

import json

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

_PROBLEMS = {
    LimitRequestLine: (414, "URI Too Long", "uri_too_long", "The request URL is too long.", "Địa chỉ yêu cầu quá dài."),
    LimitRequestHeaders: (
        431,
        "Request Header Fields Too Large",
        "headers_too_large",
        "The request headers are too large.",
        "Phần đầu (header) của yêu cầu quá lớn.",
    ),
}


def problem_response(status: int, reason: str, code: str, en: str, vi: str) -> bytes:
    """A complete HTTP/1.1 response with the app's error shape (errors.problem), Vietnamese first."""
    body = json.dumps(
        {
            "type": f"https://fieldreport.example/problems/{code}",
            "title": en,
            "status": status,
            "code": code,
            "message": vi,
        },
        ensure_ascii=False,
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ProblemWorker(ThreadWorker):
    def handle_error(self, req, client, addr, exc):
        for kind, (status, reason, code, en, vi) in _PROBLEMS.items():
            if isinstance(exc, kind):
                self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
                try:
                    util.write_nonblock(client, problem_response(status, reason, code, en, vi))
                except Exception:  # noqa: BLE001 (the client is gone; nothing to tell it)
                    self.log.debug("could not send the %s answer", status)
                return
        super().handle_error(req, client, addr, exc)
