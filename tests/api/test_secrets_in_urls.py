"""Secrets travel in headers and bodies, never in URLs (which access logs and proxies keep):
a query string carrying one is refused, and every logged URL is scrubbed."""

from __future__ import annotations

import logging

from tests import factories as f

BASE = "/open311/v2"


def test_a_citizen_token_in_the_url_is_refused_and_the_header_works(client, db_session):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    token = report.citizen_token
    r = client.get("/api/v1/me/reports", query_string={"citizen_token": token})
    assert r.status_code == 400 and r.json["code"] == "secret_in_url"
    assert "X-Citizen-Token" in r.json["title"]
    mine = client.get("/api/v1/me/reports", headers={"X-Citizen-Token": token})
    assert mine.status_code == 200 and [m["code"] for m in mine.json] == [report.code]
    rate = client.post(f"/api/v1/reports/{report.code}/rating?citizen_token={token}", json={"stars": 5})
    assert rate.status_code == 400 and rate.json["code"] == "secret_in_url"


def test_a_bearer_token_in_the_url_is_refused(client, db_session):
    token = f.token_for(db_session, "dispatcher")
    r = client.get("/api/v1/auth/me", query_string={"access_token": token})
    assert r.status_code == 400 and r.json["code"] == "secret_in_url"


def test_an_open311_api_key_goes_in_the_post_body_only(client, demo):
    form = {"service_code": "street_light", "lat": str(f.BMT[1]), "long": str(f.BMT[0]), "description": "đèn hỏng"}
    in_url = client.post(f"{BASE}/requests.json?api_key={demo.api_key}", data=form)
    assert in_url.status_code == 400  # was 201: the key was taken from the query string
    assert "api_key" in in_url.get_json()[0]["description"]  # Open311's own error format
    assert client.post(f"{BASE}/requests.json", data={**form, "api_key": demo.api_key}).status_code == 200
    assert client.get(f"{BASE}/services.json").status_code == 200  # reading needs no key


def test_our_log_lines_mask_secret_url_parameters(app):
    handler = logging.getLogger("fieldreport").handlers[0]
    record = logging.LogRecord(
        "fieldreport",
        logging.WARNING,
        __file__,
        1,
        "slow request %s",
        ("/api/v1/me/reports?citizen_token=SECRET-TOKEN&page=2&code=123456",),
        None,
    )
    assert handler.filter(record)
    line = handler.format(record)
    assert "SECRET-TOKEN" not in line and "123456" not in line
    assert "citizen_token=[scrubbed]&page=2&code=[scrubbed]" in line
