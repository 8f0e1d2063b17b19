"""Citizen sign-in by phone: codes by SMS through a local gateway, sessions, claims, bad input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from fieldreport.models import AuthToken, OtpChallenge, Report, User
from fieldreport.models.base import utcnow
from tests import factories
from tests.factories import BMT
from tests.servers import RecordingServer

PHONE = "0912345678"
E164 = "+84912345678"


@pytest.fixture()
def gateway(app, monkeypatch):
    """A local SMS gateway: the app's `http` provider posts there."""
    server = RecordingServer(status=200).start()
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "http")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", server.url + "/sms/send")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_AUTH", "Bearer gw-key")
    yield server
    server.stop()


def ask_code(client, phone=PHONE, **kw):
    return client.post("/api/v1/citizen/otp", json={"phone": phone}, **kw)


def code_from(gateway, e164=E164) -> str:
    return re.search(r"\b(\d{6})\b", gateway.texts_to(e164)[-1]).group(1)


def sign_in(client, code, phone=PHONE, **body):
    return client.post("/api/v1/citizen/session", json={"phone": phone, "code": code, **body})


def sessions(db_session) -> int:
    return (
        db_session.scalar(
            select(AuthToken.id).join(User, User.id == AuthToken.user_id).where(User.username == E164).limit(1)
        )
        or 0
    )


def test_code_by_sms_then_a_bearer_session(client, db_session, gateway):
    resp = ask_code(client)
    assert resp.status_code == 202, resp.json
    assert resp.json == {"sent": True, "expires_in": 300, "resend_after": 60}
    sent = gateway.received[-1]
    assert sent.headers["Authorization"] == "Bearer gw-key"
    assert sent.json()["to"] == E164 and sent.json()["brandname"] == "FIELDREPORT"
    code = code_from(gateway)
    # The code itself is never stored, only a keyed hash of it.
    stored = db_session.scalar(select(OtpChallenge).where(OtpChallenge.phone == E164))
    assert code not in stored.code_hash and len(stored.code_hash) == 64

    resp = sign_in(client, code)
    assert resp.status_code == 201, resp.json
    assert resp.json["citizen"] == {"phone": E164, "identity_level": "phone"}
    bearer = {"Authorization": f"Bearer {resp.json['access_token']}"}
    assert client.get("/api/v1/citizen/me", headers=bearer).json["phone"] == E164
    assert client.get("/api/v1/me/reports", headers=bearer).json == []
    # A code works once.
    assert sign_in(client, code).status_code == 401


def test_same_answers_for_known_and_unknown_phones(client, db_session, gateway, monkeypatch, app):
    monkeypatch.setitem(app.config, "OTP_RESEND_SECONDS", 1)
    first = ask_code(client)  # unknown phone
    sign_in(client, code_from(gateway))
    from fieldreport.extensions import queues

    queues.redis.delete(*queues.redis.keys("*cd:otp-resend*"))
    again = ask_code(client)  # now a known phone
    assert (first.status_code, first.json) == (again.status_code, again.json)
    # A wrong code for a phone with no code pending looks like any wrong code.
    never = sign_in(client, "123456", phone="0987654321")
    wrong = sign_in(client, "000000" if code_from(gateway) != "000000" else "111111")
    assert never.status_code == wrong.status_code == 401
    assert never.json["code"] == wrong.json["code"] == "otp_invalid"


def test_wrong_code_is_401_and_gives_no_session(client, db_session, gateway):
    ask_code(client)
    good = code_from(gateway)
    resp = sign_in(client, "999999" if good != "999999" else "888888")
    assert resp.status_code == 401
    assert resp.json["code"] == "otp_invalid"
    assert resp.content_type == "application/problem+json"
    assert resp.json["message"] == "Sai số điện thoại hoặc mã xác thực."
    assert sessions(db_session) == 0


def test_expired_code_is_401(client, db_session, gateway):
    ask_code(client)
    db_session.execute(
        update(OtpChallenge).where(OtpChallenge.phone == E164).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    resp = sign_in(client, code_from(gateway))
    assert resp.status_code == 401
    assert resp.json["code"] == "otp_expired"
    assert sessions(db_session) == 0


def test_sixth_try_is_refused_even_with_the_right_code(client, db_session, gateway):
    ask_code(client)
    good = code_from(gateway)
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(5):
        assert sign_in(client, wrong).json["code"] == "otp_invalid"
    resp = sign_in(client, good)
    assert resp.status_code == 429
    assert resp.json["code"] == "otp_attempts_exhausted"
    assert sessions(db_session) == 0


@pytest.mark.parametrize(
    "phone, code",
    [
        ("12ab", "invalid_phone"),  # malformed
        ("091234", "invalid_phone"),  # too short
        ("+14155552671", "phone_not_vietnamese"),  # a foreign mobile
        ("+33612345678", "phone_not_vietnamese"),
        ("02838234567", "phone_not_mobile"),  # a Hồ Chí Minh City landline
    ],
)
def test_bad_phones_are_422_and_send_nothing(client, db_session, gateway, phone, code):
    resp = ask_code(client, phone)
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == code
    assert resp.json["field"] == "phone"
    resp = sign_in(client, "123456", phone=phone)
    assert resp.status_code == 422 and resp.json["code"] == code
    assert gateway.received == []


def test_english_messages(client, db_session, gateway):
    resp = client.post("/api/v1/citizen/otp", json={"phone": "+14155552671"}, headers={"Accept-Language": "en"})
    assert resp.json["message"] == "Only Vietnamese mobile numbers can sign in."


def test_code_shape_is_checked(client, db_session, gateway):
    resp = sign_in(client, "12345")
    assert resp.status_code == 422 and "code" in resp.json["errors"]["json"]


def test_resend_cool_down_and_per_phone_limit(client, db_session, gateway, app, monkeypatch):
    assert ask_code(client).status_code == 202
    resp = ask_code(client, "+84 912 345 678")  # the same phone written differently
    assert resp.status_code == 429 and resp.json["code"] == "otp_resend_too_soon"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert len(gateway.received) == 1

    monkeypatch.setitem(app.config, "OTP_RESEND_SECONDS", 1)
    monkeypatch.setitem(app.config, "OTP_PER_PHONE_PER_HOUR", 2)
    from fieldreport.extensions import queues

    queues.redis.delete(*queues.redis.keys("*cd:otp-resend*"))
    assert ask_code(client, "0987000111").status_code == 202
    queues.redis.delete(*queues.redis.keys("*cd:otp-resend*"))
    assert ask_code(client, "0987000111").status_code == 202
    queues.redis.delete(*queues.redis.keys("*cd:otp-resend*"))
    resp = ask_code(client, "0987000111")
    assert resp.status_code == 429 and resp.json["code"] == "rate_limited"


def test_per_client_limit(client, db_session, gateway, app, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_PER_CLIENT_PER_HOUR", 3)
    for i in range(3):
        assert ask_code(client, f"098700012{i}").status_code == 202
    resp = ask_code(client, "0987000129")
    assert resp.status_code == 429 and resp.json["code"] == "rate_limited"
    assert len(gateway.received) == 3


def test_gateway_down_is_503_and_nothing_is_kept(client, db_session, gateway):
    gateway.status = 500
    resp = ask_code(client)
    assert resp.status_code == 503 and resp.json["code"] == "sms_unavailable"
    assert db_session.scalar(select(OtpChallenge).where(OtpChallenge.phone == E164)) is None
    gateway.status = 200
    assert ask_code(client).status_code == 202  # the cool-down did not start for nothing


def test_log_provider_writes_the_code_to_the_log(client, db_session, caplog):
    with caplog.at_level("INFO", logger="fieldreport.sms"):
        assert ask_code(client).status_code == 202
    assert re.search(r"SMS to \+8491\*+678 .*\b\d{6}\b", caplog.text)


def test_sign_in_claims_this_devices_reports_and_me_reports_follows(client, db_session, gateway):
    mine = factories.make_report(db_session, "road_damage", *BMT)
    other = factories.make_report(db_session, "road_damage", *BMT)
    ask_code(client)
    resp = sign_in(client, code_from(gateway), citizen_tokens=[mine.citizen_token, "x" * 40])
    assert resp.json["claimed"] == [mine.code]
    bearer = {"Authorization": f"Bearer {resp.json['access_token']}"}
    assert [r["code"] for r in client.get("/api/v1/me/reports", headers=bearer).json] == [mine.code]
    # Later claims from another device of the same person.
    resp = client.post("/api/v1/me/claims", json={"citizen_tokens": [other.citizen_token]}, headers=bearer)
    assert resp.json == {"claimed": [other.code]}
    assert {r["code"] for r in client.get("/api/v1/me/reports", headers=bearer).json} == {mine.code, other.code}


def test_a_claimed_report_is_not_taken_by_someone_else(client, db_session, gateway):
    report = factories.make_report(db_session, "road_damage", *BMT)
    owner = factories.make_user(db_session, "+84911111111", "citizen")
    db_session.execute(update(Report).where(Report.id == report.id).values(reporter_user_id=owner.id))
    ask_code(client)
    resp = sign_in(client, code_from(gateway), citizen_tokens=[report.citizen_token])
    assert resp.json["claimed"] == []


def test_claims_need_a_citizen_session(client, db_session):
    assert client.post("/api/v1/me/claims", json={"citizen_tokens": ["x" * 40]}).status_code == 401
    staff = factories.bearer(db_session, "bmt.staff")
    resp = client.post("/api/v1/me/claims", json={"citizen_tokens": ["x" * 40]}, headers=staff)
    assert resp.status_code == 403 and resp.json["code"] == "citizen_only"


def test_sign_out(client, db_session, gateway):
    ask_code(client)
    token = sign_in(client, code_from(gateway)).json["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/v1/citizen/session", headers=bearer).status_code == 204
    assert client.get("/api/v1/citizen/me", headers=bearer).status_code == 401


def test_category_can_require_a_signed_in_reporter(client, db_session, gateway):
    cat = factories.category(db_session, "street_light")
    cat.signin_required = True
    db_session.flush()
    body = {"category": "street_light", "lat": BMT[1], "lon": BMT[0], "description": "ổ gà"}
    resp = client.post("/api/v1/reports", json=body)
    assert resp.status_code == 401 and resp.json["code"] == "signin_required"
    ask_code(client)
    token = sign_in(client, code_from(gateway)).json["access_token"]
    resp = client.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, resp.json
    assert client.get("/api/v1/categories").json[0].keys() >= {"signin_required"}
