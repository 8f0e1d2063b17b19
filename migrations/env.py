"""Alembic environment: models' metadata, GeoAlchemy2 helpers, PostGIS ensured first."""
from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, text

from fieldreport.models import Base
from fieldreport.models.base import include_object

config = context.config
if config.config_file_name and not config.attributes.get("database_url"):
    fileConfig(config.config_file_name)

url = config.attributes.get("database_url") or os.environ.get(
    "FIELDREPORT_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport")


def run_migrations_online() -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
