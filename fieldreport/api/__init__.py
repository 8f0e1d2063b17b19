"""The /api/v1 resources: one package per resource, each with resources.py and schemas.py."""

from __future__ import annotations

import importlib

from flask import Flask
from flask_smorest import Api

# Each name is a package under fieldreport/api with a `blp` in resources.py.
RESOURCES = ["categories", "places", "reports", "uploads", "auth", "citizen", "staff", "apikeys", "indicators", "users"]


def register_api(app: Flask, api: Api) -> None:
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "staff token from /api/v1/auth/login"}
    )
    for name in RESOURCES:
        module = importlib.import_module(f"fieldreport.api.{name}.resources")
        api.register_blueprint(module.blp, url_prefix="/api/v1")
