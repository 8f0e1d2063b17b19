"""The staff queue: a unit's open reports, soonest due first, from a partial index.

Revision ID: 0035_pf_queue_index
Revises: 0034_np_calendar_provinces
"""
from alembic import op

revision = "0035_pf_queue_index"
down_revision = "0034_np_calendar_provinces"
branch_labels = None
depends_on = None

OPEN = "status IN ('submitted', 'assigned', 'in_progress', 'awaiting_info', 'reopened')"


def upgrade() -> None:
    # At 1M reports a ward's 2,000 open reports were read from 2,000 heap pages and sorted
    # for a page of 25 (32 ms of SQL, 87 ms for the queue); in due order from this index the
    # page reads 25 rows (0.3 ms). bench/all.py, section "staff".
    op.create_index("ix_reports_open_unit_due", "reports", ["unit_id", "due_at", "id"],
                    postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_reports_open_unit_due", table_name="reports")
