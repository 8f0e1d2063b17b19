"""Messaging-channel webhooks (Zalo Official Account): HTTP only, the work is in services."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from fieldreport.services import zalo

bp = Blueprint("channels", __name__, url_prefix="/channels")


@bp.post("/zalo/webhook")
def zalo_webhook():
    """Zalo OA events: 200 once the event is stored (or known), 401 unsigned or stale."""
    raw = request.get_data(cache=False)
    outcome = zalo.receive(raw, request.headers.get("X-ZEvent-Signature"))
    return jsonify(status=outcome)
