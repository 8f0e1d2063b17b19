"""Open311 test helpers: schema validation, a real XML parse that mirrors the JSON, report rows."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "schemas"
BASE = "/open311/v2"
BMT = (108.038, 12.667)  # Buôn Ma Thuột centre, in commune 24133

_resources = {}
for path in SCHEMAS.glob("*.json"):
    doc = json.loads(path.read_text())
    _resources[doc["$id"]] = Resource.from_contents(doc)
REGISTRY = Registry().with_resources(_resources.items())
LISTS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "errors": "error",
    "service_request_updates": "request_update",
    "media_urls": "media_url",
}


def validate(schema: str, data) -> None:
    """Raise if `data` breaks tests/open311/schemas/<schema>.json (written from the spec)."""
    doc = _resources[f"https://fieldreport.example/open311/{schema}.json"].contents
    Draft202012Validator(doc, registry=REGISTRY, format_checker=FormatChecker()).validate(data)


def _from_xml(el: ET.Element):
    if el.tag in LISTS:
        return [_from_xml(child) for child in el]
    if len(el):
        return {child.tag: _from_xml(child) for child in el}
    return el.text


def parse_xml(resp):
    """Parse an XML response with a real parser; check the spec's declaration and content type."""
    assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert resp.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(resp.data)
    return root, _from_xml(root)


def as_text(value):
    """JSON data as XML would carry it: every scalar as text, null and "" as absent."""
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return None
    return repr(value) if isinstance(value, float) else str(value)


def both(client, path: str, schema: str, status: int = 200, **kwargs):
    """GET `path` as .json and .xml: validate the JSON and check the XML carries the same data."""
    rj = client.get(f"{BASE}/{path}.json", **kwargs)
    assert rj.status_code == status, rj.data
    assert rj.headers["Content-Type"] == "application/json; charset=utf-8"
    data = rj.get_json()
    validate(schema, data)
    rx = client.get(f"{BASE}/{path}.xml", **kwargs)
    assert rx.status_code == status, rx.data
    root, xdata = parse_xml(rx)
    assert xdata == as_text(data)
    return data, root


@pytest.fixture()
def make_report(db_session, demo):
    """Insert a report row directly (the read side needs no intake), with its first event."""
    import secrets

    from sqlalchemy import select

    from fieldreport import geo, security
    from fieldreport.models import Category, Report, Unit
    from fieldreport.models.base import utcnow
    from fieldreport.services import events
    from fieldreport.services.intake import CODE_ALPHABET

    counter = iter(range(1, 10_000))

    def make(
        category="road_damage",
        status="submitted",
        lon=BMT[0],
        lat=BMT[1],
        age=timedelta(0),
        unit="UBND-24133",
        **fields,
    ):
        cat = db_session.scalar(select(Category).where(Category.code == category))
        u = db_session.scalar(select(Unit).where(Unit.code == unit)) if unit else None
        now = utcnow() - age
        r = Report(
            code=f"T{next(counter):04d}" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(5)),  # a valid code
            citizen_token_hash=security.token_hash(security.new_token()),
            category_id=cat.id,
            status="submitted",
            location=geo.point(lon, lat),
            channel="app",
            created_at=now,
            updated_at=now,
            attributes={},
            reporter_name="Nguyễn Bí Mật",
            reporter_phone="0905123456",
            reporter_email="secret.reporter@example.vn",
            **fields,
        )
        db_session.add(r)
        db_session.flush()
        events.record(r, "submitted", actor="citizen")
        if status != "submitted" or u:
            events.record(r, "assigned", actor="system:router", to_status="assigned", to_unit_id=u.id if u else None)
            if status != "assigned":
                events.record(r, status, actor="staff:test", to_status=status, note=fields.get("public_answer"))
        db_session.flush()
        return r

    return make
