"""Sign-in: argon2 passwords, short-lived hashed bearer tokens, logout, brute-force protection."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fieldreport import security
from fieldreport.models import AuthToken
from tests import factories as f

LOGIN = "/api/v1/auth/login"


def login(client, username, password="demo-password", ip="10.0.0.1"):
    return client.post(LOGIN, json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": ip})


def test_login_issues_a_hashed_short_lived_token(client, db_session, app):
    r = login(client, "bmt.staff")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["token_type"] == "Bearer" and body["user"]["role"] == "staff"
    assert body["user"]["unit"]["code"] == "UBND-24133"
    row = db_session.scalar(select(AuthToken).where(AuthToken.token_hash == security.token_hash(body["access_token"])))
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


def _end_backoff():
    """The back-off wait has run out (as if the client waited): drop its Redis keys."""
    from fieldreport.extensions import queues

    for key in queues.redis.scan_iter(f"{queues.prefix}:bo-wait:*"):
        queues.redis.delete(key)


def test_failures_from_one_client_never_lock_out_the_right_password_from_another(client, app, redis_clean, monkeypatch):
    # A wait far longer than the test: with the default 2 s, a slow machine's logins outlasted
    # the attacker's wait and the last assertion saw a 200 (seen once in a loaded run).
    monkeypatch.setitem(app.config, "LOGIN_BACKOFF_SECONDS", 600.0)
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 6):  # was: 5 failures locked the account
        assert login(client, "power.staff", "wrong", ip="10.6.6.6").status_code in (401, 429)
    r = login(client, "power.staff", ip="10.6.6.7")  # the owner, from their own machine
    assert r.status_code == 200, r.json
    assert login(client, "power.staff", ip="10.6.6.6").status_code == 429  # the attacker still waits


def test_back_off_doubles_per_failure_and_a_success_resets_it(client, app, redis_clean):
    free = app.config["LOGIN_FREE_FAILURES"]
    for _ in range(free):
        assert login(client, "urenco.staff", "wrong", ip="10.7.7.7").status_code == 401
    waits = []
    for _ in range(3):
        assert login(client, "urenco.staff", "wrong", ip="10.7.7.7").status_code == 401
        r = login(client, "urenco.staff", ip="10.7.7.7")  # even the right password must wait
        assert r.status_code == 429 and r.json["code"] == "login_throttled"
        waits.append(int(r.headers["Retry-After"]))
        _end_backoff()
    base = app.config["LOGIN_BACKOFF_SECONDS"]
    assert waits == [max(1, round(base * 2**i)) for i in range(3)]
    assert login(client, "urenco.staff", ip="10.7.7.7").status_code == 200  # waited: it works
    for _ in range(free):  # and the count starts again from zero
        assert login(client, "urenco.staff", "wrong", ip="10.7.7.7").status_code == 401


def test_unknown_users_answer_exactly_like_wrong_passwords(client, app, redis_clean, monkeypatch):
    verified = []
    real = security.verify_password
    monkeypatch.setattr(security, "verify_password", lambda stored, pw: verified.append(stored[:9]) or real(stored, pw))
    seen = set()
    for i in range(app.config["LOGIN_FREE_FAILURES"] + 3):
        for _ in range(2):  # the second try of a round waits once past the free failures
            a = login(client, "sxd.supervisor", "wrong", ip="10.8.8.1")
            b = login(client, "no-such-user", "wrong", ip="10.8.8.2")
            assert (a.status_code, a.json["code"], sorted(a.json)) == (b.status_code, b.json["code"], sorted(b.json)), i
            assert ("Retry-After" in a.headers) == ("Retry-After" in b.headers)
            seen.add(a.json["code"])
        _end_backoff()
    assert seen == {"invalid_credentials", "login_throttled"}
    assert set(verified) == {"$argon2id"}  # the same argon2 work for a wrong password and no user


def test_a_success_forgives_the_failures_before_it(client, redis_clean):
    assert login(client, "urenco.staff", "wrong").status_code == 401
    assert login(client, "urenco.staff").status_code == 200


def test_login_attempts_are_rate_limited_per_ip(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_PER_IP", 3)
    for i in range(3):
        assert login(client, f"nobody{i}", "x", ip="10.9.9.9").status_code == 401
    r = login(client, "admin", ip="10.9.9.9")
    assert r.status_code == 429 and r.json["code"] == "rate_limited" and r.headers["Retry-After"]
    assert login(client, "admin", ip="10.9.9.10").status_code == 200  # another client is fine
