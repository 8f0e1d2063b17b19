"""Administrators manage staff accounts without the CLI: list, create, deactivate, reactivate,
reset a password (each ending the user's sessions), within what they administer, never on
their own account; every act is in the append-only audit log with who, when and why. The
flask CLI goes through the same service and is recorded too."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from fieldreport.models.privacy import IdentityView
from fieldreport.services import accounts
from tests import factories as f
from tests.api.test_sessions import ME, bearer, console_login, login

USERS = "/api/v1/users"
NEW = {
    "username": "cx.thanh",
    "full_name": "Trần Thanh",
    "role": "staff",
    "unit_code": "UBND-24133",
    "password": "a-first-long-password",
    "reason": "new ward officer",
}


def acts(db_session, username: str) -> list[tuple]:
    subject = f.user(db_session, username)
    return [
        (r.action, r.actor, r.reason)
        for r in db_session.scalars(
            select(IdentityView).where(IdentityView.subject_user_id == subject.id).order_by(IdentityView.id)
        )
    ]


def test_only_an_admin_manages_accounts(client, db_session):
    for role_user in ("dispatcher", "supervisor", "bmt.staff", "hotline"):
        token = login(client, role_user)
        assert client.get(USERS, headers=bearer(token)).status_code == 403
        r = client.post(USERS, headers=bearer(token), json=NEW)
        assert r.status_code == 403 and r.json["code"] == "forbidden_role"
        target = f.user(db_session, "tanlap.staff").id
        assert client.post(f"{USERS}/{target}/deactivate", headers=bearer(token), json={}).status_code == 403
        assert (
            client.post(f"{USERS}/{target}/password", headers=bearer(token), json={"password": "x" * 12}).status_code
            == 403
        )
    assert f.user(db_session, "tanlap.staff").active
    assert f.user(db_session, NEW["username"]) is None
    assert client.get(USERS).status_code == 401


def test_an_admin_lists_creates_and_the_new_account_signs_in(client, db_session):
    admin = bearer(login(client, "admin"))
    page = client.get(USERS, headers=admin).json
    names = {u["username"] for u in page["items"]}
    assert {"admin", "dispatcher", "bmt.staff", "hotline"} <= names and "citizen" not in names
    assert client.get(USERS, headers=admin, query_string={"q": "bmt"}).json["total"] == 2  # staff, counter
    r = client.post(USERS, headers=admin, json=NEW)
    assert r.status_code == 201, r.json
    assert r.json["unit_code"] == "UBND-24133" and r.json["active"] and "password" not in r.json
    assert client.get(f"{USERS}/{r.json['id']}", headers=admin).json["username"] == NEW["username"]
    me = client.get(ME, headers=bearer(login(client, NEW["username"], NEW["password"])))
    assert me.status_code == 200 and me.json["role"] == "staff"
    assert acts(db_session, NEW["username"]) == [("account.create", "admin:admin", "new ward officer")]
    log = client.get(f"{USERS}/acts", headers=admin).json["items"][0]
    assert (log["action"], log["username"], log["detail"]) == ("account.create", NEW["username"], "staff UBND-24133")


@pytest.mark.parametrize(
    "change, status, code",
    [
        ({"username": "bmt.staff"}, 409, "username_taken"),
        ({"unit_code": "NOWHERE"}, 422, "unknown_unit"),
        ({"password": "short"}, 422, "password_too_short"),
        ({"username": "Has Spaces"}, 422, "validation_error"),
        ({"role": "citizen"}, 422, "validation_error"),
    ],
)
def test_a_refused_creation_writes_nothing(client, db_session, change, status, code):
    admin = bearer(login(client, "admin"))
    before = db_session.scalar(select(text("count(*)")).select_from(IdentityView))
    r = client.post(USERS, headers=admin, json={**NEW, **change})
    assert r.status_code == status and r.json["code"] == code, r.json
    assert f.user(db_session, NEW["username"]) is None
    assert f.user(db_session, "bmt.staff").full_name != NEW["full_name"]
    assert db_session.scalar(select(text("count(*)")).select_from(IdentityView)) == before


def test_deactivation_and_reactivation_by_an_admin(app, client, db_session):
    token = login(client, "power.staff")
    browser = app.test_client()
    console_login(browser, "power.staff")
    admin = bearer(login(client, "admin"))
    uid = f.user(db_session, "power.staff").id
    r = client.post(f"{USERS}/{uid}/deactivate", headers=admin, json={"reason": "left the company"})
    assert r.status_code == 200 and r.json["active"] is False
    assert client.get(ME, headers=bearer(token)).status_code == 401
    assert browser.get("/console/").status_code == 302
    assert (
        client.post("/api/v1/auth/login", json={"username": "power.staff", "password": "demo-password"}).status_code
        == 401
    )
    assert (
        client.get(USERS, headers=admin, query_string={"active": "false"}).json["items"][0]["username"] == "power.staff"
    )
    r = client.post(f"{USERS}/{uid}/reactivate", headers=admin, json={})
    assert r.status_code == 200 and r.json["active"] is True
    assert client.get(ME, headers=bearer(token)).status_code == 401  # old sessions stay ended
    assert client.get(ME, headers=bearer(login(client, "power.staff"))).status_code == 200
    assert acts(db_session, "power.staff") == [
        ("account.deactivate", "admin:admin", "left the company"),
        ("account.reactivate", "admin:admin", ""),
    ]


def test_a_password_reset_by_an_admin_ends_every_session(client, db_session):
    first, second = login(client, "urenco.staff"), login(client, "urenco.staff", ip="10.1.0.7")
    admin = bearer(login(client, "admin"))
    uid = f.user(db_session, "urenco.staff").id
    short = client.post(f"{USERS}/{uid}/password", headers=admin, json={"password": "short"})
    assert short.status_code == 422 and short.json["code"] == "password_too_short"
    assert client.get(ME, headers=bearer(first)).status_code == 200 and acts(db_session, "urenco.staff") == []
    r = client.post(
        f"{USERS}/{uid}/password",
        headers=admin,
        json={"password": "reset-by-the-admin", "reason": "forgot it, called the IOC"},
    )
    assert r.status_code == 204
    for token in (first, second):
        assert client.get(ME, headers=bearer(token)).status_code == 401
    assert (
        client.post("/api/v1/auth/login", json={"username": "urenco.staff", "password": "demo-password"}).status_code
        == 401
    )
    assert client.get(ME, headers=bearer(login(client, "urenco.staff", "reset-by-the-admin"))).status_code == 200
    assert acts(db_session, "urenco.staff") == [("account.password_reset", "admin:admin", "forgot it, called the IOC")]


def test_an_admin_cannot_deactivate_or_reset_themselves(client, db_session):
    token = login(client, "admin")
    uid = f.user(db_session, "admin").id
    r = client.post(f"{USERS}/{uid}/deactivate", headers=bearer(token), json={})
    assert r.status_code == 403 and r.json["code"] == "own_account"
    r = client.post(f"{USERS}/{uid}/password", headers=bearer(token), json={"password": "x" * 12})
    assert r.status_code == 403 and r.json["code"] == "own_account"
    assert f.user(db_session, "admin").active
    assert client.get(ME, headers=bearer(token)).status_code == 200
    assert acts(db_session, "admin") == []


def test_an_admin_of_a_unit_manages_only_that_unit_and_unit_bound_roles(client, db_session):
    accounts.save_user("sxd.admin", "admin", "SXD", "Quản trị Sở Xây dựng", "sxd-admin-password")
    token = bearer(login(client, "sxd.admin", "sxd-admin-password"))
    names = {u["username"] for u in client.get(USERS, headers=token).json["items"]}
    assert names == {"sxd.supervisor", "urenco.staff"}  # SXD and URENCO-BMT under it
    outside = f.user(db_session, "bmt.staff").id
    for path in (f"{USERS}/{outside}",):
        assert client.get(path, headers=token).status_code == 404
    r = client.post(f"{USERS}/{outside}/deactivate", headers=token, json={})
    assert r.status_code == 404 and r.json["code"] == "user_not_found"
    assert f.user(db_session, "bmt.staff").active
    for change in (
        {"role": "dispatcher", "unit_code": "SXD"},
        {"role": "admin", "unit_code": "SXD"},
        {"unit_code": "UBND-24133"},
        {"unit_code": None},
    ):
        r = client.post(USERS, headers=token, json={**NEW, **change})
        assert r.status_code == 403 and r.json["code"] == "role_not_grantable", (change, r.json)
    r = client.post(USERS, headers=token, json={**NEW, "unit_code": "URENCO-BMT"})
    assert r.status_code == 201
    assert {a["username"] for a in client.get(f"{USERS}/acts", headers=token).json["items"]} == {NEW["username"]}


def test_the_cli_uses_the_same_service_and_is_recorded(app, client, db_session):
    token = login(client, "tanlap.staff")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["deactivate-user", "tanlap.staff"]).exit_code == 0
    assert client.get(ME, headers=bearer(token)).status_code == 401
    out = runner.invoke(
        args=["create-user", "cli.made", "--role", "staff", "--unit", "UBND-24121", "--password", "made-on-the-server"]
    )
    assert out.exit_code == 0, out.output
    ((action, actor, _),) = acts(db_session, "tanlap.staff")
    assert action == "account.deactivate" and actor.startswith("cli:")
    assert [a[0] for a in acts(db_session, "cli.made")] == ["account.create"]
    admin = bearer(login(client, "admin"))
    logged = {a["username"] for a in client.get(f"{USERS}/acts", headers=admin).json["items"]}
    assert {"tanlap.staff", "cli.made"} <= logged


def test_account_acts_are_append_only(client, db_session):
    admin = bearer(login(client, "admin"))
    uid = f.user(db_session, "bmt.staff").id
    assert client.post(f"{USERS}/{uid}/deactivate", headers=admin, json={"reason": "audit"}).status_code == 200
    with pytest.raises(DBAPIError, match="append-only"):
        with db_session.begin_nested():
            db_session.execute(
                text("UPDATE identity_views SET reason = 'rewritten' WHERE subject_user_id = :u"), {"u": uid}
            )
    assert acts(db_session, "bmt.staff")[0][2] == "audit"


def test_the_console_pages_are_for_admins_and_write_through_the_same_service(app, db_session, redis_clean):
    dispatcher = app.test_client()
    csrf = console_login(dispatcher, "dispatcher")
    assert dispatcher.get("/console/accounts/").status_code == 403
    form = {**NEW, "csrf_token": csrf}
    assert dispatcher.post("/console/accounts/", data=form).status_code == 403
    assert f.user(db_session, NEW["username"]) is None
    admin = app.test_client()
    csrf = console_login(admin, "admin")
    r = admin.post("/console/accounts/", data={**NEW, "password": "short", "csrf_token": csrf})
    assert r.status_code == 422 and f.user(db_session, NEW["username"]) is None
    assert NEW["full_name"] in r.get_data(as_text=True)  # what was typed is kept
    r = admin.post("/console/accounts/", data={**NEW, "csrf_token": csrf})
    assert r.status_code == 302
    uid = f.user(db_session, NEW["username"]).id
    own = f.user(db_session, "admin").id
    r = admin.post(f"/console/accounts/{own}/active", data={"active": "0", "csrf_token": csrf})
    assert r.status_code == 403 and f.user(db_session, "admin").active
    r = admin.post(f"/console/accounts/{uid}/active", data={"active": "0", "reason": "test", "csrf_token": csrf})
    assert r.status_code == 302 and not f.user(db_session, NEW["username"]).active
    assert [a[0] for a in acts(db_session, NEW["username"])] == ["account.create", "account.deactivate"]


def test_a_province_admin_manages_that_province_only(app, client, db_session):
    """With several provinces, the admin of a province's committee (a top unit) manages that
    province's accounts, dispatchers included, and nothing of the national units or others."""
    from fieldreport.services import provinces

    saved = app.config["PROVINCES"]
    app.config["PROVINCES"] = "66,56"
    try:
        provinces.load(["56"])
        f.make_user(db_session, "admin.56", "admin", "UBND-56")
        f.make_user(db_session, "dispatcher.56", "dispatcher", "IOC-56")
        f.make_user(db_session, "admin.vn", "admin", None)
        db_session.commit()
        token = bearer(login(client, "admin.56"))
        names = {u["username"] for u in client.get(USERS, headers=token).json["items"]}
        assert names == {"admin.56", "dispatcher.56"}
        r = client.post(USERS, headers=token, json={**NEW, "role": "dispatcher", "unit_code": "IOC-56"})
        assert r.status_code == 201, r.json
        r = client.post(USERS, headers=token, json={**NEW, "username": "cx.other", "unit_code": "UBND-24133"})
        assert r.status_code == 403 and r.json["code"] == "role_not_grantable"
        outside = f.user(db_session, "bmt.staff").id
        assert client.post(f"{USERS}/{outside}/deactivate", headers=token, json={}).status_code == 404
        assert f.user(db_session, "bmt.staff").active
        national = bearer(login(client, "admin.vn"))  # no unit: every province (the demo's admin is Đắk Lắk's)
        everyone = {
            u["username"] for u in client.get(USERS, headers=national, query_string={"page_size": 200}).json["items"]
        }
        assert {"dispatcher.56", "bmt.staff", NEW["username"]} <= everyone
    finally:
        app.config["PROVINCES"] = saved
