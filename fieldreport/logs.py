"""Logging setup: JSON lines in production, plain text in tests; done in create_app only.

Every line goes through `ScrubSecrets`: a URL logged with a token, key, code or password in
its query string is written with the value masked (see urlsecrets).
"""

from __future__ import annotations

import logging
import sys

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

from fieldreport.urlsecrets import scrub


class ScrubSecrets(logging.Filter):
    """Mask secret URL parameters in the message (formatted with its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def init_app(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if app.config["LOG_JSON"]:
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubSecrets())
    logger = logging.getLogger("fieldreport")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    app.logger.handlers[:] = [handler]
