"""Citizen notifications: one per public status event, delivered by log, real SMTP or webhook."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from fieldreport import security
from fieldreport.models import Event, Notification
from fieldreport.services import notify, routing
from tests import factories as f
from tests.conftest import free_port


def notes_of(session, report):
    return session.scalars(
        select(Notification).where(Notification.report_id == report.id).order_by(Notification.id)
    ).all()


def test_every_public_status_event_has_its_notification(client, db_session):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    routing.route_report(report.id)
    h = f.bearer(db_session, "bmt.staff")
    base = f"/api/v1/staff/reports/{report.code}"
    assert client.post(f"{base}/accept", headers=h).status_code == 200
    assert client.post(f"{base}/request-info", json={"question": "Ở đâu?"}, headers=h).status_code == 200
    assert (
        client.post(
            f"/api/v1/reports/{report.code}/info",
            json={"text": "Trước số 5"},
            headers={"X-Citizen-Token": report.citizen_token},
        ).status_code
        == 200
    )
    new_due = (report.due_at + timedelta(days=1)).isoformat()
    assert (
        client.post(
            f"{base}/extend", json={"new_due_at": new_due, "reason": "r", "apology": "Xin lỗi"}, headers=h
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"{base}/resolve",
            headers=h,
            content_type="multipart/form-data",
            data={"answer": "Đã xử lý.", "photos": [(io.BytesIO(f.jpeg()), "a.jpg")]},
        ).status_code
        == 200
    )
    events = db_session.scalars(select(Event).where(Event.report_id == report.id).order_by(Event.id)).all()
    assert [e.type for e in events] == [
        "assigned",
        "accepted",
        "info_requested",
        "info_provided",
        "extended",
        "resolved",
    ]
    notes = notes_of(db_session, report)
    told = {e.id for e in events if notify.kind_for(e)}
    assert {n.event_id for n in notes} == told  # the citizen's own answer needs no message
    assert {n.channel for n in notes} == {"log"} and {n.status for n in notes} == {"sent"}
    resolved = next(n for n in notes if n.kind == "resolved")
    assert "Đã xử lý." in resolved.payload["message_vi"] and resolved.payload["status"] == "resolved"
    # The citizen's public history (the report's public events) is the same sequence.
    types = [e["type"] for e in client.get(f"/api/v1/reports/{report.code}").json["history"]]
    assert [n.kind for n in notes] == [t for t in types if t not in notify.SILENT]


class _Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture()
def smtp_server():
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    box = _Mailbox()
    port = free_port()
    controller = controller_mod.Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, box
    controller.stop()


def test_email_goes_through_a_real_smtp_server(client, db_session, app, smtp_server, monkeypatch):
    port, box = smtp_server
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}?from=noreply@fieldreport.test")
    f.unit(db_session, "UBND-24133").email = "ubnd24133@example.org"
    report = f.make_report(db_session, "road_damage", *f.BMT, reporter_email="dan@example.org")
    routing.route_report(report.id)
    notes = notes_of(db_session, report)
    assert sorted(n.recipient for n in notes) == ["dan@example.org", "ubnd24133@example.org"]
    assert {n.status for n in notes} == {"sent"}
    assert sorted(m.rcpt_tos[0] for m in box.messages) == ["dan@example.org", "ubnd24133@example.org"]
    body = box.messages[0].content.decode()
    assert report.code in body and "noreply@fieldreport.test" in body


class _Hook(BaseHTTPRequestHandler):
    replies: list[int] = []
    received: list[tuple[dict, bytes]] = []

    def do_POST(self):
        data = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), data))
        self.send_response(type(self).replies.pop(0) if type(self).replies else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def webhook():
    _Hook.replies, _Hook.received = [], []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/notify", _Hook
    server.shutdown()


def test_webhook_failure_is_recorded_and_retried(client, db_session, app, webhook, monkeypatch):
    url, hook = webhook
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", url)
    hook.replies = [500]  # the first attempt fails, the retry succeeds
    report = f.make_report(db_session, "rubbish", *f.BMT, reporter_phone="0905123456")
    routing.route_report(report.id)  # delivery runs inline and fails: RQ records it for retry
    [note] = notes_of(db_session, report)
    assert (note.channel, note.status, note.attempts) == ("webhook", "pending", 1)
    assert "HTTP 500" in note.last_error
    assert notify.deliver(note.id) == "sent"  # what RQ's retry runs
    assert (note.status, note.attempts, note.last_error) == ("sent", 2, None)
    assert notify.deliver(note.id) == "skipped"  # and never twice
    headers, body = hook.received[-1]
    assert headers["X-Fieldreport-Signature"] == "sha256=" + security.keyed(app.config["SECRET_KEY"], body.decode())
    payload = json.loads(body)
    assert payload["report_code"] == report.code and payload["kind"] == "assigned"
    assert payload["recipient"] == "0905123456" and payload["unit_code"] == "URENCO-BMT"
    assert len(hook.received) == 2


def test_other_status_changes_get_a_generic_message(db_session):
    from fieldreport.services import events

    report = f.assign(db_session, f.make_report(db_session, "road_damage", *f.BMT), "UBND-24133")
    events.record(report, "open311_update", actor="open311:city-app", to_status="in_progress")
    events.record(report, "note", actor="staff:x", note="internal", public=False)
    db_session.flush()
    kinds = [n.kind for n in notes_of(db_session, report)]
    assert kinds == ["assigned", "status_changed"]
    assert "in_progress" in notes_of(db_session, report)[-1].payload["message_en"]


def test_undeliverable_without_retries_left_is_marked_failed(db_session, app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/nobody")
    report = f.make_report(db_session, "road_damage", *f.BMT)
    routing.route_report(report.id)
    [note] = notes_of(db_session, report)
    with pytest.raises(notify.DeliveryError):
        notify.deliver(note.id)  # called outside a job: no retry will follow
    assert note.status == "failed" and "unreachable" in note.last_error


def test_an_email_carries_one_click_unsubscribe_that_stops_this_reports_emails(
    client, db_session, app, smtp_server, monkeypatch
):
    """RFC 8058: the mail client's "unsubscribe" POSTs the List-Unsubscribe URL; after it, this
    report's e-mails stop while its other channels and other reports are untouched."""
    from email import message_from_bytes

    port, box = smtp_server
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}?from=noreply@fieldreport.test")
    report = f.make_report(db_session, "road_damage", *f.BMT, reporter_email="dan@example.org")
    routing.route_report(report.id)
    [mail] = [message_from_bytes(m.content) for m in box.messages if m.rcpt_tos == ["dan@example.org"]]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = mail["List-Unsubscribe"].strip("<>")
    assert url.endswith("/unsubscribe") and "/api/v1/subscriptions/" in url
    path = "/api/v1/" + url.split("/api/v1/", 1)[1]
    resp = client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200 and resp.json["active"] is False
    box.messages.clear()
    h = f.bearer(db_session, "bmt.staff")
    assert (
        client.post(
            f"/api/v1/staff/reports/{report.code}/request-info", json={"question": "Ở đâu?"}, headers=h
        ).status_code
        == 200
    )
    assert [m.rcpt_tos for m in box.messages] == []  # nothing more to dan@example.org about this report
    asked = [n for n in notes_of(db_session, report) if n.kind == "info_requested"]
    assert asked and {n.channel for n in asked} == {"log"}  # the event itself is still recorded
    # A forged token stops nothing and says so.
    assert client.post("/api/v1/subscriptions/1.forged/unsubscribe").status_code == 404
