"""The Zalo OA channel against a local HTTP server acting as Zalo (attachments, send API, OAuth)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from sqlalchemy import func, select, update

from fieldreport.extensions import db
from fieldreport.models import Notification, Report, ZaloConversation, ZaloMessage
from fieldreport.models.base import utcnow
from fieldreport.services import notify
from tests import factories as f
from tests.api.intake_helpers import BMT, image

APP_ID, OA_SECRET = "1234567890", "oa-secret-for-tests"


class FakeZalo:
    """Zalo's side: serves attachments, receives OA messages and token refreshes."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.sent: list[dict] = []
        self.refreshes: list[dict] = []
        self.expire_next_send = False
        self.refuse_sends = 0  # answer this many sends with an error (Zalo down for us)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                data = outer.files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v3.0/oa/message/cs":
                    outer.sent.append({"token": self.headers.get("access_token"), **json.loads(body)})
                    answer = {"error": 0, "message": "Success"}
                    if outer.expire_next_send:
                        outer.expire_next_send = False
                        answer = {"error": -216, "message": "Access token is invalid"}
                    elif outer.refuse_sends:
                        outer.refuse_sends -= 1
                        answer = {"error": -32, "message": "Exceeded the request limit"}
                elif self.path == "/v4/oa/access_token":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    outer.refreshes.append({"secret_key": self.headers.get("secret_key"), **form})
                    answer = {"access_token": "fresh-access", "refresh_token": "fresh-refresh", "expires_in": "90000"}
                else:
                    answer = {"error": -1}
                raw = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [m["message"]["text"] for m in self.sent]


@pytest.fixture()
def zalo(app, client, monkeypatch):
    fake = FakeZalo()
    for key, value in {
        "ZALO_APP_ID": APP_ID,
        "ZALO_OA_SECRET": OA_SECRET,
        "ZALO_APP_SECRET": "app-secret",
        "ZALO_ACCESS_TOKEN": "first-access",
        "ZALO_REFRESH_TOKEN": "first-refresh",
        "ZALO_API_URL": fake.url,
        "ZALO_OAUTH_URL": fake.url,
        "ZALO_FETCH_TIMEOUT": 2.0,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    yield fake
    fake.server.shutdown()


_seq = iter(range(10**6))


def event(name: str, message: dict, user: str = "u-100", ts: int | None = None) -> dict:
    return {
        "app_id": APP_ID,
        "event_name": name,
        "sender": {"id": user},
        "recipient": {"id": "oa-1"},
        "timestamp": str(ts or int(time.time() * 1000)),
        "message": {"msg_id": f"m{next(_seq)}-{time.time_ns()}", **message},
    }


def post(client, payload: dict, secret: str = OA_SECRET, signature: str | None = None):
    raw = json.dumps(payload).encode()
    mac = hashlib.sha256(payload["app_id"].encode() + raw + payload["timestamp"].encode() + secret.encode()).hexdigest()
    return client.post(
        "/channels/zalo/webhook",
        data=raw,
        content_type="application/json",
        headers={"X-ZEvent-Signature": signature if signature is not None else f"mac={mac}"},
    )


def location(lat=BMT[0], lon=BMT[1], **kw):
    return event(
        "user_send_location",
        {
            "attachments": [
                {"type": "location", "payload": {"coordinates": {"latitude": str(lat), "longitude": str(lon)}}}
            ]
        },
        **kw,
    )


def photo(url, **kw):
    return event("user_send_image", {"attachments": [{"type": "image", "payload": {"url": url}}]}, **kw)


def text(t, **kw):
    return event("user_send_text", {"text": t}, **kw)


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(ZaloMessage))


def test_a_conversation_makes_a_report_and_replies_with_its_code(client, zalo):
    zalo.files["/img/1.jpg"] = image(size=(800, 600))
    assert post(client, location()).get_json() == {"status": "stored"}
    assert "ảnh" in zalo.texts()[-1] and "mô tả" in zalo.texts()[-1]  # asks for what is missing
    assert post(client, photo(f"{zalo.url}/img/1.jpg")).status_code == 200
    assert post(client, text("Ổ gà lớn trước chợ")).status_code == 200
    report = db.session.scalar(select(Report).where(Report.channel == "zalo"))
    assert report is not None and report.description == "Ổ gà lớn trước chợ"
    assert len(report.photos) == 1
    assert report.code in zalo.texts()[-1]
    assert zalo.sent[-1]["recipient"] == {"user_id": "u-100"}
    assert zalo.sent[-1]["token"] == "first-access"
    conv = db.session.get(ZaloConversation, "u-100")
    assert conv.state == {}  # the next message starts a new report


def test_unsigned_bad_or_stale_events_are_refused_and_nothing_is_stored(client, zalo):
    before = stored()
    assert post(client, location(), signature="").status_code == 401
    assert post(client, location(), secret="wrong").status_code == 401
    stale = location(ts=int((time.time() - 3600) * 1000))
    resp = post(client, stale)
    assert resp.status_code == 401 and resp.get_json()["code"] == "zalo_stale"
    assert stored() == before
    assert zalo.sent == []


def test_a_redelivered_message_is_processed_once(client, zalo):
    msg = text("Rác tràn ra đường", user="u-replay")
    assert post(client, msg).get_json() == {"status": "stored"}
    assert post(client, msg).get_json() == {"status": "duplicate"}
    conv = db.session.get(ZaloConversation, "u-replay")
    assert conv.state["text"] == "Rác tràn ra đường"  # not doubled
    assert len(zalo.sent) == 1


def test_huge_and_non_image_attachments_are_refused_with_a_reason(client, zalo, app):
    zalo.files["/big.jpg"] = b"\xff\xd8" + b"0" * (app.config["PHOTO_MAX_BYTES"] + 10)
    zalo.files["/doc.jpg"] = b"%PDF-1.7 this is not a photo" * 50
    post(client, photo(f"{zalo.url}/big.jpg", user="u-att"))
    assert "nhỏ hơn" in zalo.texts()[-1]
    post(client, photo(f"{zalo.url}/doc.jpg", user="u-att"))
    assert "Ảnh không dùng được" in zalo.texts()[-1]
    post(client, photo(f"{zalo.url}/missing.jpg", user="u-att"))
    assert "Không nhận được ảnh" in zalo.texts()[-1]
    assert not (db.session.get(ZaloConversation, "u-att").state.get("upload_ids"))


def test_a_place_outside_the_province_is_said_at_once(client, zalo):
    post(client, location(21.028, 105.854, user="u-hanoi"))  # Hà Nội
    assert "ngoài địa bàn" in zalo.texts()[-1]
    assert db.session.get(ZaloConversation, "u-hanoi").state.get("lat") is None


def test_a_conversation_abandoned_halfway_expires(client, zalo, app):
    post(client, text("Đèn đường tắt", user="u-away"))
    db.session.execute(
        update(ZaloConversation)
        .where(ZaloConversation.user_id == "u-away")
        .values(updated_at=utcnow() - timedelta(minutes=app.config["ZALO_CONVERSATION_MINUTES"] + 1))
    )
    db.session.commit()
    post(client, location(user="u-away"))
    state = db.session.get(ZaloConversation, "u-away").state
    assert "text" not in state and state["lat"] == pytest.approx(BMT[0])


def test_an_expired_access_token_is_refreshed_and_the_reply_sent(client, zalo, redis_clean):
    zalo.expire_next_send = True
    post(client, text("Cây đổ chắn đường", user="u-token"))
    assert zalo.refreshes == [
        {"secret_key": "app-secret", "refresh_token": "first-refresh", "app_id": APP_ID, "grant_type": "refresh_token"}
    ]
    assert [m["token"] for m in zalo.sent] == ["first-access", "fresh-access"]
    post(client, text("thêm", user="u-token"))
    assert zalo.sent[-1]["token"] == "fresh-access"  # the new token is kept (in Redis)


def test_the_channel_is_off_without_its_secret(client):
    resp = post(client, location())
    assert resp.status_code == 404 and resp.get_json()["code"] == "channel_off"


def zalo_report(client, zalo, user: str) -> Report:
    zalo.files["/img/n.jpg"] = image(size=(640, 480))
    post(client, location(user=user))
    post(client, photo(f"{zalo.url}/img/n.jpg", user=user))
    post(client, text("Cột đèn đổ", user=user))
    return db.session.scalar(select(Report).where(Report.channel == "zalo").order_by(Report.id.desc()))


def test_status_messages_reach_the_zalo_user(client, zalo, db_session, app):
    report = zalo_report(client, zalo, "u-news")
    assert report is not None and f"/track/{report.code}" in zalo.texts()[-1]
    assert not any("Đã tiếp nhận phản ánh " + report.code + "." in t for t in zalo.texts())  # the reply says it
    zalo.sent.clear()
    h = f.bearer(db_session, "dispatcher")
    r = client.post(f"/api/v1/staff/reports/{report.code}/assign", headers=h, json={"unit": "UBND-24133"})
    assert r.status_code == 200, r.json
    [msg] = [m for m in zalo.sent if report.code in m["message"]["text"]]
    assert msg["recipient"] == {"user_id": "u-news"}
    assert "đã được chuyển đến" in msg["message"]["text"] and f"/track/{report.code}" in msg["message"]["text"]
    row = db_session.scalar(
        select(Notification)
        .where(Notification.report_id == report.id, Notification.channel == "zalo")
        .order_by(Notification.id.desc())
        .limit(1)
    )
    assert (row.kind, row.recipient, row.status, row.attempts) == ("assigned", "u-news", "sent", 1)


def test_a_zalo_outage_is_retried_and_its_status_kept(client, zalo, db_session):
    report = zalo_report(client, zalo, "u-outage")
    zalo.refuse_sends = 1
    h = f.bearer(db_session, "dispatcher")
    r = client.post(f"/api/v1/staff/reports/{report.code}/assign", headers=h, json={"unit": "UBND-24133"})
    assert r.status_code == 200  # the workflow never waits on Zalo
    row = db_session.scalar(
        select(Notification)
        .where(Notification.report_id == report.id, Notification.channel == "zalo")
        .order_by(Notification.id.desc())
        .limit(1)
    )
    assert row.status == "pending" and "-32" in row.last_error and row.attempts == 1
    assert notify.deliver(row.id) == "sent"  # what RQ's retry runs
    db_session.refresh(row)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert report.code in zalo.texts()[-1]


def test_with_the_channel_off_a_zalo_message_fails_without_retrying(client, zalo, db_session, app, monkeypatch):
    report = zalo_report(client, zalo, "u-off")
    monkeypatch.setitem(app.config, "ZALO_OA_SECRET", "")
    zalo.sent.clear()
    client.post(
        f"/api/v1/staff/reports/{report.code}/assign",
        headers=f.bearer(db_session, "dispatcher"),
        json={"unit": "UBND-24133"},
    )
    row = db_session.scalar(
        select(Notification)
        .where(Notification.report_id == report.id, Notification.channel == "zalo")
        .order_by(Notification.id.desc())
        .limit(1)
    )
    assert row.status == "failed" and "off" in row.last_error and zalo.sent == []
