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
