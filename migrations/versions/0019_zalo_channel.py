"""zalo channel: webhook messages (de-duplicated by msg_id) and per-user conversations

Revision ID: 0019_zalo
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0019_zalo"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zalo_messages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("msg_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("event_name", sa.String(length=40), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zalo_messages")),
        sa.UniqueConstraint("msg_id", name=op.f("uq_zalo_messages_msg_id")),
    )
    op.create_index(op.f("ix_zalo_messages_user_id"), "zalo_messages", ["user_id"])
    op.create_table(
        "zalo_conversations",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_zalo_conversations")),
    )


def downgrade() -> None:
    op.drop_table("zalo_conversations")
    op.drop_index(op.f("ix_zalo_messages_user_id"), table_name="zalo_messages")
    op.drop_table("zalo_messages")
