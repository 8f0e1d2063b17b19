"""Server-side checks of the pages (no browser): rendering, language, static files, map data."""

from __future__ import annotations

import json


def test_citizen_page_is_vietnamese_by_default(client):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Gửi phản ánh" in html
    assert 'value="road_damage"' in html
    assert "/static/vendor/leaflet/leaflet.js" in html


def test_language_switch_is_remembered(client):
    resp = client.get("/?lang=en")
    assert '<html lang="en">' in resp.get_data(as_text=True)
    assert "lang=en" in resp.headers.get("Set-Cookie", "")
    again = client.get("/")  # the test client keeps the cookie
    assert "Submit report" in again.get_data(as_text=True)


def test_vendored_assets_are_served_locally(client):
    for path in (
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/chartjs/chart.umd.min.js",
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/vendor/swagger-ui/swagger-ui-standalone-preset.js",
        "/static/web/app.css",
        "/static/web/citizen.js",
    ):
        resp = client.get(path)
        assert resp.status_code == 200, path
        resp.close()


def test_swagger_ui_points_at_local_files(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_communes_geojson_is_the_base_layer(client):
    resp = client.get("/web/communes.geojson")
    assert resp.status_code == 200
    assert resp.mimetype == "application/geo+json"
    gj = json.loads(resp.data)
    assert len(gj["features"]) == 102
    codes = {f["properties"]["code"] for f in gj["features"]}
    assert "24133" in codes
    assert len(resp.data) < 600_000
    etag = resp.headers["ETag"]
    assert client.get("/web/communes.geojson", headers={"If-None-Match": etag}).status_code == 304


def test_communes_geojson_is_gzipped_for_clients_that_accept_it(client):
    import gzip

    plain = client.get("/web/communes.geojson").data
    resp = client.get("/web/communes.geojson", headers={"Accept-Encoding": "gzip, deflate"})
    assert resp.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in resp.headers["Vary"]
    assert gzip.decompress(resp.data) == plain
    assert len(resp.data) < len(plain) / 2


def test_service_worker_served_from_root(client):
    resp = client.get("/sw.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    resp.close()


def test_track_pages(client, db_session):
    from tests import factories as f

    report = f.make_report(db_session, "street_light", *f.BMT)
    db_session.commit()
    code = report.code
    assert client.get(f"/track?code={code.lower()}").headers["Location"].endswith(f"/track/{code}")
    assert client.get(f"/track/{code}").status_code == 200
    assert client.get("/track/bad%20code!").status_code == 404


def test_track_lookup_errors_keep_the_box(client):
    """A wrong or unknown code answers the lookup page again, with the code and what to do."""
    for query, status in (("7K3M9QX2AB", 404), ("ab12", 400)):
        resp = client.get(f"/track?code={query}")
        assert resp.status_code == status
        html = resp.get_data(as_text=True)
        assert 'id="code"' in html and f'value="{query}"' in html and 'id="code-error"' in html
    resp = client.get("/track/7K3M9QX2AB")
    assert resp.status_code == 404 and "Không tìm thấy phản ánh có mã 7K3M9QX2AB" in resp.get_data(as_text=True)


def test_citizen_page_has_tiles_questions_and_limits(client):
    html = client.get("/").get_data(as_text=True)
    assert 'name="category" value="road_damage"' in html and "icons/categories.svg#road_damage" in html
    assert "Tối đa 6 ảnh" in html
    assert '"households"' in html  # power_outage's question, from its service definition
