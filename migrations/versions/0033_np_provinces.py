"""several provinces in one deployment: the province of each unit and of each report

Revision ID: 0033_np_provinces
Revises: 0032_sc_erasure
"""
from alembic import op
import sqlalchemy as sa

revision = "0033_np_provinces"
down_revision = "0032_sc_erasure"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("units", sa.Column("province_code", sa.String(length=8), nullable=True))
    op.create_index(op.f("ix_units_province_code"), "units", ["province_code"])
    op.add_column("reports", sa.Column("province_code", sa.String(length=8), nullable=True))
    op.execute("UPDATE reports r SET province_code = a.province_code FROM areas a WHERE a.id = r.area_id")
    op.create_index("ix_reports_province_created", "reports", ["province_code", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_province_created", table_name="reports")
    op.drop_column("reports", "province_code")
    op.drop_index(op.f("ix_units_province_code"), table_name="units")
    op.drop_column("units", "province_code")
