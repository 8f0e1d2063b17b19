"""Logging setup: JSON lines in production, plain text in tests; done in create_app only."""
from __future__ import annotations

import logging
import sys

from flask import Flask
from pythonjsonlogger.json import JsonFormatter


def init_app(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if app.config["LOG_JSON"]:
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("fieldreport")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    app.logger.handlers[:] = [handler]
