"""Citizen mobile web: report form, tracking page; a stand-in for the app over the same API."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, redirect, render_template, request, send_from_directory, url_for
from sqlalchemy import select

from fieldreport.extensions import db
from fieldreport.models import Category

bp = Blueprint("citizen", __name__)

# Buôn Ma Thuột centre: where the map opens before the phone gives a position.
DEFAULT_CENTER = (12.667, 108.038)
CODE_RE = re.compile(r"^[A-Za-z0-9-]{4,16}$")


@bp.get("/")
def index():
    cats = db.session.scalars(select(Category).where(Category.active, Category.public)
                              .order_by(Category.sort_order, Category.code)).all()
    return render_template("citizen/index.html", categories=cats, center=DEFAULT_CENTER)


@bp.get("/track")
def track_lookup():
    code = (request.args.get("code") or "").strip().upper()
    if code and CODE_RE.match(code):
        return redirect(url_for("web.citizen.track", code=code))
    return render_template("citizen/track_lookup.html", code=code)


@bp.get("/track/<code>")
def track(code: str):
    # The page loads the report through the public API, exactly as the app would.
    if not CODE_RE.match(code):
        return render_template("citizen/track_lookup.html", code=code), 404
    return render_template("citizen/track.html", code=code.upper())


@bp.get("/signin")
def signin():
    """Phone sign-in (one-time code by SMS); the page then lists the citizen's reports."""
    return render_template("citizen/signin.html")


@bp.get("/sw.js")
def service_worker():
    """Served from the root so its scope covers the whole citizen site."""
    resp = send_from_directory(current_app.static_folder, "web/sw.js", mimetype="text/javascript",
                               max_age=0)
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp
