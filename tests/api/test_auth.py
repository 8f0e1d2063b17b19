"""Sign-in: argon2 passwords, short-lived hashed bearer tokens, logout, brute-force protection."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fieldreport import security
from fieldreport.models import AuthToken
from fieldreport.models.base import utcnow
from tests import factories as f

LOGIN = "/api/v1/auth/login"


def login(client, username, password="demo-password", ip="10.0.0.1"):
    return client.post(LOGIN, json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_login_issues_a_hashed_short_lived_token(client, db_session, app):
    r = login(client, "bmt.staff")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["token_type"] == "Bearer" and body["user"]["role"] == "staff"
    assert body["user"]["unit"]["code"] == "UBND-24133"
    row = db_session.scalar(select(AuthToken).where(
        AuthToken.token_hash == security.token_hash(body["access_token"])))
    assert row is not None  # only the hash is stored
    ttl = row.expires_at - row.created_at
    assert abs(ttl - timedelta(minutes=app.config["TOKEN_TTL_MINUTES"])) < timedelta(seconds=5)
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json["username"] == "bmt.staff"
    assert f.user(db_session, "bmt.staff").password_hash.startswith("$argon2")


def test_wrong_password_and_unknown_user_look_the_same(client):
    a = login(client, "bmt.staff", "nope")
    b = login(client, "no-such-user", "nope")
    assert a.status_code == b.status_code == 401
    assert a.json["code"] == b.json["code"] == "invalid_credentials"
    assert login(client, "bmt.staff", None).status_code == 422


def test_logout_revokes_the_token(client):
    token = login(client, "dispatcher").json["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/staff/triage", headers=h).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 204
    r = client.get("/api/v1/staff/triage", headers=h)
    assert r.status_code == 401 and r.json["code"] == "unauthorized"


def test_expired_or_garbage_tokens_are_refused(client, db_session):
    token = f.token_for(db_session, "admin", minutes=-1)
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer abc"}).status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 401


def test_inactive_user_cannot_sign_in_or_use_a_token(client, db_session):
    token = f.token_for(db_session, "tanlap.staff")
    f.user(db_session, "tanlap.staff").active = False
    db_session.flush()
    assert login(client, "tanlap.staff").status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_account_locks_after_repeated_failures(client, db_session, app):
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert login(client, "power.staff", "wrong").status_code == 401
    r = login(client, "power.staff")  # even the right password, while locked
    assert r.status_code == 429 and r.json["code"] == "account_locked"
    assert int(r.headers["Retry-After"]) > 0
    user = f.user(db_session, "power.staff")
    db_session.refresh(user)
    assert user.locked_until > utcnow()
    user.locked_until = utcnow() - timedelta(seconds=1)  # the lock has run out
    db_session.flush()
    assert login(client, "power.staff").status_code == 200
    db_session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None


def test_failures_below_the_limit_are_forgiven_by_a_success(client, db_session):
    assert login(client, "urenco.staff", "wrong").status_code == 401
    assert login(client, "urenco.staff").status_code == 200
    user = f.user(db_session, "urenco.staff")
    db_session.refresh(user)
    assert user.failed_logins == 0


def test_login_attempts_are_rate_limited_per_ip(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_PER_IP", 3)
    for i in range(3):
        assert login(client, f"nobody{i}", "x", ip="10.9.9.9").status_code == 401
    r = login(client, "admin", ip="10.9.9.9")
    assert r.status_code == 429 and r.json["code"] == "rate_limited" and r.headers["Retry-After"]
    assert login(client, "admin", ip="10.9.9.10").status_code == 200  # another client is fine
