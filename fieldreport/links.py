"""This deployment's absolute URLs: from PUBLIC_BASE_URL, never from a request's Host header.

A client chooses the Host header it sends, so a URL built from it (Open311 discovery, feeds,
open-data links) could point aggregators and caches at any site (host-header poisoning).
Without PUBLIC_BASE_URL (local development) links name http://localhost.
"""

from __future__ import annotations

from flask import current_app

LOCAL = "http://localhost"


def public_base() -> str:
    """The public root URL, without a trailing slash."""
    return (current_app.config.get("PUBLIC_BASE_URL") or LOCAL).rstrip("/")


def absolute(path: str) -> str:
    """A path of ours (e.g. request.full_path) as a public absolute URL."""
    return public_base() + "/" + path.lstrip("/").rstrip("?")
