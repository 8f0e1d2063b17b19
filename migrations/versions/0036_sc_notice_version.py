"""reports.notice_version: the privacy notice the reporter was shown (Decree 13/2023)

Revision ID: 0036_sc_notice_version
Revises: 0035_pf_queue_index
"""
from alembic import op
import sqlalchemy as sa

revision = "0036_sc_notice_version"
down_revision = "0035_pf_queue_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("notice_version", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column("reports", "notice_version")
