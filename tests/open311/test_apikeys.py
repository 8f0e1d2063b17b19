"""API keys: admin API and CLI to issue and revoke them; only their hash is stored."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import bearer
from tests.open311.conftest import BASE, BMT


def post_request(client, key):
    return client.post(
        f"{BASE}/requests.json",
        data={"api_key": key, "service_code": "street_light", "lat": str(BMT[1]), "long": str(BMT[0])},
    )


def test_admin_issues_lists_and_revokes_keys(client, db_session):
    from fieldreport import security
    from fieldreport.models import ApiKey

    admin = bearer(db_session, "admin")
    r = client.post(
        "/api/v1/api-keys",
        json={"name": "City dashboard", "contact": "ops@city.example", "unit_code": "WATER-66"},
        headers=admin,
    )
    assert r.status_code == 201, r.json
    created = r.json
    raw = created["api_key"]
    assert created["unit_code"] == "WATER-66" and raw.startswith(created["key_prefix"])
    row = db_session.get(ApiKey, created["id"])
    assert row.key_hash == security.token_hash(raw) and raw not in (row.key_hash, row.key_prefix)
    listed = client.get("/api/v1/api-keys", headers=admin).json
    assert "api_key" not in next(k for k in listed if k["id"] == created["id"])
    assert post_request(client, raw).status_code == 200
    r = client.delete(f"/api/v1/api-keys/{created['id']}", headers=admin)
    assert r.status_code == 200 and r.json["active"] is False and r.json["revoked_at"]
    assert post_request(client, raw).status_code == 403
    assert client.get(f"/api/v1/api-keys/{created['id']}", headers=admin).json["active"] is False


def test_key_admin_needs_the_admin_role(client, db_session):
    assert client.get("/api/v1/api-keys").status_code == 401
    for user in ("dispatcher", "supervisor", "bmt.staff"):
        headers = bearer(db_session, user)
        assert client.get("/api/v1/api-keys", headers=headers).status_code == 403
        assert client.post("/api/v1/api-keys", json={"name": "x"}, headers=headers).status_code == 403


def test_key_admin_errors(client, db_session, demo):
    admin = bearer(db_session, "admin")
    assert client.post("/api/v1/api-keys", json={"name": "demo-open311-client"}, headers=admin).status_code == 409
    r = client.post("/api/v1/api-keys", json={"name": "x", "unit_code": "NOPE"}, headers=admin)
    assert (r.status_code, r.json["code"]) == (422, "unknown_unit")  # as everywhere (errors.CATALOGUE)
    assert client.post("/api/v1/api-keys", json={"name": ""}, headers=admin).status_code == 422
    assert client.delete("/api/v1/api-keys/999999", headers=admin).status_code == 404


def test_cli_creates_and_revokes(app, client, db_session):
    from fieldreport.models import ApiKey

    runner = app.test_cli_runner()
    out = runner.invoke(args=["create-api-key", "cli-client", "--unit", "PC-66"])
    assert out.exit_code == 0, out.output
    raw = out.output.strip().rsplit(" ", 1)[-1]
    assert post_request(client, raw).status_code == 200
    assert runner.invoke(args=["create-api-key", "cli-client"]).exit_code != 0  # name taken
    out = runner.invoke(args=["revoke-api-key", "cli-client"])
    assert out.exit_code == 0, out.output
    assert db_session.scalar(select(ApiKey.active).where(ApiKey.name == "cli-client")) is False
    assert post_request(client, raw).status_code == 403
    assert runner.invoke(args=["revoke-api-key", "nobody"]).exit_code != 0
