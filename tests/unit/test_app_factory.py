"""The app factory wires config, extensions and blueprints, and checks required secrets."""

import pytest

from config.settings import Config
from fieldreport import create_app


def test_factory_uses_given_config(app, config):
    assert app.config["TESTING"] is True
    assert app.config["DATABASE_URL"] == config.DATABASE_URL
    assert {"db", "queues", "storage"} <= set(app.extensions)
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert {"/healthz", "/readyz", "/metrics", "/api/v1/categories", "/api/v1/openapi.json"} <= rules


def test_factory_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("FIELDREPORT_SECRET_KEY", raising=False)
    monkeypatch.delenv("FIELDREPORT_S3_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="FIELDREPORT_SECRET_KEY"):
        create_app(Config())


def test_config_reads_environment(monkeypatch):
    monkeypatch.setenv("FIELDREPORT_PHOTO_MAX_COUNT", "3")
    monkeypatch.setenv("FIELDREPORT_S3_SECURE", "true")
    cfg = Config()
    assert cfg.PHOTO_MAX_COUNT == 3 and cfg.S3_SECURE is True


def test_cli_commands_are_module_functions_registered_by_the_factory(app):
    """flaskr's shape: each command is a click command of fieldreport.cli; create_app adds them,
    and Flask runs them with the application context (db-upgrade reads current_app.config)."""
    from fieldreport import cli

    assert {c.name for c in cli.COMMANDS} <= set(app.cli.commands)
    assert all(app.cli.commands[c.name] is c for c in cli.COMMANDS)
    out = app.test_cli_runner().invoke(args=["db-upgrade"])
    assert out.exit_code == 0 and "database at head" in out.output
