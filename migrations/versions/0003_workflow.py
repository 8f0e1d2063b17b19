"""workflow: longer event reasons (staff write sentences), an index of reports awaiting routing

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2  # noqa: F401  (kept for the chain's uniform imports)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("events", "reason", type_=sa.String(length=500),
                    existing_type=sa.String(length=60), existing_nullable=True)
    op.create_index("ix_reports_unrouted", "reports", ["created_at"],
                    postgresql_where=sa.text("unit_id IS NULL AND status IN ('submitted', 'reopened')"))


def downgrade() -> None:
    op.drop_index("ix_reports_unrouted", table_name="reports")
    op.alter_column("events", "reason", type_=sa.String(length=60),
                    existing_type=sa.String(length=500), existing_nullable=True)
