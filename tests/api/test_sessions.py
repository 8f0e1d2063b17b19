"""Sessions end when they should: sign out everywhere, a password change, a deactivation; the
console's cookie holds a server-side session id (no bearer token), HttpOnly, SameSite=Lax and
Secure outside local development."""

from __future__ import annotations

import re

from config.settings import Config
from tests import factories as f
from tests.conftest import DEMO_PASSWORD

ME = "/api/v1/auth/me"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str, password: str = DEMO_PASSWORD, ip: str = "10.1.0.1") -> str:
    r = client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )
    assert r.status_code == 200, r.json
    return r.json["access_token"]


def console_login(client, username: str, password: str = DEMO_PASSWORD):
    html = client.get("/console/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/console/login", data={"csrf_token": csrf, "username": username, "password": password})
    assert r.status_code == 302, r.get_data(as_text=True)
    return csrf


def test_sign_out_everywhere_ends_every_token_and_console_session(app, client, db_session):
    phone, laptop = login(client, "dispatcher", ip="10.1.0.2"), login(client, "dispatcher", ip="10.1.0.3")
    browser = app.test_client()
    console_login(browser, "dispatcher")
    assert browser.get("/console/").status_code == 200
    other = login(client, "bmt.staff")
    assert client.post("/api/v1/auth/logout-everywhere", headers=bearer(phone)).status_code == 204
    for token in (phone, laptop):
        assert client.get(ME, headers=bearer(token)).status_code == 401
    assert browser.get("/console/").status_code == 302  # the console session ended too
    assert client.get(ME, headers=bearer(other)).status_code == 200  # someone else's did not
    assert client.get(ME, headers=bearer(login(client, "dispatcher"))).status_code == 200


def test_the_console_button_signs_out_everywhere(app, client, db_session):
    api_token = login(client, "tanlap.staff")
    csrf = console_login(client, "tanlap.staff")
    page = client.get("/console/").get_data(as_text=True)
    assert 'id="sign-out-everywhere"' in page
    r = client.post("/console/logout-everywhere", data={"csrf_token": csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/login")
    assert client.get(ME, headers=bearer(api_token)).status_code == 401
    assert client.get("/console/").status_code == 302


def test_a_password_change_ends_every_session(app, client, db_session):
    first, second = login(client, "sxd.supervisor"), login(client, "sxd.supervisor", ip="10.1.0.9")
    change = "/api/v1/auth/password"
    wrong = client.post(
        change, headers=bearer(first), json={"current_password": "nope", "new_password": "a-new-long-password"}
    )
    assert wrong.status_code == 403 and wrong.json["code"] == "wrong_password"
    short = client.post(
        change, headers=bearer(first), json={"current_password": DEMO_PASSWORD, "new_password": "short"}
    )
    assert short.status_code == 422 and short.json["code"] == "password_too_short"
    assert client.get(ME, headers=bearer(first)).status_code == 200  # refusals change nothing
    ok = client.post(
        change, headers=bearer(first), json={"current_password": DEMO_PASSWORD, "new_password": "a-new-long-password"}
    )
    assert ok.status_code == 204
    for token in (first, second):
        assert client.get(ME, headers=bearer(token)).status_code == 401
    bad = client.post("/api/v1/auth/login", json={"username": "sxd.supervisor", "password": DEMO_PASSWORD})
    assert bad.status_code == 401
    assert client.get(ME, headers=bearer(login(client, "sxd.supervisor", "a-new-long-password"))).status_code == 200


def test_an_operator_password_reset_ends_every_session(app, client, db_session):
    token = login(client, "power.staff")
    short = app.test_cli_runner().invoke(
        args=["create-user", "power.staff", "--role", "staff", "--unit", "PC-66", "--password", "short"]
    )
    assert short.exit_code != 0 and "10 characters" in short.output
    assert client.get(ME, headers=bearer(token)).status_code == 200  # refused: nothing changed
    out = app.test_cli_runner().invoke(
        args=["create-user", "power.staff", "--role", "staff", "--unit", "PC-66", "--password", "reset-by-operator"]
    )
    assert out.exit_code == 0, out.output
    assert client.get(ME, headers=bearer(token)).status_code == 401
    assert f.user(db_session, "power.staff").full_name == "Nhân viên Điện lực Đắk Lắk"  # kept


def test_deactivation_ends_sessions_for_good(app, client, db_session):
    token = login(client, "urenco.staff")
    console = app.test_client()
    console_login(console, "urenco.staff")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["deactivate-user", "urenco.staff"]).exit_code == 0
    assert client.get(ME, headers=bearer(token)).status_code == 401
    assert runner.invoke(args=["deactivate-user", "urenco.staff", "--reactivate"]).exit_code == 0
    # Back in service: the sessions from before the deactivation stay ended.
    assert client.get(ME, headers=bearer(token)).status_code == 401
    assert console.get("/console/").status_code == 302
    assert client.get(ME, headers=bearer(login(client, "urenco.staff"))).status_code == 200


def test_the_console_cookie_holds_no_bearer_token(app, client, db_session):
    console_login(client, "bmt.staff")
    assert client.get("/console/").status_code == 200
    with client.session_transaction() as s:
        values = [v for v in s.values() if isinstance(v, str)]
    assert values
    for value in values:  # nothing in the cookie works as an API credential
        assert client.get(ME, headers=bearer(value)).status_code == 401
    api_token = login(client, "bmt.staff")  # and an API token opens no console session
    with client.session_transaction() as s:
        s["sid"] = api_token
    assert client.get("/console/").status_code == 302


def test_cookies_are_secure_outside_local_development(monkeypatch, app, client):
    monkeypatch.delenv("FIELDREPORT_COOKIE_SECURE", raising=False)
    monkeypatch.setenv("FIELDREPORT_DEMO_MODE", "0")
    monkeypatch.setenv("FIELDREPORT_PUBLIC_BASE_URL", "https://phananh.example.vn")
    production = Config()
    for key in ("COOKIE_SECURE", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE"):
        monkeypatch.setitem(app.config, key, getattr(production, key))
    cookies = client.get("/console/login?lang=en").headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert len(cookies) == 2 and all("Secure" in c for c in cookies)  # the language cookie too
    monkeypatch.setenv("FIELDREPORT_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    assert Config().COOKIE_SECURE is False  # local development over plain http
    monkeypatch.setenv("FIELDREPORT_PUBLIC_BASE_URL", "")
    monkeypatch.setenv("FIELDREPORT_DEMO_MODE", "1")
    assert Config().COOKIE_SECURE is False  # make run
    monkeypatch.setenv("FIELDREPORT_COOKIE_SECURE", "1")
    assert Config().COOKIE_SECURE is True  # a demo behind HTTPS may ask for it
