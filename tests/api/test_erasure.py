"""Erasure of a reporter's personal data (Decree 13/2023/NĐ-CP): by the citizen (token or
session), by an admin on request, by the retention job; the indicators do not move."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import select, text

from fieldreport.extensions import queues, storage
from fieldreport.models import Event, Photo, Report, Subscription
from fieldreport.models.base import utcnow
from fieldreport.services.indicators import rollups
from tests import factories as f
from tests.api.intake_helpers import image, submit
from tests.e2e.test_console_pages import as_user
from workers import jobs
from workers.schedule import PERIODIC

PHONE_USER = "+84911222444"
WORDS = "Ổ gà trước nhà Trần Văn Bình, gọi 0905 000 678 hoặc binh@example.org"


def _report(client, db_session, **extra):
    """A signed-in citizen's report with contacts, personal data in the text and a photo whose
    EXIF carries a position and a time."""
    if f.user(db_session, PHONE_USER) is None:
        f.make_user(db_session, PHONE_USER, "citizen")
    resp = submit(
        client,
        "street_light",
        photos=[("a.jpg", image(gps=(12.6671, 108.0381), maker="Phone"))],
        headers=f.bearer(db_session, PHONE_USER),
        description=WORDS,
        reporter_name="Trần Văn Bình",
        reporter_phone="0905000678",
        reporter_email="binh@example.org",
        address_hint="Số 12, nhà trần văn bình",
        **extra,
    )
    assert resp.status_code == 201, resp.json
    report = db_session.scalar(select(Report).where(Report.code == resp.json["code"]))
    return report, resp.json["citizen_token"]


def _finish(client, db_session, report, token):
    """Accepted, resolved with an after photo, rated with a comment naming the reporter: closed."""
    staff = f.bearer(db_session, "admin")  # whichever unit it was routed to
    assert client.post(f"/api/v1/staff/reports/{report.code}/accept", headers=staff).status_code == 200
    r = client.post(
        f"/api/v1/staff/reports/{report.code}/resolve",
        headers=staff,
        data={"answer": "Đã sửa.", "photos": [(io.BytesIO(f.jpeg()), "after.jpg")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.json
    r = client.post(
        f"/api/v1/reports/{report.code}/rating",
        headers={"X-Citizen-Token": token},
        json={"rating": 2, "comment": "Chậm. Trần Văn Bình, 0905000678"},
    )
    assert r.status_code == 200, r.json


def _exif(key: str) -> dict:
    return dict(Image.open(io.BytesIO(storage.get(key))).getexif())


def _assert_erased(db_session, report):
    db_session.refresh(report)
    assert (report.reporter_name, report.reporter_phone, report.reporter_email) == (None, None, None)
    assert report.reporter_user_id is None and report.erased_at is not None
    for value in (report.description, report.address_hint, report.rating_comment or ""):
        for secret in ("0905", "678", "binh@example.org", "Văn Bình", "văn bình"):
            assert secret not in value, (secret, value)
    assert report.description.startswith("Ổ gà trước nhà")  # the rest of the words stay
    subs = db_session.scalars(select(Subscription).where(Subscription.report_id == report.id)).all()
    assert subs and all(s.address.startswith("erased:") and s.unsubscribed_at for s in subs)
    before = db_session.scalars(select(Photo).where(Photo.report_id == report.id, Photo.kind == "before")).all()
    assert before and all(p.gps is None and p.taken_at is None for p in before)
    assert all(_exif(p.key) == {} for p in before)
    history = db_session.scalars(select(Event).where(Event.report_id == report.id)).all()
    assert not any(PHONE_USER in (e.actor or "") or "0905000678" in (e.note or "") for e in history)


def test_the_citizen_erases_with_the_reports_token(client, db_session):
    report, token = _report(client, db_session)
    photo = db_session.scalar(select(Photo).where(Photo.report_id == report.id))
    assert photo.gps is not None and _exif(photo.key)  # the evidence was there
    url = f"/api/v1/reports/{report.code}/erasure"
    assert client.post(url, json={}).status_code == 401
    assert client.post(url, json={}, headers={"X-Citizen-Token": "x" * 43}).status_code == 403
    assert report.reporter_phone == "+84905000678"
    r = client.post(url, json={}, headers={"X-Citizen-Token": token})
    assert r.status_code == 200, r.json
    assert r.json["code"] == report.code and r.json["erased_at"]
    _assert_erased(db_session, report)
    d = client.get(f"/api/v1/staff/reports/{report.code}", headers=f.bearer(db_session, "dispatcher")).json
    assert d["reporter"] is None and d["erased_at"]
    assert (
        client.post(
            f"/api/v1/staff/reports/{report.code}/reporter-identity",
            json={"reason": "gọi lại"},
            headers=f.bearer(db_session, "dispatcher"),
        ).json["phone"]
        is None
    )


def test_the_signed_in_citizen_erases_by_session(client, db_session):
    report, _ = _report(client, db_session)
    r = client.post(f"/api/v1/reports/{report.code}/erasure", json={}, headers=f.bearer(db_session, PHONE_USER))
    assert r.status_code == 200, r.json
    _assert_erased(db_session, report)


def test_an_admin_erases_on_request_with_a_reason(client, db_session):
    report, _ = _report(client, db_session)
    url = f"/api/v1/staff/reports/{report.code}/erasure"
    assert (
        client.post(
            url, json={"reason": "Thư đề nghị ngày 1/12"}, headers=f.bearer(db_session, "dispatcher")
        ).status_code
        == 403
    )
    assert client.post(url, json={"reason": ""}, headers=f.bearer(db_session, "admin")).status_code == 422
    assert db_session.scalar(select(Report.reporter_phone).where(Report.id == report.id)) == "+84905000678"
    r = client.post(url, json={"reason": "Thư đề nghị ngày 1/12"}, headers=f.bearer(db_session, "admin"))
    assert r.status_code == 200, r.json
    assert r.json["erased_at"] and r.json["reporter"] is None
    _assert_erased(db_session, report)
    assert (report.erased_by, report.erased_reason) == ("admin:admin", "Thư đề nghị ngày 1/12")


def test_console_erase_form_for_admins(client, db_session):
    report, _ = _report(client, db_session)
    csrf = as_user(client, db_session, "dispatcher")
    assert 'id="erase-personal-data"' not in client.get(f"/console/reports/{report.code}").get_data(as_text=True)
    assert (
        client.post(
            f"/console/reports/{report.code}/erase", data={"csrf_token": csrf, "reason": "Yêu cầu qua điện thoại"}
        ).status_code
        == 403
    )
    csrf = as_user(client, db_session, "admin")
    assert 'id="erase-personal-data"' in client.get(f"/console/reports/{report.code}").get_data(as_text=True)
    bad = client.post(f"/console/reports/{report.code}/erase", data={"csrf_token": csrf, "reason": ""})
    assert bad.status_code == 422 and 'id="erase-error"' in bad.get_data(as_text=True)
    ok = client.post(
        f"/console/reports/{report.code}/erase", data={"csrf_token": csrf, "reason": "Yêu cầu qua điện thoại"}
    )
    assert ok.status_code == 303
    _assert_erased(db_session, report)
    assert 'id="erased"' in client.get(f"/console/reports/{report.code}").get_data(as_text=True)


def test_the_track_page_offers_erasure(client, db_session):
    report = f.make_report(db_session, "street_light", *f.BMT)
    db_session.commit()
    page = client.get(f"/track/{report.code}")
    assert page.status_code == 200 and 'id="erase-me"' in page.get_data(as_text=True)


def _indicators(client, db_session) -> tuple:
    queues.redis.flushdb()  # no cached table: computed afresh
    admin = f.bearer(db_session, "admin")
    table = client.get("/api/v1/indicators?period=month&group_by=unit&depth=3", headers=admin)
    assert table.status_code == 200, table.json
    by_category = client.get("/api/v1/indicators?period=month&group_by=category", headers=admin).json
    table_json = table.json
    for body in (table_json, by_category):  # T is "now" for the running month: not a result
        body["period"].pop("as_of")
    groups = client.get("/api/v1/indicators/export.csv?period=month&group_by=unit", headers=admin)
    assert groups.status_code == 200
    groups_csv = groups.get_data()
    reports = client.get("/api/v1/indicators/export.csv?period=month&detail=reports", headers=admin)
    assert reports.status_code == 200
    reports_csv = reports.get_data()
    facts = db_session.execute(text("SELECT * FROM indicator_facts ORDER BY report_id, unit_id")).all()
    rollup = db_session.execute(text("SELECT * FROM indicator_rollups ORDER BY 1, 2, 3, 4, 5")).all()
    return table_json, by_category, groups_csv, reports_csv, [tuple(r) for r in facts], [tuple(r) for r in rollup]


def test_indicators_are_the_same_before_and_after_erasure(client, db_session):
    report, token = _report(client, db_session)
    _finish(client, db_session, report, token)
    db_session.refresh(report)
    assert report.status == "closed"
    rollups.refresh()
    before = _indicators(client, db_session)
    assert any(row["reports"] for row in before[0]["rows"])  # the report is counted
    assert report.code.encode() in before[3]
    r = client.post(f"/api/v1/reports/{report.code}/erasure", json={}, headers={"X-Citizen-Token": token})
    assert r.status_code == 200
    _assert_erased(db_session, report)
    rollups.recompute_reports([report.id])  # its facts rebuilt from the (rewritten) history
    rollups.refresh()
    assert _indicators(client, db_session) == before


def test_the_retention_job_anonymises_finished_reports_after_n_months(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_MONTHS", 24)
    assert ("workers.jobs.retention_sweep", "default", 24 * 3600) in PERIODIC
    old, _ = _report(client, db_session)
    recent, _ = _report(client, db_session)
    still_open, _ = _report(client, db_session)
    now = utcnow()
    old.status, old.closed_at = "closed", now - timedelta(days=31 * 25)
    recent.status, recent.closed_at = "closed", now - timedelta(days=31)
    still_open.updated_at = now - timedelta(days=31 * 30)
    db_session.commit()
    assert jobs.retention_sweep() == 1
    _assert_erased(db_session, old)
    assert old.erased_by == "retention"
    for kept in (recent, still_open):
        db_session.refresh(kept)
        assert kept.reporter_phone == "+84905000678" and kept.erased_at is None
    assert jobs.retention_sweep() == 0  # nothing left to do: idempotent
    monkeypatch.setitem(app.config, "RETENTION_MONTHS", 0)
    recent.closed_at = now - timedelta(days=31 * 100)
    db_session.commit()
    assert jobs.retention_sweep() == 0  # 0 = never
