"""POST requests through intake: keys, location, attributes, media, contact privacy, limits."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tests.factories import jpeg
from tests.open311.conftest import BASE, BMT, parse_xml, validate


def form(api_key, **extra):
    data = {
        "api_key": api_key,
        "service_code": "street_light",
        "lat": str(BMT[1]),
        "long": str(BMT[0]),
        "description": "Đèn đường tắt cả tuần",
    }
    data.update(extra)
    return data


def report(db_session, code):
    from fieldreport.models import Report

    return db_session.scalar(select(Report).where(Report.code == code))


def test_post_json_creates_a_routed_report_on_the_key_channel(client, demo, db_session):
    r = client.post(
        f"{BASE}/requests.json",
        data=form(
            demo.api_key,
            first_name="Lan",
            last_name="Trần",
            email="lan@example.vn",
            phone="0911222333",
            media_url="https://photos.example/street-light.jpg",
            device_id="dev-1",
            account_id="acc-9",
        ),
    )
    assert r.status_code == 200, r.data
    body = r.get_json()
    validate("post_request_response", body)
    code = body[0]["service_request_id"]
    assert "token" not in body[0] and body[0]["service_notice"]
    rep = report(db_session, code)
    assert rep.channel == "open311:demo-open311-client"
    assert (rep.reporter_name, rep.reporter_email, rep.reporter_phone) == ("Lan Trần", "lan@example.vn", "0911222333")
    assert rep.attributes["media_url"] == "https://photos.example/street-light.jpg"
    assert rep.status == "assigned"  # the routing job ran (inline in tests)
    row = client.get(f"{BASE}/requests/{code}.json").get_json()[0]
    assert row["media_url"] == "https://photos.example/street-light.jpg"
    assert row["agency_responsible"]


def test_post_xml_answers_xml(client, demo):
    r = client.post(f"{BASE}/requests.xml", data=form(demo.api_key))
    root, data = parse_xml(r)
    assert r.status_code == 200 and root.tag == "service_requests"
    assert root.find("request/service_request_id").text
    assert root.find("request/token") is None


def test_multipart_media_goes_through_the_photo_pipeline(client, demo, db_session):
    data = form(demo.api_key, service_code="road_damage", **{"attribute[size]": "large"})
    data["media"] = (io.BytesIO(jpeg(320, 240)), "hole.jpg")
    r = client.post(f"{BASE}/requests.json", data=data, content_type="multipart/form-data")
    assert r.status_code == 200, r.data
    rep = report(db_session, r.get_json()[0]["service_request_id"])
    assert rep.attributes == {"size": "large"}
    assert len(rep.photos) == 1 and rep.photos[0].display_key  # derivatives made inline
    row = client.get(f"{BASE}/requests/{rep.code}.json").get_json()[0]
    assert row["media_url"].startswith("http") and row["media_url"].endswith("/display")


def test_photo_rules_and_attribute_checks_are_intakes(client, demo):
    no_photo = client.post(f"{BASE}/requests.json", data=form(demo.api_key, service_code="road_damage"))
    assert no_photo.status_code == 400
    assert "ảnh" in no_photo.get_json()[0]["description"]  # Vietnamese unless asked otherwise
    data = form(demo.api_key, service_code="road_damage", **{"attribute[size]": "enormous"})
    data["media"] = (io.BytesIO(jpeg()), "a.jpg")
    assert client.post(f"{BASE}/requests.json", data=data, content_type="multipart/form-data").status_code == 400
    bad = form(demo.api_key)
    bad["media"] = (io.BytesIO(b"%PDF-1.4 not an image"), "x.jpg")
    r = client.post(f"{BASE}/requests.json", data=bad, content_type="multipart/form-data")
    assert r.status_code == 400
    validate("errors", r.get_json())


def test_empty_optional_attribute_is_absent(client, demo):
    r = client.post(
        f"{BASE}/requests.json", data=form(demo.api_key, service_code="power_outage", **{"attribute[households]": ""})
    )
    assert r.status_code == 200, r.data


def test_api_key_missing_invalid_or_revoked_is_403(client, demo, db_session):
    from fieldreport.services import apikeys

    key, raw = apikeys.create("revoked-client")
    apikeys.revoke(key)
    for api_key in (None, "", "not-a-key", raw):
        data = form(api_key) if api_key is not None else {k: v for k, v in form("x").items() if k != "api_key"}
        for fmt in ("json", "xml"):
            r = client.post(f"{BASE}/requests.{fmt}", data=data)
            assert r.status_code == 403, (api_key, r.data)
            if fmt == "json":
                validate("errors", r.get_json())
                assert r.get_json()[0]["code"] == 403
            else:
                assert parse_xml(r)[0].find("error/code").text == "403"


@pytest.mark.parametrize(
    "change, status",
    [
        ({"service_code": None}, 400),
        ({"service_code": "no_such_service"}, 404),
        ({"lat": None, "long": None}, 400),
        ({"long": None}, 400),
        ({"lat": "91"}, 400),
        ({"lat": "abc"}, 400),
        ({"lat": "16.06", "long": "108.2"}, 400),  # Đà Nẵng: outside the province
        ({"media_url": "javascript:alert(1)"}, 400),
        ({"description": "x" * 4001}, 400),
        ({"lat": None, "long": None, "address_id": "123"}, 400),
    ],
)
def test_bad_requests(client, demo, change, status):
    data = {k: v for k, v in {**form(demo.api_key), **change}.items() if v is not None}
    r = client.post(f"{BASE}/requests.json", data=data)
    assert r.status_code == status, r.data
    validate("errors", r.get_json())


def test_address_string_alone_is_placed_in_the_commune_it_names(client, demo, db_session):
    data = form(demo.api_key, address_string="12 Y Jút, phuong Tan Lap, Đắk Lắk")
    del data["lat"], data["long"]
    r = client.post(f"{BASE}/requests.json", data=data)
    assert r.status_code == 200, r.data
    rep = report(db_session, r.get_json()[0]["service_request_id"])
    from fieldreport.models import Area

    assert db_session.get(Area, rep.area_id).code == "24121"
    assert rep.location_source == "address" and rep.accuracy_m > 100
    assert rep.address_hint == "12 Y Jút, phuong Tan Lap, Đắk Lắk"
    data["address_string"] = "somewhere nice"
    assert client.post(f"{BASE}/requests.json", data=data).status_code == 400


def test_idempotency_key_header_returns_the_first_request(client, demo):
    headers = {"Idempotency-Key": "open311-retry-1"}
    a = client.post(f"{BASE}/requests.json", data=form(demo.api_key), headers=headers).get_json()
    b = client.post(f"{BASE}/requests.json", data=form(demo.api_key), headers=headers).get_json()
    assert a[0]["service_request_id"] == b[0]["service_request_id"]


def test_rate_limited_per_key_not_per_ip(client, demo, app, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_HOUR", 1)  # the anonymous per-IP limit
    monkeypatch.setitem(app.config, "OPEN311_RATE_PER_HOUR", 3)
    codes = [client.post(f"{BASE}/requests.json", data=form(demo.api_key)).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = client.post(f"{BASE}/requests.xml", data=form(demo.api_key))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert parse_xml(r)[0].tag == "errors"
    # reads need no key and are not counted against it
    assert client.get(f"{BASE}/services.json").status_code == 200


def test_contact_given_by_open311_never_appears_in_gets(client, demo):
    secret = dict(first_name="Hoàng", last_name="Kín Đáo", email="kin.dao@example.vn", phone="0987000111")
    code = client.post(f"{BASE}/requests.json", data=form(demo.api_key, **secret)).get_json()[0]["service_request_id"]
    for path in (
        f"requests/{code}.json?extensions=true",
        f"requests/{code}.xml?extensions=true",
        "requests.json?extensions=true",
        "servicerequestupdates.xml",
    ):
        text = client.get(f"{BASE}/{path}").data.decode()
        assert code in text
        for value in ("Kín Đáo", "Hoàng", "kin.dao@example.vn", "0987000111"):
            assert value not in text


def test_storage_down_is_503_with_retry_after_and_nothing_written(client, demo, db_session, s3_server):
    from fieldreport.models import Report

    before = db_session.scalar(select(func.count()).select_from(Report))
    data = form(demo.api_key, service_code="road_damage")
    data["media"] = (io.BytesIO(jpeg()), "hole.jpg")
    s3_server.stop()
    try:
        r = client.post(f"{BASE}/requests.xml", data=data, content_type="multipart/form-data")
    finally:
        s3_server.start()
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    assert parse_xml(r)[0].find("error/code").text == "503"
    assert db_session.scalar(select(func.count()).select_from(Report)) == before


def test_media_url_and_address_source_are_written_by_intake_itself(client, demo, db_session):
    """media_url and the address-derived location source go in with the report (one
    transaction), not by a second write after intake committed that could be lost: a report
    row may never be updated to add them (a real PostgreSQL trigger refuses it here)."""
    from sqlalchemy import text

    db_session.execute(
        text("""
        CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'second write of media_url or location_source'; END $$;
        CREATE TRIGGER refuse_second_write BEFORE UPDATE ON reports FOR EACH ROW
        WHEN (NEW.attributes->'media_url' IS DISTINCT FROM OLD.attributes->'media_url'
              OR NEW.location_source IS DISTINCT FROM OLD.location_source)
        EXECUTE FUNCTION pg_temp.refuse();""")
    )
    db_session.commit()
    data = {k: v for k, v in form(demo.api_key).items() if k not in ("lat", "long")}
    data.update(address_string="12 Y Jút, phuong Tan Lap, Đắk Lắk", media_url="https://photos.example/lamp.jpg")
    r = client.post(f"{BASE}/requests.json", data=data)
    assert r.status_code == 200, r.data
    rep = report(db_session, r.get_json()[0]["service_request_id"])
    assert rep.attributes["media_url"] == "https://photos.example/lamp.jpg"
    assert rep.location_source == "address"
