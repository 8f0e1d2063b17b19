"""Deployment defaults: re-seeding the demo never undoes an operator's changes, and outside
demo mode the API server refuses to start while demo accounts keep their demo password."""

from __future__ import annotations

import os
import subprocess

import pytest
from sqlalchemy import delete, select

from fieldreport import security
from fieldreport.deploy import accounts_with_demo_passwords
from fieldreport.models import ApiKey, RoutingRule, User
from fieldreport.services import accounts
from fieldreport.services.demo import DEMO_API_CLIENT, DEMO_USERNAMES, seed_demo
from scripts.procs import BIN, free_port
from tests import factories as f
from tests.conftest import DEMO_PASSWORD, ROOT
from tests.servers import gunicorn_env


def test_seeding_again_keeps_passwords_deactivations_revocations_and_edits(app, db_session):
    f.user(db_session, "admin").password_hash = security.hash_password("the-admins-own-password")
    f.user(db_session, "dispatcher").active = False
    key = db_session.scalar(select(ApiKey).where(ApiKey.name == DEMO_API_CLIENT))
    key.active, key.revoked_at = False, key.created_at
    f.category(db_session, "noise").active = False
    rules = db_session.scalar(select(RoutingRule.id).order_by(RoutingRule.id).limit(1))
    db_session.execute(delete(RoutingRule).where(RoutingRule.id == rules))
    db_session.execute(delete(User).where(User.username == "citizen"))
    db_session.commit()

    res = seed_demo(DEMO_PASSWORD, app.config["SECRET_KEY"])  # what every `make run` does

    admin = f.user(db_session, "admin")
    assert security.verify_password(admin.password_hash, "the-admins-own-password")
    assert not security.verify_password(admin.password_hash, DEMO_PASSWORD)
    assert f.user(db_session, "dispatcher").active is False
    db_session.refresh(key)
    assert key.active is False and key.revoked_at is not None and res.api_key == ""
    assert f.category(db_session, "noise").active is False
    assert db_session.scalar(select(RoutingRule.id).where(RoutingRule.id == rules)) is None
    assert res.created_users == ["citizen (citizen)"]  # only what was missing is made
    assert security.verify_password(f.user(db_session, "citizen").password_hash, DEMO_PASSWORD)


def test_the_check_names_the_accounts_a_demo_password_still_opens(db_session):
    f.make_user(db_session, "national.admin", "admin", None, password=DEMO_PASSWORD)  # seeded with several provinces
    assert accounts_with_demo_passwords(db_session, {DEMO_PASSWORD}) == sorted(DEMO_USERNAMES)
    assert accounts_with_demo_passwords(db_session, {"demo1234"}) == []
    for name in DEMO_USERNAMES:
        if name != "supervisor":
            f.user(db_session, name).password_hash = security.hash_password(name + "-own-password")
    accounts.set_active(f.user(db_session, "supervisor"), False)  # a deactivated account is harmless
    assert accounts_with_demo_passwords(db_session, {DEMO_PASSWORD}) == []


def test_the_api_server_refuses_to_start_with_demo_passwords_outside_demo_mode(app, config, s3_server):
    env = gunicorn_env(
        config,
        s3_server,
        free_port(),
        "deploy",
        1,
        FIELDREPORT_SECRET_KEY="deploy-test-secret",
        FIELDREPORT_DEMO_PASSWORD=DEMO_PASSWORD,
        FIELDREPORT_DEMO_MODE="0",
    )
    out = subprocess.run(
        [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "refuses to start" in out.stderr and "admin" in out.stderr and "FIELDREPORT_DEMO_MODE" in out.stderr
    assert "Booting worker" not in out.stderr  # refused before serving anything


def _env(config, s3_server, demo_mode: str) -> dict:
    return dict(
        os.environ,
        FIELDREPORT_DATABASE_URL=config.DATABASE_URL,
        FIELDREPORT_REDIS_URL=config.REDIS_URL,
        FIELDREPORT_S3_ENDPOINT=s3_server.endpoint,
        FIELDREPORT_S3_ACCESS_KEY=s3_server.key,
        FIELDREPORT_S3_SECRET_KEY=s3_server.secret,
        FIELDREPORT_SECRET_KEY="deploy-test-secret",
        FIELDREPORT_DEMO_PASSWORD=DEMO_PASSWORD,
        FIELDREPORT_DEMO_MODE=demo_mode,
        FIELDREPORT_LOG_JSON="0",
        FIELDREPORT_QUEUE_PREFIX="deploy-test",
    )


@pytest.mark.parametrize("mode", [["worker", "--burst"], ["cron"]])
def test_the_worker_and_the_periodic_process_refuse_to_start_the_same_way(app, config, s3_server, mode):
    """The RQ worker and the periodic process make the API server's check (the same function):
    outside demo mode they exit naming the accounts; in demo mode the burst worker runs."""
    cmd = [str(BIN / "python"), "-m", "workers.main", *mode]
    out = subprocess.run(
        cmd, env=_env(config, s3_server, "0"), cwd=ROOT, capture_output=True, text=True, timeout=60
    )  # on main the cron loop never ends: the timeout is the failure
    assert out.returncode != 0
    assert "refuses to start" in out.stderr and "admin" in out.stderr and "FIELDREPORT_DEMO_MODE" in out.stderr
    if mode[0] == "worker":
        ok = subprocess.run(
            cmd, env=_env(config, s3_server, "1"), cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert ok.returncode == 0, ok.stderr[-2000:]
