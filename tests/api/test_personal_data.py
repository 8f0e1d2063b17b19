"""Personal data (Decree 13/2023/NĐ-CP): who sees a reporter's identity and what staff read of
signed-in citizens."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from fieldreport.models import IdentityView, Report
from fieldreport.services import events
from tests import factories as f
from tests.e2e.test_console_pages import as_user

PHONE_USER = "+84911222333"  # a signed-in citizen's username is their phone number


def _signed_in_report(client, db_session):
    f.make_user(db_session, PHONE_USER, "citizen")
    body = {"category": "street_light", "lat": f.BMT[1], "lon": f.BMT[0], "description": "Đèn tắt"}
    resp = client.post("/api/v1/reports", json=body, headers=f.bearer(db_session, PHONE_USER))
    assert resp.status_code == 201, resp.json
    return resp.json["code"]


def test_signed_in_citizens_username_is_not_in_the_history_staff_read(client, db_session):
    code = _signed_in_report(client, db_session)
    # A row written the old way ("<role>:<username>") is not shown as it was stored either.
    report = db_session.scalar(select(Report).where(Report.code == code))
    events.record(report, "note", actor=f"citizen:{PHONE_USER}", note="Đèn vẫn tắt", public=False)
    db_session.commit()
    for who in ("bmt.staff", "dispatcher", "admin"):
        r = client.get(f"/api/v1/staff/reports/{code}", headers=f.bearer(db_session, who))
        if r.status_code == 403:
            continue
        assert r.status_code == 200, r.json
        history = r.json["history"]
        assert history[0]["actor"] == history[-1]["actor"] == "citizen"
        assert PHONE_USER not in r.get_data(as_text=True) and "911222333" not in r.get_data(as_text=True)
    as_user(client, db_session, "dispatcher")
    page = client.get(f"/console/reports/{code}").get_data(as_text=True)
    assert "911222333" not in page and "Người dân" in page


# -- audited identity views ------------------------------------------------------------------


@pytest.fixture()
def identified(db_session):
    report = f.make_report(
        db_session,
        "road_damage",
        *f.BMT,
        reporter_name="Trần Thị Bình",
        reporter_phone="0905000678",
        reporter_email="binh@example.org",
    )
    f.assign(db_session, report, "UBND-24133")
    db_session.commit()
    return report


def _audit(db_session, report):
    return db_session.scalars(
        select(IdentityView).where(IdentityView.report_id == report.id).order_by(IdentityView.id)
    ).all()


def test_staff_detail_shows_identity_masked_and_a_reveal_is_audited(client, db_session, identified):
    code, url = identified.code, f"/api/v1/staff/reports/{identified.code}/reporter-identity"
    staff = client.get(f"/api/v1/staff/reports/{code}", headers=f.bearer(db_session, "bmt.staff"))
    assert staff.json["reporter"] is None
    assert (
        client.post(url, json={"reason": "Gọi xác minh vị trí"}, headers=f.bearer(db_session, "bmt.staff")).status_code
        == 403
    )
    d = client.get(f"/api/v1/staff/reports/{code}", headers=f.bearer(db_session, "dispatcher"))
    assert d.json["reporter"] == {"name": "T. T. B.", "phone": "09xx xxx 678", "email": "b•••@e•••.org", "masked": True}
    for secret in ("0905000678", "binh@example.org", "Bình"):
        assert secret not in d.get_data(as_text=True)
    assert _audit(db_session, identified) == []  # reading the detail reveals nothing
    for body in ({}, {"reason": ""}, {"reason": "  x "}):
        r = client.post(url, json=body, headers=f.bearer(db_session, "dispatcher"))
        assert r.status_code == 422 and "0905000678" not in r.get_data(as_text=True)
    assert _audit(db_session, identified) == []
    r = client.post(url, json={"reason": "Gọi xác minh vị trí ổ gà"}, headers=f.bearer(db_session, "dispatcher"))
    assert r.status_code == 200, r.json
    assert (r.json["name"], r.json["phone"], r.json["email"]) == ("Trần Thị Bình", "0905000678", "binh@example.org")
    assert r.headers["Cache-Control"] == "no-store"
    [row] = _audit(db_session, identified)
    assert row.user_id == f.user(db_session, "dispatcher").id and row.reason == "Gọi xác minh vị trí ổ gà"
    assert row.actor == "dispatcher:dispatcher" and row.at is not None
    # Admins read the log; nobody else does.
    log = client.get(f"/api/v1/staff/identity-views?report={code}", headers=f.bearer(db_session, "admin"))
    assert log.status_code == 200 and log.json["total"] == 1
    assert log.json["items"][0] | {"at": None} == {
        "at": None,
        "actor": "dispatcher:dispatcher",
        "username": "dispatcher",
        "role": "dispatcher",
        "report_code": code,
        "reason": "Gọi xác minh vị trí ổ gà",
    }
    assert client.get("/api/v1/staff/identity-views", headers=f.bearer(db_session, "dispatcher")).status_code == 403


def test_the_audit_log_is_append_only_in_the_database(client, db_session, identified):
    r = client.post(
        f"/api/v1/staff/reports/{identified.code}/reporter-identity",
        json={"reason": "Xác minh danh tính"},
        headers=f.bearer(db_session, "admin"),
    )
    assert r.status_code == 200
    for sql in (
        "UPDATE identity_views SET reason = 'nothing to see'",
        "DELETE FROM identity_views",
        "TRUNCATE identity_views",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with db_session.begin_nested():
                db_session.execute(text(sql))
    assert [v.reason for v in _audit(db_session, identified)] == ["Xác minh danh tính"]
    assert db_session.scalar(select(func.count()).select_from(IdentityView)) >= 1


def test_console_show_contact_asks_a_reason_and_admins_read_the_log(client, db_session, identified):
    csrf = as_user(client, db_session, "dispatcher")
    page = client.get(f"/console/reports/{identified.code}").get_data(as_text=True)
    assert "09xx xxx 678" in page and "0905000678" not in page and 'id="show-contact"' in page
    bad = client.post(f"/console/reports/{identified.code}/identity", data={"csrf_token": csrf, "reason": ""})
    assert bad.status_code == 422 and "0905000678" not in bad.get_data(as_text=True)
    assert 'id="identity-error"' in bad.get_data(as_text=True)
    ok = client.post(
        f"/console/reports/{identified.code}/identity", data={"csrf_token": csrf, "reason": "Gọi lại người dân"}
    )
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    assert "0905000678" in ok.get_data(as_text=True) and "binh@example.org" in ok.get_data(as_text=True)
    assert [v.reason for v in _audit(db_session, identified)] == ["Gọi lại người dân"]
    # The page shown again later is masked again: the reveal is one page, not a state.
    assert "0905000678" not in client.get(f"/console/reports/{identified.code}").get_data(as_text=True)
    assert client.get("/console/identity-views").status_code == 403
    as_user(client, db_session, "admin")
    log = client.get(f"/console/identity-views?report={identified.code}").get_data(as_text=True)
    assert "Gọi lại người dân" in log and identified.code in log and "dispatcher" in log
    staff_csrf = as_user(client, db_session, "bmt.staff")
    assert (
        client.post(
            f"/console/reports/{identified.code}/identity", data={"csrf_token": staff_csrf, "reason": "tò mò thôi"}
        ).status_code
        == 403
    )
    assert len(_audit(db_session, identified)) == 1


# -- a photo's EXIF position --------------------------------------------------------------------


def test_a_photos_position_is_never_published(client, db_session):
    """Sent with the device's position, a photo whose EXIF holds another one: no public surface
    (report view, list, nearby, Open311, map) carries the photo's position, nor its derivatives."""
    import io

    from PIL import Image

    from fieldreport.extensions import storage
    from fieldreport.models import Photo
    from fieldreport.services import photos
    from tests.api.intake_helpers import image, submit

    secret = (12.68137, 108.05291)  # the photo's EXIF position (lat, lon), 1.9 km from the report
    before = db_session.scalar(select(func.count()).select_from(Report))
    r = submit(client, lat=None, lon=None, photos=[("a.jpg", image(gps=secret))])
    assert r.status_code == 422 and db_session.scalar(select(func.count()).select_from(Report)) == before
    r = submit(client, lat=12.667, lon=108.038, photos=[("a.jpg", image(gps=secret))])
    assert r.status_code == 201, r.json
    code = r.json["code"]
    photo = db_session.scalar(select(Photo).join(Report).where(Report.code == code))
    assert photo.gps is not None  # kept privately as evidence
    photos.make_derivatives(photo.id)
    db_session.refresh(photo)
    for key in (photo.display_key, photo.thumb_key):
        assert not Image.open(io.BytesIO(storage.get(key))).getexif()
    paths = [
        f"/api/v1/reports/{code}",
        "/api/v1/reports?page_size=50",
        "/api/v1/reports/nearby?lat=12.667&lon=108.038&category=street_light",
        "/open311/v2/requests.json",
        f"/open311/v2/requests/{code}.json",
        f"/public/reports/{code}",
        "/public/data/reports.geojson",
        "/public/data/reports.csv",
        "/public/feeds/reports.atom",
    ]
    for path in paths:
        page = client.get(path)
        body = page.get_data(as_text=True)  # streamed bodies read before the next request
        assert page.status_code == 200, path
        assert code in body, path  # the report is there...
        for digits in ("12.6813", "108.0529", "12.681", "108.052"):
            assert digits not in body, (path, digits)  # ...its photo's position is not


def test_an_anonymous_report_shows_the_dispatcher_no_one_to_reveal(client, db_session):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    f.assign(db_session, report, "UBND-24133")
    db_session.commit()
    as_user(client, db_session, "dispatcher")
    page = client.get(f"/console/reports/{report.code}").get_data(as_text=True)
    assert '<dd id="reporter">—</dd>' in page and 'id="show-contact"' not in page
    as_user(client, db_session, "bmt.staff")
    assert 'id="reporter"' not in client.get(f"/console/reports/{report.code}").get_data(as_text=True)
