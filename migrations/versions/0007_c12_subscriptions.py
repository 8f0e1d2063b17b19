"""notification subscriptions per report and channel (Web Push, SMS, e-mail)

Revision ID: 0007_c12_subscriptions
Revises: 0020_p14_open_map_index
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0007_c12_subscriptions"
down_revision = "0020_p14_open_map_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=False),
        sa.Column("keys", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"],
                                name=op.f("fk_subscriptions_report_id_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("report_id", "channel", "address",
                            name="uq_subscriptions_report_channel_address"),
    )
    op.create_index(op.f("ix_subscriptions_report_id"), "subscriptions", ["report_id"])
    op.add_column("notifications", sa.Column("subscription_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_notifications_subscription_id_subscriptions"), "notifications",
                          "subscriptions", ["subscription_id"], ["id"])


def downgrade() -> None:
    op.drop_constraint(op.f("fk_notifications_subscription_id_subscriptions"), "notifications",
                       type_="foreignkey")
    op.drop_column("notifications", "subscription_id")
    op.drop_index(op.f("ix_subscriptions_report_id"), table_name="subscriptions")
    op.drop_table("subscriptions")
