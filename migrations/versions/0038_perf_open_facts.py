"""indicator_facts: a partial covering index of the facts still open (no settle day)

A table as of "now" (every dashboard's current period) reads the open facts (its stock, and
the flows of its last days): scattered among the settled ones, they cost a heap page each
(19,000 pages for 35,000 open facts at 1,000,000 reports); this index holds what the
measures read, so it is read alone.

Revision ID: 0038_perf_open_facts
Revises: 0037_sa_account_acts
"""
from alembic import op
import sqlalchemy as sa

revision = "0038_perf_open_facts"
down_revision = "0037_sa_account_acts"
branch_labels = None
depends_on = None

# What the measures read of a fact (models/rollup.py OPEN_INCLUDE, as of this revision).
INCLUDE = ["area_id", "category_id", "channel", "received_at", "first_response_at", "left_at", "away_from", "away_to",
           "answered_at", "answer_kind", "handed_late_at", "due_at", "rated_at", "rating", "reopened_at", "auto_routed",
           "first_response_wh", "first_response_ch", "handling_wh", "handling_ch"]


def upgrade() -> None:
    op.create_index("ix_indicator_facts_open", "indicator_facts", ["unit_id", "received_day"],
                    postgresql_include=INCLUDE, postgresql_where=sa.text("settle_day IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_indicator_facts_open", table_name="indicator_facts")
