"""Citizen notifications over Web Push and SMS carry the unit's words; local servers stand in
for the push service and the SMS gateway, and the push payload is decrypted with the
subscription's own keys, as the browser would."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from fieldreport.models import Notification, Subscription
from fieldreport.services import routing
from fieldreport.worktime import TZ
from tests import factories as f
from tests.servers import Browser, RecordingServer, vapid_key_file

QUESTION = "Ổ gà nằm trước số nhà mấy trên đường Lê Duẩn?"


@pytest.fixture()
def push_service(app, monkeypatch, tmp_path):
    server = RecordingServer(status=201).start()
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY_FILE", vapid_key_file(tmp_path))
    monkeypatch.setitem(app.config, "PUSH_ALLOWED_ORIGINS", server.url)
    yield server
    server.stop()


@pytest.fixture()
def gateway(app, monkeypatch):
    server = RecordingServer(status=200).start()
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "http")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", server.url + "/sms/send")
    yield server
    server.stop()


def routed_report(session, **fields):
    report = f.make_report(session, "road_damage", *f.BMT, **fields)
    routing.route_report(report.id)
    return report


def subscribe_push(client, report, browser, push_service, token=True):
    headers = {"X-Citizen-Token": report.citizen_token} if token else {}
    resp = client.post(
        f"/api/v1/reports/{report.code}/subscriptions",
        headers=headers,
        json={"channel": "push", **browser.subscription(push_service.url + "/wp/abc")},
    )
    assert resp.status_code == 201, resp.json
    return resp.json


def staff(client, session, report, action, **kw):
    h = f.bearer(session, "bmt.staff")
    resp = client.post(f"/api/v1/staff/reports/{report.code}/{action}", headers=h, **kw)
    assert resp.status_code == 200, resp.json
    return resp


def pushed(push_service, browser) -> list[dict]:
    return [browser.read(r) for r in push_service.received]


def sign_in_phone(client, gateway, phone="0912345678", tokens=()):
    client.post("/api/v1/citizen/otp", json={"phone": phone})
    code = re.search(r"\b(\d{6})\b", gateway.received[-1].json()["text"]).group(1)
    resp = client.post("/api/v1/citizen/session", json={"phone": phone, "code": code, "citizen_tokens": list(tokens)})
    return {"Authorization": f"Bearer {resp.json['access_token']}"}


def test_push_carries_the_units_question_encrypted_for_the_browser(client, db_session, push_service):
    report = routed_report(db_session)
    browser = Browser()
    sub = subscribe_push(client, report, browser, push_service)
    assert sub["role"] == "reporter" and sub["active"]
    staff(client, db_session, report, "request-info", json={"question": QUESTION})
    [received] = push_service.received
    assert received.path == "/wp/abc"
    assert received.headers["Authorization"].startswith("vapid t=")
    assert int(received.headers["TTL"]) > 0
    message = browser.read(received)
    assert QUESTION in message["body"]
    assert message["title"] == f"Phản ánh {report.code}"
    assert message["url"] == f"/track/{report.code}" and message["kind"] == "info_requested"
    row = db_session.scalar(
        select(Notification).where(Notification.report_id == report.id, Notification.channel == "push")
    )
    assert (row.status, row.attempts, row.subscription_id) == ("sent", 1, sub["id"])


def test_every_citizen_event_carries_the_units_words(client, db_session, push_service, app):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    browser = Browser()
    subscribe_push(client, report, browser, push_service)
    routing.route_report(report.id)
    routed = pushed(push_service, browser)[-1]
    unit = f.unit(db_session, "UBND-24133")
    due = report.citizen_due_at.astimezone(TZ).strftime("%d/%m/%Y")
    assert unit.name in routed["body"] and due in routed["body"]

    new_due = report.due_at + timedelta(days=3)
    staff(client, db_session, report, "accept")
    staff(
        client,
        db_session,
        report,
        "extend",
        json={
            "new_due_at": new_due.isoformat(),
            "reason": "chờ vật tư (nội bộ)",
            "apology": "Chúng tôi xin lỗi vì phải chờ nhựa đường.",
        },
    )
    extended = pushed(push_service, browser)[-1]
    assert new_due.astimezone(TZ).strftime("%d/%m/%Y") in extended["body"]
    assert "Chúng tôi xin lỗi vì phải chờ nhựa đường." in extended["body"]
    assert "nội bộ" not in extended["body"]  # the reason of an extension stays internal

    staff(
        client,
        db_session,
        report,
        "resolve",
        content_type="multipart/form-data",
        data={"answer": "Đã vá ổ gà ngày 2/12.", "photos": [(io.BytesIO(f.jpeg()), "after.jpg")]},
    )
    resolved = pushed(push_service, browser)[-1]
    assert "Đã vá ổ gà ngày 2/12." in resolved["body"]
    assert re.fullmatch(rf"/api/v1/reports/{report.code}/photos/\d+/display", resolved["image"])

    h = f.bearer(db_session, "supervisor")
    assert (
        client.post(f"/api/v1/staff/reports/{report.code}/reopen", headers=h, json={"reason": "chưa đạt"}).status_code
        == 200
    )
    kinds = [m["kind"] for m in pushed(push_service, browser)]
    assert kinds[-2:] == ["reopened", "assigned"]  # and routed again to the unit


def test_rejection_reason_in_plain_vietnamese_and_duplicate_link(client, db_session, push_service):
    parent = routed_report(db_session)
    rejected, dup = routed_report(db_session), routed_report(db_session)
    b1, b2 = Browser(), Browser()
    subscribe_push(client, rejected, b1, push_service)
    staff(client, db_session, rejected, "reject", json={"reason": "out_of_scope", "note": "nội bộ: hỏi anh Tâm"})
    message = pushed(push_service, b1)[-1]
    assert "không thuộc phạm vi tiếp nhận" in message["body"]
    assert "anh Tâm" not in message["body"]  # a staff member's note is not the citizen's
    push_service.received.clear()
    subscribe_push(client, dup, b2, push_service)
    staff(client, db_session, dup, "duplicate", json={"duplicate_of": parent.code})
    message = pushed(push_service, b2)[-1]
    assert parent.code in message["body"] and message["url"] == f"/track/{parent.code}"


def test_sms_to_a_signed_in_reporter_for_the_chosen_events(client, db_session, gateway):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    bearer = sign_in_phone(client, gateway, tokens=[report.citizen_token])
    gateway.received.clear()
    routing.route_report(report.id)  # "assigned" is not in SMS_EVENTS by default
    assert gateway.received == []
    staff(client, db_session, report, "request-info", json={"question": QUESTION})
    [sms] = gateway.received
    assert sms.json()["to"] == "+84912345678"
    assert QUESTION in sms.json()["text"] and f"/track/{report.code}" in sms.json()["text"]
    channels = client.get(f"/api/v1/reports/{report.code}/subscriptions", headers=bearer).json
    assert [(c["channel"], c["active"], c["address"]) for c in channels] == [("sms", True, "+8491****678")]


def test_a_failing_channel_never_blocks_the_workflow_or_the_others(client, db_session, push_service, gateway):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    sign_in_phone(client, gateway, tokens=[report.citizen_token])
    routing.route_report(report.id)
    browser = Browser()
    subscribe_push(client, report, browser, push_service)
    push_service.status = 500
    gateway.received.clear()
    staff(client, db_session, report, "request-info", json={"question": QUESTION})  # still 200
    rows = {
        n.channel: n
        for n in db_session.scalars(
            select(Notification).where(Notification.report_id == report.id, Notification.kind == "info_requested")
        )
    }
    assert rows["push"].status == "pending" and "500" in rows["push"].last_error  # RQ retries it
    assert rows["sms"].status == "sent" and len(gateway.received) == 1
    assert db_session.get(type(report), report.id).status == "awaiting_info"
    from fieldreport.services import notify

    push_service.status = 201
    assert notify.deliver(rows["push"].id) == "sent"  # what RQ's retry runs
    assert QUESTION in browser.read(push_service.received[-1])["body"]


def test_a_push_subscription_gone_is_dropped(client, db_session, push_service):
    report = routed_report(db_session)
    sub = subscribe_push(client, report, Browser(), push_service)
    push_service.status = 410
    staff(client, db_session, report, "accept")
    row = db_session.scalar(select(Notification).where(Notification.subscription_id == sub["id"]))
    assert row.status == "failed" and "410" in row.last_error
    assert db_session.get(Subscription, sub["id"]).unsubscribed_at is not None
    staff(client, db_session, report, "request-info", json={"question": QUESTION})
    assert len(push_service.received) == 1  # nothing more is sent to it


def test_unsubscribe_per_report_and_channel(client, db_session, push_service, gateway):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    other = f.make_report(db_session, "road_damage", *f.BMT)
    bearer = sign_in_phone(client, gateway, tokens=[report.citizen_token, other.citizen_token])
    routing.route_report(report.id)
    routing.route_report(other.id)
    browser = Browser()
    sub = subscribe_push(client, report, browser, push_service)
    subscribe_push(client, other, browser, push_service)
    # The push subscription of one report, by its token (what the browser keeps).
    resp = client.post(f"/api/v1/subscriptions/{sub['unsubscribe_token']}/unsubscribe")
    assert resp.status_code == 200 and resp.json["active"] is False
    # The SMS of the same report, by its reporter.
    resp = client.put(f"/api/v1/reports/{report.code}/subscriptions/sms", json={"active": False}, headers=bearer)
    assert {(c["channel"], c["active"]) for c in resp.json} == {("sms", False), ("push", False)}
    push_service.received.clear()
    gateway.received.clear()
    staff(client, db_session, report, "request-info", json={"question": QUESTION})
    staff(client, db_session, other, "request-info", json={"question": "Và chỗ này?"})
    # Only the other report still reaches this person, on both channels.
    assert [browser.read(r)["code"] for r in push_service.received] == [other.code]
    assert [r.json()["text"].startswith("Phản ánh " + other.code) for r in gateway.received] == [True]


def test_a_follower_who_asked_gets_the_news(client, db_session, push_service):
    report = routed_report(db_session)
    browser = Browser()
    sub = subscribe_push(client, report, browser, push_service, token=False)
    assert sub["role"] == "follower"
    staff(client, db_session, report, "accept")
    assert pushed(push_service, browser)[-1]["kind"] == "accepted"
    # The question is addressed to the reporter: a follower hears that one was asked, not what.
    staff(client, db_session, report, "request-info", json={"question": QUESTION})
    message = pushed(push_service, browser)[-1]
    assert message["kind"] == "info_requested" and QUESTION not in message["body"]


def test_bad_subscriptions_are_clear_4xx(client, db_session, push_service):
    report = routed_report(db_session)
    url = f"/api/v1/reports/{report.code}/subscriptions"
    sub = Browser().subscription(push_service.url + "/wp/1")
    resp = client.post(url, json={"channel": "push", **sub, "endpoint": "http://169.254.169.254/latest"})
    assert resp.status_code == 422 and resp.json["code"] == "push_endpoint_not_allowed"
    resp = client.post(
        url, json={"channel": "push", "endpoint": sub["endpoint"], "keys": {"p256dh": "AAAA", "auth": "BBBB"}}
    )
    assert resp.status_code == 422 and resp.json["code"] == "push_keys_invalid"
    resp = client.post(url, json={"channel": "sms"})
    assert resp.status_code == 403 and resp.json["code"] == "sms_needs_signin"
    resp = client.post(url, json={"channel": "email", "email": "not-an-address"})
    assert resp.status_code == 422 and resp.json["code"] == "invalid_email"
    resp = client.post("/api/v1/subscriptions/1.deadbeef/unsubscribe")
    assert resp.status_code == 404 and resp.json["code"] == "subscription_not_found"
    resp = client.get(url)
    assert resp.status_code == 403 and resp.json["code"] == "not_your_report"
    assert db_session.scalar(select(Subscription).where(Subscription.report_id == report.id)) is None


def test_push_key_is_published_only_when_configured(client, db_session, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY_FILE", None)
    assert client.get("/api/v1/push/key").json["code"] == "push_not_configured"
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY_FILE", vapid_key_file(tmp_path))
    key = client.get("/api/v1/push/key").json["public_key"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{87}", key)  # a 65-byte uncompressed P-256 point
