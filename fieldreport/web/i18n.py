"""A small dictionary i18n for the pages: Vietnamese by default, English by ?lang=en or cookie."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g, request

from fieldreport.models import Role
from fieldreport.web.messages import EVENT_TYPES, MESSAGES, REJECT_REASONS, STATUS, UNIT_KINDS

LANGS = ("vi", "en")
COOKIE = "lang"


def current_lang() -> str:
    """?lang= wins (and is remembered in a cookie), then the cookie, then Vietnamese."""
    if "lang" not in g:
        asked, kept = request.args.get("lang"), request.cookies.get(COOKIE)
        g.lang = asked if asked in LANGS else kept if kept in LANGS else "vi"
    return g.lang


def remember_lang(resp):
    asked = request.args.get("lang")
    if asked in LANGS and request.cookies.get(COOKIE) != asked:
        resp.set_cookie(
            COOKIE,
            asked,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["COOKIE_SECURE"],
        )
    return resp


def _pick(pair: tuple[str, str] | None, fallback: str) -> str:
    if pair is None:
        return fallback
    return pair[0] if current_lang() == "vi" else pair[1]


def t(key: str, **kwargs) -> str:
    text = _pick(MESSAGES.get(key), key)
    return text.format(**kwargs) if kwargs else text


def status_label(code: str | None) -> str:
    return _pick(STATUS.get(code or ""), code or "")


def event_label(code: str | None) -> str:
    return _pick(EVENT_TYPES.get(code or ""), (code or "").replace("_", " "))


def unit_kind_label(kind: str | None) -> str:
    return _pick(UNIT_KINDS.get(kind or ""), kind or "")


def unit_name(unit: dict | None) -> str:
    """A unit as people call it: its name in the page's language (the code is for machines)."""
    if not unit:
        return ""
    if current_lang() == "en" and unit.get("name_en"):
        return unit["name_en"]
    return unit.get("name") or unit.get("code") or ""


def actor_label(actor: str | None, unit: str | None = None) -> str:
    """Who did it, as a person reads it: the acting staff's unit, "Người dân", "Hệ thống".

    Events store the channel ("citizen", "system:router", "open311:<client>", "<role>:<user>");
    a staff member is shown by the unit they act for, never by an internal id."""
    actor = actor or "system"
    if unit:
        return unit
    if actor == Role.CITIZEN:
        return t("actor_citizen")
    if actor.startswith("open311:"):
        return t("actor_external", name=actor.split(":", 1)[1])
    if actor.startswith("operator:"):
        return t("actor_operator")  # a call or desk visit taken for a citizen
    if actor == "system:router":
        return t("actor_router")
    if actor == "system:sla":
        return t("actor_sla")
    return t("actor_system")


def source_label(source: str | None) -> str:
    """How the report's position was obtained (device GPS, photo EXIF, address)."""
    key = f"src_{source}"
    return t(key) if key in MESSAGES else (source or "")


def reason_label(code: str | None) -> str:
    if code and code not in REJECT_REASONS and f"rv_{code}" in MESSAGES:
        return t(f"rv_{code}")  # a routing reason (rule, no_rule...) recorded on the event
    return _pick(REJECT_REASONS.get(code or ""), code or "")


def local_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE") or "Asia/Ho_Chi_Minh")


def _local(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(local_tz())
    return value


def fmt_datetime(value) -> str:
    """dd/mm/yyyy HH:MM in the deployment's time zone (Asia/Ho_Chi_Minh)."""
    v = _local(value)
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%d/%m/%Y %H:%M")
    return v.strftime("%d/%m/%Y")


def fmt_date(value) -> str:
    v = _local(value)
    if v is None:
        return ""
    return v.strftime("%d/%m/%Y") if isinstance(v, (date, datetime)) else str(v)


def parse_date(raw: str | None) -> date | None:
    """dd/mm/yyyy (what the pages show) or ISO yyyy-mm-dd; None when empty or unreadable."""
    raw = (raw or "").strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def parse_local_datetime(raw: str | None) -> datetime | None:
    """dd/mm/yyyy hh:mm (or ISO) as wall time in the deployment's zone."""
    raw = (raw or "").strip().replace("T", " ")
    for fmt in ("%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            value = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        if fmt in ("%d/%m/%Y", "%Y-%m-%d"):
            value = value.replace(hour=17)  # a bare date means the close of office that day
        return value.replace(tzinfo=local_tz())
    return None


def routing_label(key: str, value) -> str:
    """The routing explain, readable: known codes translated, times formatted."""
    if key == "decided_at":
        return fmt_datetime(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if key in ("reason", "method") and f"rv_{value}" in MESSAGES:
        return t(f"rv_{value}")
    return str(value)


def fmt_number(value, digits: int = 2) -> str:
    """Two decimals, "n/a" for a missing ratio; Vietnamese uses a decimal comma."""
    if value is None:
        return t("na")
    try:
        s = f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)
    if current_lang() == "vi":
        s = s.replace(",", " ").replace(".", ",").replace(" ", ".")
    return s


def fmt_percent(value) -> str:
    return t("na") if value is None else fmt_number(value) + "%"


def js_messages() -> dict[str, str]:
    """The strings the page scripts need, in the current language."""
    out = {k: t(k) for k in MESSAGES}
    out.update({f"status_{k}": status_label(k) for k in STATUS})
    out.update({f"event_{k}": event_label(k) for k in EVENT_TYPES})
    return out


def init_blueprint(bp) -> None:
    bp.app_template_filter("dt")(fmt_datetime)
    bp.app_template_filter("d")(fmt_date)
    bp.app_template_filter("num")(fmt_number)
    bp.app_template_filter("pct")(fmt_percent)

    @bp.context_processor
    def _inject():
        lang = current_lang()
        return {
            "t": t,
            "lang": lang,
            "other_lang": "en" if lang == "vi" else "vi",
            "status_label": status_label,
            "event_label": event_label,
            "reason_label": reason_label,
            "js_messages": js_messages,
            "routing_label": routing_label,
            "unit_kind_label": unit_kind_label,
            "unit_name": unit_name,
            "actor_label": actor_label,
            "source_label": source_label,
        }

    bp.after_request(remember_lang)
