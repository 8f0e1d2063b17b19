"""jurisdiction_id with several provinces: a province's services and requests only, unknown ones
refused in the spec's error format; POST refused when the point is in another province; with
one province the argument is ignored, as it always was."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fieldreport.models import Report
from tests.open311.conftest import BASE, both
from tests.open311.test_write import form

NHA_TRANG = (109.1967, 12.2388)  # lon, lat: Phường Nha Trang, 22366, Khánh Hòa (56)


@pytest.fixture()
def two_provinces(app, db_session):
    from fieldreport.services import provinces

    saved = app.config["PROVINCES"]
    app.config["PROVINCES"] = "66,56"
    try:
        provinces.load(["56"])
        yield
    finally:
        app.config["PROVINCES"] = saved


@pytest.fixture()
def one_of_each(two_provinces, make_report):
    r56 = make_report(lon=NHA_TRANG[0], lat=NHA_TRANG[1], unit="UBND-22366", province_code="56", status="assigned")
    r66 = make_report(province_code="66", status="assigned")
    return r56.code, r66.code


def get(client, path: str, schema: str, status: int = 200):
    """both() of "<resource>?<query>"."""
    resource, _, query = path.partition("?")
    return both(client, resource, schema, status=status, query_string=query)


def codes(client, query: str = "") -> set[str]:
    data, _ = get(client, f"requests?{query}", "service_requests")
    return {r["service_request_id"] for r in data}


def refused(client, path: str, status: int = 404) -> str:
    data, _ = get(client, path, "errors", status=status)
    assert [e["code"] for e in data] == [status]
    return data[0]["description"]


def test_requests_of_one_province_by_its_code_or_the_host_form(client, one_of_each):
    c56, c66 = one_of_each
    assert {c56, c66} <= codes(client)  # no jurisdiction: the whole deployment
    assert c56 in codes(client, "jurisdiction_id=56") and c66 not in codes(client, "jurisdiction_id=56")
    assert c66 in codes(client, "jurisdiction_id=66") and c56 not in codes(client, "jurisdiction_id=66")
    assert c56 in codes(client, "jurisdiction_id=localhost/56") and c66 not in codes(
        client, "jurisdiction_id=localhost/56"
    )
    assert {c56, c66} <= codes(client, "jurisdiction_id=localhost")  # the host alone: the deployment
    # service_request_id overrides the other arguments, not the jurisdiction
    assert codes(client, f"service_request_id={c56},{c66}&jurisdiction_id=66") == {c66}
    # one request (and its token): another province's answers 404 like an unknown one
    assert get(client, f"requests/{c56}?jurisdiction_id=56", "service_requests")[0][0]["service_request_id"] == c56
    refused(client, f"requests/{c56}?jurisdiction_id=66")
    refused(client, f"tokens/{c56}?jurisdiction_id=66")
    updates, _ = get(client, "servicerequestupdates?jurisdiction_id=66", "service_request_updates")
    assert {u["service_request_id"] for u in updates} == {c66}


@pytest.mark.parametrize("bad", ["01", "99", "daklak", "evil.example/56", "localhost/01", "localhost/"])
def test_an_unknown_jurisdiction_is_404_in_the_specs_format(client, one_of_each, bad):
    for path in ("discovery", "services", "services/street_light", "requests", f"requests/{one_of_each[0]}"):
        assert bad in refused(client, f"{path}?jurisdiction_id={bad}")


def test_services_and_discovery_are_the_same_in_every_province(client, two_provinces):
    everywhere, _ = both(client, "services", "services")
    assert get(client, "services?jurisdiction_id=56", "services")[0] == everywhere
    assert get(client, "discovery?jurisdiction_id=66", "discovery")[0] == both(client, "discovery", "discovery")[0]


def test_post_with_a_jurisdiction_must_fall_in_it(client, demo, two_provinces, db_session):
    before = db_session.scalar(select(func.count()).select_from(Report))
    r = client.post(f"{BASE}/requests.json", data=form(demo.api_key, jurisdiction_id="56"))  # a point in 66
    assert r.status_code == 400, r.data
    assert "56" in r.get_json()[0]["description"] and "66" in r.get_json()[0]["description"]
    assert db_session.scalar(select(func.count()).select_from(Report)) == before  # nothing written
    unknown = client.post(f"{BASE}/requests.json", data=form(demo.api_key, jurisdiction_id="01"))
    assert unknown.status_code == 404 and unknown.get_json()[0]["code"] == 404
    ok = client.post(f"{BASE}/requests.json", data=form(demo.api_key, jurisdiction_id="66"))
    assert ok.status_code == 200, ok.data
    there = form(demo.api_key, jurisdiction_id="56", lat=str(NHA_TRANG[1]), long=str(NHA_TRANG[0]))
    r56 = client.post(f"{BASE}/requests.json", data=there)
    assert r56.status_code == 200, r56.data
    code = r56.get_json()[0]["service_request_id"]
    assert db_session.scalar(select(Report.province_code).where(Report.code == code)) == "56"


def test_one_province_ignores_the_jurisdiction_as_before(client, make_report, demo):
    code = make_report(province_code="66").code
    assert codes(client, "jurisdiction_id=daklak.gov.vn") == codes(client) and code in codes(client)
    assert get(client, "services?jurisdiction_id=01", "services")[0] == both(client, "services", "services")[0]
    r = client.post(f"{BASE}/requests.json", data=form(demo.api_key, jurisdiction_id="anything.example"))
    assert r.status_code == 200, r.data  # the demo's point, in the one province served


def test_an_update_names_the_reports_jurisdiction_or_none(client, one_of_each, db_session):
    """POST servicerequestupdates with jurisdiction_id: a report of another province is not
    found (as GET requests/{id} answers), an unknown jurisdiction is 404, and nothing is written."""
    from fieldreport.models import Event
    from tests.open311.test_updates import post_update, unit_key

    c56, c66 = one_of_each
    key = unit_key("khanh-hoa-tracker", "UBND-22366")

    def notes() -> int:
        return db_session.scalar(select(func.count()).select_from(Event).where(Event.type == "external_update"))

    before = notes()
    other = post_update(client, key, c56, "u-1", "investigating", jurisdiction_id="66", description="Đã tiếp nhận")
    assert other.status_code == 404, other.data
    assert other.get_json()[0]["code"] == 404
    unknown = post_update(client, key, c56, "u-2", "investigating", jurisdiction_id="01")
    assert unknown.status_code == 404 and "01" in unknown.get_json()[0]["description"]
    assert notes() == before  # nothing written by a refused update
    ok = post_update(client, key, c56, "u-3", "investigating", jurisdiction_id="56", description="Đã tiếp nhận")
    assert ok.status_code == 200, ok.data
    assert notes() == before + 1
    plain = post_update(client, key, c56, "u-4", "investigating", description="Không nêu tỉnh")
    assert plain.status_code == 200, plain.data  # no jurisdiction: the whole deployment, as before
