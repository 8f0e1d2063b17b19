"""sign-in without account locks; console sessions as their own kind of token

Failed sign-ins are throttled per (username, client) in Redis now, so the per-account counter
and lock go. A console sign-in is a server-side session: an auth_tokens row of kind "console"
whose id lives only in the console's cookie and which the API refuses as a bearer token.

Revision ID: 0030_sa_sign_in
Revises: 0006_i17_indicators_flows
"""
from alembic import op
import sqlalchemy as sa

revision = "0030_sa_sign_in"
down_revision = "0006_i17_indicators_flows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("users", "failed_logins")
    op.drop_column("users", "locked_until")
    op.add_column("auth_tokens", sa.Column("kind", sa.String(length=16), server_default="api",
                                           nullable=False))


def downgrade() -> None:
    op.drop_column("auth_tokens", "kind")
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
