"""Public view of a report, "me too", rating, reopening and a citizen's own list."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from sqlalchemy import func, select

from fieldreport.extensions import db
from fieldreport.models import Event, Outbox, Report
from fieldreport.models.base import utcnow
from tests.api.intake_helpers import image, set_status, submit

URL = "/api/v1/reports"
PRIVATE = {
    "reporter_name": "Trần Thị Riêng Tư",
    "reporter_phone": "0912345678",
    "reporter_email": "rieng.tu@example.vn",
}


def new_report(client, **fields):
    r = submit(
        client, photos=[("p.jpg", image(gps=(12.667, 108.038)))], description="Đèn hỏng", **{**PRIVATE, **fields}
    )
    assert r.status_code == 201, r.json
    return r.json


def test_public_view_shows_progress_but_never_identity_or_original(client):
    made = new_report(client)
    r = client.get(f"{URL}/{made['code']}")
    assert r.status_code == 200
    view = r.json
    assert view["code"] == made["code"] and view["category"] == {"code": "street_light", "name": "Đèn đường hư hỏng"}
    assert view["area"]["code"] == "24133" and view["description"] == "Đèn hỏng"
    assert view["history"][0]["type"] == "submitted" and set(view["history"][0]) == {
        "type",
        "status",
        "at",
        "note",
        "unit",
        "due_at",
    }
    assert view["history"][0]["note"] is None
    text = json.dumps(view, ensure_ascii=False)
    for secret in [*PRIVATE.values(), made["citizen_token"], "orig/", "citizen"]:
        assert secret not in text
    # The derivative job ran (inline in tests): stable URLs that redirect to the public copies.
    [photo] = view["photos"]
    stable = f"{URL}/{made['code']}/photos/{photo['id']}"
    assert photo["ready"] and (photo["display_url"], photo["thumb_url"]) == (f"{stable}/display", f"{stable}/thumb")
    for url in (photo["display_url"], photo["thumb_url"]):
        hop = client.get(url)
        assert hop.status_code == 302 and "/pub/" in hop.headers["Location"]
        assert "X-Amz-Signature" in hop.headers["Location"]
    en = client.get(f"{URL}/{made['code']}", headers={"Accept-Language": "en"}).json
    assert en["category"]["name"] == "Street light out"


def test_codes_are_read_forgivingly_and_unknown_ones_are_404(client):
    code = new_report(client)["code"]
    messy = (code[:5] + "-" + code[5:]).lower().replace("0", "o").replace("1", "l")
    assert client.get(f"{URL}/{messy}").json["code"] == code
    r = client.get(f"{URL}/ZZZZZZZZZZ")
    assert r.status_code == 404 and r.json["code"] == "report_not_found"
    assert client.get(f"{URL}/not-a-code!").status_code == 404


def test_follow_counts_each_supporter_once(client):
    code = new_report(client)["code"]
    token = {"X-Citizen-Token": "follower-" + "f" * 40}
    first = client.post(f"{URL}/{code}/follow", headers=token)
    again = client.post(f"{URL}/{code}/follow", headers=token)
    by_ip = client.post(f"{URL}/{code}/follow", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert (first.json["new"], again.json["new"], by_ip.json["new"]) == (True, False, True)
    assert by_ip.json["followers_count"] == 2
    assert client.get(f"{URL}/{code}").json["followers_count"] == 2
    assert db.session.scalar(select(func.count()).select_from(Report).where(Report.code == code)) == 1


def test_made_up_citizen_tokens_add_no_supporters_and_me_too_is_limited_per_client(client, app):
    """The review sent 40 "me too"s with 40 random X-Citizen-Tokens (one was 1 character) and
    got 40 followers. A token counts only if it proves a report; else the client counts, once."""
    code = new_report(client)["code"]
    other = new_report(client)["citizen_token"]  # a real token: it proves another report
    limit = app.config["FOLLOW_RATE_PER_HOUR"]
    answers = [
        client.post(f"{URL}/{code}/follow", headers={"X-Citizen-Token": t}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
        for t in [secrets.token_urlsafe(32) for _ in range(40)]
    ]
    assert [a.status_code for a in answers] == [200] * limit + [429] * (40 - limit)
    # A token that cannot be one (1 character) is refused as the declared header's format says.
    short = client.post(
        f"{URL}/{code}/follow", headers={"X-Citizen-Token": "x"}, environ_base={"REMOTE_ADDR": "10.9.9.8"}
    )
    assert short.status_code == 422 and "X-Citizen-Token" in short.json["errors"]["headers"]
    assert sum(a.json["new"] for a in answers[:limit]) == 1  # the client, once
    assert client.get(f"{URL}/{code}").json["followers_count"] == 1
    real = client.post(
        f"{URL}/{code}/follow", headers={"X-Citizen-Token": other}, environ_base={"REMOTE_ADDR": "10.9.9.10"}
    )
    assert real.status_code == 200 and real.json["new"] is True and real.json["followers_count"] == 2


def test_rating_needs_the_token_and_a_resolved_report_and_happens_once(client):
    made = new_report(client)
    url, token = f"{URL}/{made['code']}/rating", {"X-Citizen-Token": made["citizen_token"]}
    assert client.post(url, json={"rating": 5}).status_code == 401
    wrong = client.post(url, json={"rating": 5}, headers={"X-Citizen-Token": "x" * 40})
    assert wrong.status_code == 403 and wrong.json["code"] == "not_your_report"
    early = client.post(url, json={"rating": 5}, headers=token)
    assert early.status_code == 409 and early.json["code"] == "not_resolved"
    set_status(made["code"], "resolved", resolved_at=utcnow(), public_answer="Đã thay bóng đèn.")
    assert client.post(url, json={"rating": 6}, headers=token).status_code == 422
    ok = client.post(url, json={"rating": 4, "comment": "Nhanh", "citizen_token": made["citizen_token"]})
    assert ok.status_code == 200, ok.json
    assert (ok.json["status"], ok.json["rating"], ok.json["public_answer"]) == ("closed", 4, "Đã thay bóng đèn.")
    report = db.session.scalar(select(Report).where(Report.code == made["code"]))
    assert report.closed_at is not None and report.rating_comment == "Nhanh"
    again = client.post(url, json={"rating": 1}, headers=token)
    assert again.status_code == 409 and again.json["code"] == "already_rated"


def test_reopen_within_the_window_routes_again(client):
    made = new_report(client)
    url, token = f"{URL}/{made['code']}/reopen", {"X-Citizen-Token": made["citizen_token"]}
    assert client.post(url, json={"reason": "Vẫn tắt"}, headers=token).json["code"] == "not_reopenable"
    report = set_status(made["code"], "resolved", resolved_at=utcnow() - timedelta(days=2))
    routed_before = db.session.scalar(
        select(func.count())
        .select_from(Outbox)
        .where(Outbox.func == "workers.jobs.route_report", Outbox.args == [report.id])
    )
    assert client.post(url, json={}, headers=token).status_code == 422  # a reason is required
    r = client.post(url, json={"reason": "Đèn vẫn tắt vào ban đêm"}, headers=token)
    assert r.status_code == 200, r.json
    db.session.refresh(report)
    assert report.reopen_count == 1 and report.rating is None
    ev = db.session.scalars(select(Event).where(Event.report_id == report.id, Event.type == "reopened")).one()
    assert (ev.from_status, ev.to_status, ev.note) == ("resolved", "reopened", "Đèn vẫn tắt vào ban đêm")
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.func == "workers.jobs.route_report", Outbox.args == [report.id])
        )
        == routed_before + 1
    )


def test_a_citizen_reopen_clears_the_answer_like_a_staff_reopen(client):
    """One reopening for both: resolved_at and reject_reason no longer outlive a citizen's reopen."""
    from fieldreport.services import workflow

    after = {}
    for who in ("citizen", "staff"):
        made = new_report(client)
        report = set_status(
            made["code"],
            "resolved",
            resolved_at=utcnow() - timedelta(days=1),
            reject_reason="out_of_scope",
            rating=2,
            rating_comment="Chưa",
            rated_at=utcnow(),
        )
        if who == "citizen":
            r = client.post(
                f"{URL}/{made['code']}/reopen",
                json={"reason": "Vẫn hỏng"},
                headers={"X-Citizen-Token": made["citizen_token"]},
            )
            assert r.status_code == 200, r.json
        else:
            workflow.reopen(report, None, "Vẫn hỏng", actor="test")
        db.session.refresh(report)
        ev = db.session.scalars(select(Event).where(Event.report_id == report.id, Event.type == "reopened")).one()
        after[who] = (
            report.status,
            report.resolved_at,
            report.closed_at,
            report.reject_reason,
            report.rating,
            report.rating_comment,
            report.rated_at,
            report.reopen_count,
            ev.data,
        )
    assert (
        after["citizen"]
        == after["staff"]
        == ("reopened", None, None, None, None, None, None, 1, {"previous_rating": 2, "reopen_count": 1})
    )


def test_reopen_after_the_window_is_409(client, app):
    made = new_report(client)
    days = app.config["REOPEN_DAYS"]
    set_status(made["code"], "resolved", resolved_at=utcnow() - timedelta(days=days, hours=1))
    r = client.post(
        f"{URL}/{made['code']}/reopen", json={"reason": "muộn"}, headers={"X-Citizen-Token": made["citizen_token"]}
    )
    assert r.status_code == 409 and r.json["code"] == "reopen_window_passed"


def test_my_reports_by_derived_token(client):
    made = new_report(client)
    mine = client.get("/api/v1/me/reports", headers={"X-Citizen-Token": made["citizen_token"]})
    assert mine.status_code == 200 and [m["code"] for m in mine.json] == [made["code"]]
    assert "reporter_name" not in mine.json[0]
    other = client.get("/api/v1/me/reports", headers={"X-Citizen-Token": "o" * 40})
    assert other.status_code == 200 and other.json == []


def test_a_signed_in_citizen_sees_their_reports_without_a_token(client):
    login = client.post("/api/v1/auth/login", json={"username": "citizen", "password": "demo-password"})
    assert login.status_code == 200, login.json
    bearer = {"Authorization": f"Bearer {login.json['access_token']}"}
    made = submit(client, headers=bearer).json
    report = db.session.scalar(select(Report).where(Report.code == made["code"]))
    assert report.reporter_user_id is not None
    mine = client.get("/api/v1/me/reports", headers=bearer)
    assert mine.status_code == 200 and made["code"] in [m["code"] for m in mine.json]
    r = client.post(f"{URL}/{made['code']}/rating", json={"rating": 3}, headers=bearer)
    assert r.status_code == 409 and r.json["code"] == "not_resolved"  # authorised, just too early
