"""What real GeoReport clients send and expect: extra attributes, datetimes, OPTIONS, 413,
stable media URLs, string keywords."""

from __future__ import annotations

import io

import pytest
import urllib3
from sqlalchemy import select

from fieldreport.extensions import storage
from fieldreport.models import Category, Photo, Report
from tests.factories import jpeg
from tests.open311.conftest import BASE, BMT, parse_xml, validate


def form(api_key, **extra):
    data = {
        "api_key": api_key,
        "service_code": "power_outage",
        "lat": str(BMT[1]),
        "long": str(BMT[0]),
        "description": "Mất điện cả khu phố",
    }
    data.update(extra)
    return data


@pytest.fixture()
def with_datetime_attribute(db_session):
    cat = db_session.scalar(select(Category).where(Category.code == "power_outage"))
    cat.attributes = [*(cat.attributes or []), {"code": "since", "datatype": "datetime", "order": 9}]
    db_session.flush()


def test_attributes_the_service_does_not_define_are_ignored(client, demo, db_session):
    r = client.post(
        f"{BASE}/requests.json",
        data=form(
            demo.api_key,
            **{"attribute[households]": "12", "attribute[other_server_field]": "x", "attribute[tags][]": "a"},
        ),
    )
    assert r.status_code == 200, r.data
    code = r.get_json()[0]["service_request_id"]
    report = db_session.scalar(select(Report).where(Report.code == code))
    assert report.attributes == {"households": 12.0}


@pytest.mark.parametrize("value", ["abc", "2026-13-45T99:99:99", "2026-02-30", "12:30", "2026-05-04T09:30:00+99:00"])
def test_datetime_attributes_are_checked(client, demo, with_datetime_attribute, value):
    r = client.post(f"{BASE}/requests.json", data=form(demo.api_key, **{"attribute[since]": value}))
    assert r.status_code == 400, (value, r.data)
    validate("errors", r.get_json())
    assert "since" in r.get_json()[0]["description"]


@pytest.mark.parametrize("value", ["2026-05-04T09:30:00+07:00", "2026-05-04T02:30:00Z", "2026-05-04"])
def test_w3c_datetime_attributes_are_accepted_as_sent(client, demo, db_session, with_datetime_attribute, value):
    r = client.post(f"{BASE}/requests.json", data=form(demo.api_key, **{"attribute[since]": value}))
    assert r.status_code == 200, r.data
    code = r.get_json()[0]["service_request_id"]
    assert db_session.scalar(select(Report).where(Report.code == code)).attributes["since"] == value


@pytest.mark.parametrize(
    "path", ["requests.json", "requests.xml", "services.json", "requests/ABC.json", "servicerequestupdates.xml"]
)
def test_options_allow_agrees_with_the_405_allow(client, path):
    options = client.options(f"{BASE}/{path}")
    assert options.status_code in (200, 204)
    allowed = {m.strip() for m in options.headers["Allow"].split(",")}
    assert not allowed & {"PUT", "PATCH", "DELETE"}
    for method in ("PUT", "PATCH", "DELETE"):
        r = client.open(f"{BASE}/{path}", method=method)
        assert r.status_code == 405
        assert {m.strip() for m in r.headers["Allow"].split(",")} == allowed
    assert ("POST" in allowed) == path.startswith(("requests.", "servicerequestupdates."))


def test_options_of_an_unknown_path_is_404(client):
    r = client.options(f"{BASE}/nothing.json")
    assert r.status_code == 404
    validate("errors", r.get_json())


def test_a_too_large_photo_is_413_in_the_spec_format(client, demo, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 2000)
    data = form(demo.api_key)
    data["media"] = (io.BytesIO(jpeg(400, 300) + b"\0" * 3000), "big.jpg")
    r = client.post(f"{BASE}/requests.xml", data=data, content_type="multipart/form-data")
    assert r.status_code == 413
    assert parse_xml(r)[0].find("error/code").text == "413"
    # documented, as every other status the endpoint answers
    from tests.conftest import ROOT

    assert "413" in (ROOT / "docs" / "open311.md").read_text()


class _Watched(io.BytesIO):
    """An uploaded part's spool that remembers how far it was read."""

    furthest: list[int] = []

    def read(self, size=-1):
        data = super().read(size)
        _Watched.furthest.append(self.tell())
        return data


@pytest.mark.parametrize("path", ["requests", "servicerequestupdates"])
def test_a_huge_photo_is_read_only_to_the_cap(client, demo, app, monkeypatch, path):
    """Both Open311 upload paths read a part through the one capped reader: PHOTO_MAX_BYTES + 1
    bytes are enough to refuse it, the rest of a huge upload is never read into memory."""
    from tests.open311.test_updates import submit, unit_key

    class Request(app.request_class):
        def _get_file_stream(self, *args, **kwargs):
            return _Watched()

    cap = 2000
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", cap)
    photo = (io.BytesIO(jpeg(400, 300) + b"\0" * 200_000), "big.jpg")
    if path == "requests":
        data = {**form(demo.api_key), "media": photo}
    else:
        data = {
            "api_key": unit_key(),
            "service_request_id": submit(client, demo.api_key),
            "update_id": "big-1",
            "status": "fixed",
            "description": "Đã sửa",
            "media": photo,
        }
    monkeypatch.setattr(app, "request_class", Request)
    _Watched.furthest = []
    r = client.post(f"{BASE}/{path}.json", data=data, content_type="multipart/form-data")
    assert r.status_code == 413, r.data
    assert _Watched.furthest and max(_Watched.furthest) == cap + 1


def test_media_url_is_a_stable_url_redirecting_to_a_fresh_copy(client, demo, db_session):
    data = form(demo.api_key, service_code="road_damage")
    data["media"] = (io.BytesIO(jpeg(320, 240)), "hole.jpg")
    r = client.post(f"{BASE}/requests.json", data=data, content_type="multipart/form-data")
    code = r.get_json()[0]["service_request_id"]
    photo = db_session.scalar(select(Photo).join(Report).where(Report.code == code))
    for extensions in ("", "?extensions=true"):
        row = client.get(f"{BASE}/requests/{code}.json{extensions}").get_json()[0]
        assert row["media_url"] == f"http://localhost/api/v1/reports/{code}/photos/{photo.id}/display"
        assert "Signature" not in row["media_url"]
    listed = client.get(f"{BASE}/requests.json?service_request_id={code}").get_json()[0]
    assert listed["media_url"] == row["media_url"]
    assert row["extended_attributes"]["media_urls"] == [row["media_url"]]
    hop = client.get(row["media_url"])
    assert hop.status_code == 302 and "max-age" in hop.headers["Cache-Control"]
    got = urllib3.request("GET", hop.headers["Location"], timeout=10)
    assert got.status == 200 and got.data == storage.get(photo.display_key)


def test_keywords_are_strings(client, db_session):
    cat = db_session.scalar(select(Category).where(Category.code == "rubbish"))
    cat.keywords = None
    db_session.flush()
    data = client.get(f"{BASE}/services.json").get_json()
    validate("services", data)
    assert all(isinstance(s["keywords"], str) for s in data)


def _offset(meters_east: float) -> tuple[float, float]:
    """A point `meters_east` of the Buôn Ma Thuột centre (lon, lat)."""
    import math

    return BMT[0] + meters_east / (111_320 * math.cos(math.radians(BMT[1]))), BMT[1]


def test_near_me_lat_long_radius_and_bbox(client, make_report):
    here, close, town, far = (make_report(lon=lon, lat=lat) for lon, lat in map(_offset, (0, 600, 4_000, 30_000)))

    def ids(**query):
        r = client.get(f"{BASE}/requests.json", query_string=query)
        assert r.status_code == 200, r.data
        validate("service_requests", r.get_json())
        return {row["service_request_id"] for row in r.get_json()} & {here.code, close.code, town.code, far.code}

    lon, lat = BMT
    assert ids(lat=lat, long=lon) == {here.code, close.code}  # radius defaults to 1 km
    assert ids(lat=lat, long=lon, radius=5000) == {here.code, close.code, town.code}
    assert ids(lat=lat, long=lon, radius=300) == {here.code}
    assert ids(lat=lat, long=lon, radius=50_000) == {here.code, close.code, town.code, far.code}
    east = _offset(2_000)[0]
    assert ids(bbox=f"{east},{lat - 0.1},{east + 0.5},{lat + 0.1}") == {town.code, far.code}
    assert ids(lat=lat, long=lon, radius=5000, bbox=f"{east},{lat - 0.1},{east + 0.5},{lat + 0.1}") == {town.code}
    root, _ = parse_xml(client.get(f"{BASE}/requests.xml", query_string={"lat": lat, "long": lon, "radius": 300}))
    assert here.code in {el.findtext("service_request_id") for el in root}


@pytest.mark.parametrize(
    "query",
    [
        {"lat": "abc", "long": "108"},
        {"lat": "12.6"},
        {"long": "108"},
        {"lat": "91", "long": "108"},
        {"lat": "12.6", "long": "108", "radius": "0"},
        {"lat": "12.6", "long": "108", "radius": "-5"},
        {"lat": "12.6", "long": "108", "radius": "abc"},
        {"lat": "12.6", "long": "108", "radius": "nan"},
        {"lat": "12.6", "long": "108", "radius": "100000"},
        {"radius": "500"},
        {"bbox": "1,2,3"},
        {"bbox": "108.1,12,108,13"},
        {"bbox": "a,b,c,d"},
        {"bbox": "100,-91,101,0"},
    ],
)
def test_malformed_near_me_is_the_specs_400(client, query):
    for fmt in ("json", "xml"):
        r = client.get(f"{BASE}/requests.{fmt}", query_string=query)
        assert r.status_code == 400, (query, r.data)
        if fmt == "json":
            validate("errors", r.get_json())
        else:
            assert parse_xml(r)[0].find("error/code").text == "400"
