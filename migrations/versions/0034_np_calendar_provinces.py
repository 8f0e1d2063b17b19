"""a province's own calendar days: calendar_days keyed by (day, province_code), '' = every province

Revision ID: 0034_np_calendar_provinces
Revises: 0033_np_provinces
"""
from alembic import op
import sqlalchemy as sa

revision = "0034_np_calendar_provinces"
down_revision = "0033_np_provinces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calendar_days", sa.Column("province_code", sa.String(length=8), server_default="",
                                             nullable=False))
    op.drop_constraint("pk_calendar_days", "calendar_days", type_="primary")
    op.create_primary_key("pk_calendar_days", "calendar_days", ["day", "province_code"])


def downgrade() -> None:
    op.execute("DELETE FROM calendar_days WHERE province_code <> ''")
    op.drop_constraint("pk_calendar_days", "calendar_days", type_="primary")
    op.create_primary_key("pk_calendar_days", "calendar_days", ["day"])
    op.drop_column("calendar_days", "province_code")
