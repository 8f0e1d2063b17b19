"""citizen accounts: one-time sign-in codes, identity level, categories requiring sign-in

Revision ID: 0006_c12_citizen_accounts
Revises: 0019_zalo
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_c12_citizen_accounts"
down_revision = "0019_zalo"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otp_challenges")),
    )
    op.create_index("ix_otp_challenges_phone_created", "otp_challenges", ["phone", "created_at"])
    op.add_column("users", sa.Column("identity_level", sa.String(length=16), nullable=True))
    op.add_column("categories", sa.Column("signin_required", sa.Boolean(),
                                          server_default=sa.text("false"), nullable=False))


def downgrade() -> None:
    op.drop_column("categories", "signin_required")
    op.drop_column("users", "identity_level")
    op.drop_index("ix_otp_challenges_phone_created", table_name="otp_challenges")
    op.drop_table("otp_challenges")
