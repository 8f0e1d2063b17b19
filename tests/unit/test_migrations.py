"""Alembic `upgrade head` on an empty database gives exactly the models' schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from fieldreport.extensions import db
from fieldreport.models import Base
from fieldreport.models.base import include_object


def test_no_drift_between_models_and_migrations(app):
    # The session database was built by `alembic upgrade head` alone (see conftest).
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_spatial_indexes_exist(app):
    with db.engine.connect() as conn:
        rows = (
            conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'")).scalars().all()
        )
    assert {"ix_areas_geom", "ix_reports_location", "ix_routing_rules_scope"} <= set(rows)
