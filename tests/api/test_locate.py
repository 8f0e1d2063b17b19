"""GET /api/v1/locate: the commune and province under the citizen's pin, from our boundaries."""

from __future__ import annotations

URL = "/api/v1/locate"


def test_point_in_a_commune_names_commune_and_province(client):
    r = client.get(URL, query_string={"lat": 12.667, "lon": 108.038})
    assert r.status_code == 200
    assert r.json["inside"] is True
    assert r.json["commune"] == {"code": "24133", "name": "Phường Buôn Ma Thuột"}
    assert r.json["province"] == {"code": "66", "name": "Tỉnh Đắk Lắk"}
    assert r.json["method"] == "contains"
    assert "max-age" in r.headers["Cache-Control"]


def test_point_outside_the_province_is_said_before_any_upload(client):
    r = client.get(URL, query_string={"lat": 21.0285, "lon": 105.8542})  # Hà Nội
    assert r.status_code == 200
    assert r.json["inside"] is False and r.json["commune"] is None
    assert r.json["service_province"] == {"code": "66", "name": "Tỉnh Đắk Lắk"}
    # The intake agrees: the same point is refused.
    from tests.api.intake_helpers import submit

    refused = submit(client, lat=21.0285, lon=105.8542)
    assert refused.status_code == 422 and refused.json["code"] == "outside_service_area"


def test_bad_coordinates_are_a_problem(client):
    r = client.get(URL, query_string={"lat": 123, "lon": "x"})
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert set(r.json["errors"]["query"]) == {"lat", "lon"}
