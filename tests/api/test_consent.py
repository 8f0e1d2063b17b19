"""Consent and the privacy notice (Decree 13/2023/NĐ-CP): the form says what the data are for and
asks consent for contact details; each report keeps the version of the notice its reporter saw."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldreport.extensions import db
from fieldreport.models import Report
from fieldreport.services import privacy
from tests import factories as f
from tests.api.test_zalo import zalo, zalo_report  # noqa: F401 (the fixture)

BODY = {"category": "street_light", "lat": f.BMT[1], "lon": f.BMT[0], "description": "Đèn tắt"}


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Report))


def test_the_notice_is_served_with_its_version(client, app):
    r = client.get("/api/v1/privacy-notice", headers={"Accept-Language": "vi"})
    assert r.status_code == 200
    assert r.json["version"] == privacy.NOTICE_VERSION and "13/2023" in r.json["purpose"]
    assert str(app.config["RETENTION_MONTHS"]) in r.json["purpose"] and r.json["contact_consent"]


def test_the_form_states_the_purpose_and_asks_consent_for_contacts(client):
    page = client.get("/", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert 'id="privacy-notice"' in page and "Nghị định 13/2023" in page
    assert 'id="contact_consent"' in page and privacy.CONSENT_TEXT[0] in page
    assert f'id="notice_version" name="notice_version" value="{privacy.NOTICE_VERSION}"' in page


def test_contact_details_under_the_notice_need_consent(client, db_session):
    before = _count()
    with_contact = {**BODY, "notice_version": privacy.NOTICE_VERSION, "reporter_phone": "0905000678"}
    r = client.post("/api/v1/reports", json=with_contact)
    assert r.status_code == 422 and r.json["code"] == "consent_required" and r.json["field"] == "contact_consent"
    r = client.post("/api/v1/reports", json={**with_contact, "contact_consent": False})
    assert r.status_code == 422 and _count() == before  # nothing written
    r = client.post("/api/v1/reports", json={**with_contact, "contact_consent": True})
    assert r.status_code == 201, r.json
    report = db_session.scalar(select(Report).where(Report.code == r.json["code"]))
    assert report.notice_version == privacy.NOTICE_VERSION and report.reporter_phone == "+84905000678"
    # No contact details: no consent to ask; the notice version is still kept.
    r = client.post("/api/v1/reports", json={**BODY, "notice_version": privacy.NOTICE_VERSION})
    assert r.status_code == 201
    assert (
        db_session.scalar(select(Report.notice_version).where(Report.code == r.json["code"])) == privacy.NOTICE_VERSION
    )


def test_an_unknown_notice_version_is_refused(client):
    r = client.post("/api/v1/reports", json={**BODY, "notice_version": "1999-01-01"})
    assert r.status_code == 422 and "notice_version" in str(r.json)


def test_open311_and_zalo_record_their_notice(client, db_session, demo, zalo):  # noqa: F811
    r = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": demo.api_key,
            "service_code": "street_light",
            "lat": str(f.BMT[1]),
            "long": str(f.BMT[0]),
            "description": "Đèn tắt",
            "phone": "0911222333",
        },
    )
    assert r.status_code in (200, 201), r.get_data(as_text=True)
    code = r.json[0]["service_request_id"]
    assert db_session.scalar(select(Report.notice_version).where(Report.code == code)) == privacy.OPEN311_NOTICE
    report = zalo_report(client, zalo, "u-notice")
    assert report is not None and report.notice_version == privacy.ZALO_NOTICE
