"""open311: updates received from external systems (idempotent by update_id), keys bound to units

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("unit_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_api_keys_unit_id_units"), "api_keys", "units", ["unit_id"], ["id"])
    op.create_table(
        "open311_updates",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.String(length=100), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"],
                                name=op.f("fk_open311_updates_api_key_id_api_keys")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_open311_updates_event_id_events")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"],
                                name=op.f("fk_open311_updates_report_id_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_updates")),
        sa.UniqueConstraint("api_key_id", "update_id", name="uq_open311_updates_key_update"),
    )
    op.create_index(op.f("ix_open311_updates_report_id"), "open311_updates", ["report_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_open311_updates_report_id"), table_name="open311_updates")
    op.drop_table("open311_updates")
    op.drop_constraint(op.f("fk_api_keys_unit_id_units"), "api_keys", type_="foreignkey")
    op.drop_column("api_keys", "unit_id")
