"""Citizen mobile web: report form, tracking page; a stand-in for the app over the same API."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, redirect, render_template, request, send_from_directory, url_for

from fieldreport.errors import DomainError
from fieldreport.services import calls, categories, photos, privacy, public
from fieldreport.web.i18n import current_lang, t

bp = Blueprint("citizen", __name__)

# Buôn Ma Thuột centre: where the map opens before the phone gives a position.
DEFAULT_CENTER = (12.667, 108.038)
CODE_RE = re.compile(r"^[A-Za-z0-9-]{4,16}$")
# Categories with a drawn icon (static/web/icons/categories.svg); a province's own get "other".
ICONS = frozenset(
    {
        "road_damage",
        "street_light",
        "power_outage",
        "rubbish",
        "illegal_dumping",
        "pavement_encroachment",
        "illegal_construction",
        "flooding",
        "fallen_tree",
        "traffic_signal",
        "noise",
        "pollution",
        "other",
    }
)


@bp.get("/")
def index():
    cats = categories.public_categories()
    groups: dict[str, list] = {}  # in the categories' own order, first appearance of each group
    for c in cats:
        groups.setdefault(c.group, []).append(c)
    # The questions each category asks: the very definitions Open311 serves.
    forms = {
        c.code: {
            "photo_required": c.photo_required,
            "anonymous_allowed": c.anonymous_allowed,
            "attributes": categories.definition(c)["attributes"],
        }
        for c in cats
    }
    cfg = current_app.config
    return render_template(
        "citizen/index.html",
        groups=groups,
        forms=forms,
        icons=ICONS,
        center=DEFAULT_CENTER,
        notice=privacy.notice(current_lang() == "vi", cfg["RETENTION_MONTHS"]),
        limits={"photos": cfg["PHOTO_MAX_COUNT"], "photo_bytes": cfg["PHOTO_MAX_BYTES"]},
    )


@bp.get("/track")
def track_lookup():
    """The lookup box; a code that finds no report comes back here with the box to try again."""
    raw = (request.args.get("code") or "").strip()
    if not raw:
        return render_template("citizen/track_lookup.html", code="", error=None)
    code = public.normalize_code(raw)
    if code is None:
        return render_template("citizen/track_lookup.html", code=raw, error=t("track_bad_code")), 400
    if not public.exists(code):
        return render_template("citizen/track_lookup.html", code=raw, error=t("track_not_found", code=code)), 404
    return redirect(url_for("web.citizen.track", code=code))


@bp.get("/track/<code>")
def track(code: str):
    # The page loads the report through the public API, exactly as the app would.
    norm = public.normalize_code(code) if CODE_RE.match(code) else None
    if norm is None or not public.exists(norm):
        error = t("track_not_found", code=norm) if norm else t("track_bad_code")
        return render_template("citizen/track_lookup.html", code=code, error=error), 404
    return render_template("citizen/track.html", code=norm)


@bp.route("/r/<code>/photos", methods=["GET", "POST"])
def call_photos(code: str):
    """The link of an operator-taken report's receipt SMS: the caller adds photos from their phone."""
    token = request.values.get("t", "")
    norm = public.normalize_code(code) if CODE_RE.match(code) else None
    if norm is None:
        return render_template("citizen/track_lookup.html", code=code, error=t("track_bad_code")), 404
    calls.check_photo_token(norm, token)  # 403 page for a wrong or expired link
    done = error = None
    status = 200
    if request.method == "POST":
        try:
            done = calls.add_photos(norm, token, photos.read_files(request.files.getlist("photos")))
        except DomainError as exc:
            error, status = (exc.message_vi if current_lang() == "vi" else exc.message_en), exc.status
    return render_template(
        "citizen/call_photos.html",
        code=norm,
        token=token,
        done=done,
        error=error,
        max_photos=current_app.config["PHOTO_MAX_COUNT"],
    ), status


@bp.get("/signin")
def signin():
    """Phone sign-in (one-time code by SMS); the page then lists the citizen's reports."""
    return render_template("citizen/signin.html")


@bp.get("/sw.js")
def service_worker():
    """Served from the root so its scope covers the whole citizen site."""
    resp = send_from_directory(current_app.static_folder, "web/sw.js", mimetype="text/javascript", max_age=0)
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp
