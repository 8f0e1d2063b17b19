"""The operator's console page: record a hotline call or a reception-desk visit, keyboard first.

The page only parses the form and calls services/calls; the place is searched and shown by
the same lookups as everywhere (our commune names, /api/v1/locate), the nearby open reports
come from /api/v1/reports/nearby, the questions are the categories' Open311 definitions.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, url_for

from fieldreport.errors import DomainError
from fieldreport.models.vocab import IntakeChannel
from fieldreport.services import calls, categories, policy, privacy, staff_read
from fieldreport.web import session as web_session
from fieldreport.web.i18n import current_lang, t

bp = Blueprint("calls", __name__, url_prefix="/console/calls")
web_session.init_blueprint(bp)

DEFAULT_CENTER = (12.667, 108.038)  # Buôn Ma Thuột: where the map opens
FIELDS = ("channel", "phone", "name", "place", "address_hint", "category", "description", "lat", "lon")


def _default_channel(user) -> str:
    """A commune's reception desk records visits; the province's hotline records calls."""
    unit = staff_read.unit(user.unit_id)
    return IntakeChannel.COUNTER if unit and unit.kind == "commune" else IntakeChannel.HOTLINE


def _page(kept: dict | None = None, error: str | None = None, status: int = 200):
    cats = categories.every_category(active=True)
    vi = current_lang() == "vi"
    forms = {
        c.code: {"anonymous_allowed": c.anonymous_allowed, "attributes": categories.definition(c)["attributes"]}
        for c in cats
    }
    kept = kept or {"channel": _default_channel(g.console_user)}
    return render_template(
        "console/calls.html",
        cats=cats,
        forms=forms,
        vi=vi,
        kept=kept,
        error=error,
        call_id=secrets.token_urlsafe(24),
        center=DEFAULT_CENTER,
        channels=calls.CHANNELS,
        notice=privacy.notice(vi, current_app.config["RETENTION_MONTHS"]),
    ), status


@bp.get("/")
@web_session.login_required(*policy.INTAKE_ROLES)
def index():
    return _page()


def _number(name: str) -> float | None:
    raw = (request.form.get(name) or "").strip().replace(",", ".")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def _attributes() -> dict:
    """attr.<code> fields; a multi-value list arrives as several values of one name."""
    out: dict = {}
    for key in request.form:
        if key.startswith("attr.") and len(key) > 5:
            values = [v for v in request.form.getlist(key) if v.strip()]
            if values:
                out[key[5:]] = values if len(values) > 1 or request.form.get(f"multi.{key[5:]}") else values[0]
    return out


def _message(exc: DomainError) -> str:
    return exc.message_vi if current_lang() == "vi" else exc.message_en


@bp.post("/")
@web_session.login_required(*policy.INTAKE_ROLES)
def record():
    form = request.form
    call = calls.Call(
        channel=form.get("channel", ""),
        category=form.get("category", ""),
        lat=_number("lat"),
        lon=_number("lon"),
        phone=form.get("phone"),
        name=form.get("name"),
        address_hint=form.get("address_hint"),
        description=form.get("description"),
        attributes=_attributes(),
        photo_link=form.get("photo_link") == "1",
        call_id=form.get("call_id"),
    )
    try:
        result = calls.record(call, g.console_user)
    except DomainError as exc:
        kept = {k: form.get(k, "") for k in FIELDS}
        kept["photo_link"] = call.photo_link
        kept["attributes"] = call.attributes
        return _page(kept, _message(exc), 422 if exc.status < 500 else exc.status)
    flash(_done(result), "ok")
    return redirect(url_for("web.calls.index", done=result["code"]))


def _done(result: dict) -> str:
    text = t("call_recorded", code=result["code"])
    if result.get("sms_to"):
        text += " " + t("call_sms_sent", phone=result["sms_to"])
    if result.get("photo_link"):
        text += " " + t("call_photo_link_sent")
    return text


@bp.post("/support")
@web_session.login_required(*policy.INTAKE_ROLES)
def support():
    """A repeat call: the caller supports the open report chosen in the nearby list."""
    form = request.form
    try:
        result = calls.support(form.get("code", ""), form.get("phone"), form.get("description"), g.console_user)
    except DomainError as exc:
        kept = {k: form.get(k, "") for k in FIELDS}
        return _page(kept, _message(exc), 422 if exc.status < 500 else exc.status)
    text = t("call_supported", code=result["code"], count=result["followers_count"])
    if result.get("sms_to"):
        text += " " + t("call_sms_sent", phone=result["sms_to"])
    flash(text, "ok")
    return redirect(url_for("web.calls.index", done=result["code"]))


@bp.get("/places")
@web_session.login_required(*policy.INTAKE_ROLES)
def places():
    """Communes and known addresses matching what the operator typed (JSON for the page)."""
    return jsonify(calls.search_places(request.args.get("q", "")[:200]))
