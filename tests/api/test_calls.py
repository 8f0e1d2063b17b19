"""Operator intake (issue 19): a hotline call or a reception-desk visit recorded on the console,
the caller's SMS receipt with its photo link (a local server stands in for the SMS gateway),
a repeat call as a supporter, the operator never shown publicly, the place search."""

from __future__ import annotations

import io
import re
import time

import pytest
from flask import g
from sqlalchemy import func, select

from fieldreport.models import Event, Follower, Notification, Photo, Report
from fieldreport.services import calls, privacy, routing
from tests import factories as f
from tests.e2e.test_console_pages import as_user
from tests.servers import RecordingServer

CALL = {
    "channel": "hotline",
    "phone": "0912 345 678",
    "name": "Trần Thị Gọi",
    "category": "road_damage",
    "lat": str(f.BMT[1]),
    "lon": str(f.BMT[0]),
    "address_hint": "Trước số 12 Lê Duẩn",
    "description": "Ổ gà sâu giữa đường, xe máy dễ ngã.",
}


@pytest.fixture()
def gateway(app, monkeypatch):
    server = RecordingServer(status=200).start()
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "http")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", server.url + "/sms/send")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://phananh.example.vn")
    yield server
    server.stop()


def post_call(client, csrf, **changes):
    g.pop("lang", None)
    return client.post("/console/calls/", data={**CALL, "csrf_token": csrf, **changes})


def reports() -> int:
    from fieldreport.extensions import db

    return db.session.scalar(select(func.count()).select_from(Report))


def test_only_operators_dispatchers_and_admins_record_calls(client, db_session):
    as_user(client, db_session, "hotline")
    assert client.get("/console/calls/").status_code == 200
    assert client.get("/console/").status_code == 403  # no queue for an operator
    assert client.get("/api/v1/indicators", headers=f.bearer(db_session, "hotline")).status_code == 403
    as_user(client, db_session, "bmt.staff")
    assert client.get("/console/calls/").status_code == 403
    as_user(client, db_session, "dispatcher")
    assert client.get("/console/calls/").status_code == 200


def test_login_takes_an_operator_to_the_call_page(client, db_session):
    from tests.conftest import DEMO_PASSWORD
    from tests.e2e.test_console_pages import csrf

    token = csrf(client)
    r = client.post("/console/login", data={"username": "bmt.counter", "password": DEMO_PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/calls/")
    page = client.get("/console/calls/").get_data(as_text=True)
    assert 'id="channel-counter" value="counter" checked' in page  # a commune's desk
    assert 'id="call-notice"' in page and "13/2023" in page  # the notice to read to the caller


def test_a_call_makes_a_report_and_texts_the_code_and_photo_link(client, db_session, gateway):
    csrf = as_user(client, db_session, "hotline")
    r = post_call(client, csrf, photo_link="1")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    report = db_session.scalar(select(Report).order_by(Report.id.desc()).limit(1))
    assert (report.channel, report.reporter_phone, report.reporter_name) == ("hotline", "+84912345678", "Trần Thị Gọi")
    assert report.notice_version == "call:" + privacy.NOTICE_VERSION  # the notice read out, kept (NĐ 13)
    submitted = db_session.scalar(select(Event).where(Event.report_id == report.id, Event.type == "submitted"))
    operator = f.user(db_session, "hotline")
    assert (submitted.actor, submitted.actor_user_id) == ("operator:hotline", operator.id)
    assert submitted.data["channel"] == "hotline"
    [sms] = gateway.texts_to("+84912345678")
    assert report.code in sms and f"https://phananh.example.vn/track/{report.code}" in sms
    link = re.search(r"https://phananh\.example\.vn(/r/" + report.code + r"/photos\?t=[0-9]+\.[0-9a-f]+)", sms)
    assert link, sms
    row = db_session.scalar(
        select(Notification).where(Notification.report_id == report.id, Notification.channel == "sms")
    )
    assert (row.kind, row.status, row.recipient) == ("submitted", "sent", "+84912345678")
    flash = client.get("/console/calls/").get_data(as_text=True)
    assert report.code in flash and "+84912345678" in flash

    # The caller adds a photo from their phone through the link.
    page = client.get(link.group(1))
    assert page.status_code == 200 and 'id="call-photos-form"' in page.get_data(as_text=True)
    path, _, token = link.group(1).partition("?t=")
    r = client.post(
        path, data={"t": token, "photos": (io.BytesIO(f.jpeg(800, 600)), "a.jpg")}, content_type="multipart/form-data"
    )
    assert r.status_code == 200 and 'id="photos-done"' in r.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Photo).where(Photo.report_id == report.id)) == 1

    # Staff read the channel and that an operator took it; the public never sees the operator.
    as_user(client, db_session, "dispatcher")
    g.pop("lang", None)
    detail = client.get(f"/console/reports/{report.code}")
    assert detail.status_code == 200
    taken_by = re.search(
        r'<li data-type="submitted">.*?<span class="actor">([^<]*)</span>', detail.get_data(as_text=True), re.S
    ).group(1)
    assert taken_by.startswith("Trung tâm Giám sát")  # the operator's unit, as for any staff act
    public = client.get(f"/api/v1/reports/{report.code}").get_data(as_text=True)
    o311 = client.get(f"/open311/v2/requests/{report.code}.json").get_data(as_text=True)
    for text in (public, o311):
        assert "hotline" not in text and operator.full_name not in text and "+8491" not in text


def test_a_wrong_or_expired_photo_link_is_refused(client, db_session, app):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    good = calls.photo_token(report.code)
    other = f.make_report(db_session, "road_damage", *f.BMT)
    assert client.get(f"/r/{other.code}/photos?t={good}").status_code == 403
    old = calls.photo_token(report.code, now=time.time() - 8 * 86400)
    assert client.get(f"/r/{report.code}/photos?t={old}").status_code == 403
    r = client.post(
        f"/r/{report.code}/photos",
        data={"t": "1.x", "photos": (io.BytesIO(f.jpeg()), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 403
    assert client.get(f"/r/{report.code}/photos?t={good}").status_code == 200


@pytest.mark.parametrize(
    "changes,needle",
    [
        ({"phone": "12345"}, "không phải số điện thoại"),
        ({"phone": "", "photo_link": "1"}, "cần nhập số điện thoại"),
        ({"lat": "21.028", "lon": "105.854"}, "ngoài địa bàn"),
        ({"category": "nope"}, "không tồn tại"),
        ({"channel": "fax"}, "Kênh tiếp nhận"),
    ],
)
def test_bad_input_is_said_on_the_page_and_nothing_is_written(client, db_session, changes, needle):
    csrf = as_user(client, db_session, "hotline")
    before = reports()
    r = post_call(client, csrf, **changes)
    html = r.get_data(as_text=True)
    assert r.status_code in (400, 422) and needle in html, html[:3000]
    assert 'value="Trước số 12 Lê Duẩn"' in html  # what was typed stays
    assert reports() == before


def test_pressing_enter_twice_makes_one_report(client, db_session, gateway):
    csrf = as_user(client, db_session, "hotline")
    before = reports()
    assert post_call(client, csrf, call_id="call-once-0123456789abcdef").status_code == 302
    assert post_call(client, csrf, call_id="call-once-0123456789abcdef").status_code == 302
    assert reports() == before + 1


def test_a_repeat_call_supports_the_open_report(client, db_session, gateway):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    routing.route_report(report.id)
    csrf = as_user(client, db_session, "hotline")
    before = reports()
    for _ in range(2):  # the same caller twice counts once
        g.pop("lang", None)
        r = client.post(
            "/console/calls/support",
            data={"csrf_token": csrf, "code": report.code, "phone": "0912345678", "description": "Vẫn chưa sửa"},
        )
        assert r.status_code == 302
    assert reports() == before
    assert db_session.scalar(select(func.count()).select_from(Follower).where(Follower.report_id == report.id)) == 1
    texts = gateway.texts_to("+84912345678")
    assert len(texts) == 2 and report.code in texts[0]
    db_session.refresh(report)
    assert report.followers_count == 1


def test_the_place_search_finds_communes_without_accents_and_known_addresses(client, db_session):
    f.make_report(db_session, "road_damage", *f.BMT, address_hint="Ngã sáu Buôn Ma Thuột")
    as_user(client, db_session, "hotline")
    rows = client.get("/console/calls/places?q=tan lap").json
    assert rows and rows[0]["kind"] == "commune" and "Tân Lập" in rows[0]["label"]
    assert 12 < rows[0]["lat"] < 13.5 and 107 < rows[0]["lon"] < 109
    rows = client.get("/console/calls/places?q=Ngã sáu").json
    assert any(r["kind"] == "address" and r["address"] == "Ngã sáu Buôn Ma Thuột" for r in rows)
    assert client.get("/console/calls/places?q=").json == []
