"""reports.erased_at/erased_by/erased_reason: personal-data erasure, by request or retention

Revision ID: 0032_sc_erasure
Revises: 0031_sc_identity_views
"""
from alembic import op
import sqlalchemy as sa

revision = "0032_sc_erasure"
down_revision = "0031_sc_identity_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reports", sa.Column("erased_by", sa.String(length=120), nullable=True))
    op.add_column("reports", sa.Column("erased_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column("reports", "erased_reason")
    op.drop_column("reports", "erased_by")
    op.drop_column("reports", "erased_at")
