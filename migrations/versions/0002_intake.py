"""intake: index for the public map of open reports, and for purging idempotency keys

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN = "status IN ('submitted', 'assigned', 'in_progress', 'awaiting_info', 'reopened')"


def upgrade() -> None:
    op.create_index("ix_reports_open_created", "reports", ["created_at"], unique=False,
                    postgresql_where=sa.text(OPEN))
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created", table_name="idempotency_keys")
    op.drop_index("ix_reports_open_created", table_name="reports", postgresql_where=sa.text(OPEN))
