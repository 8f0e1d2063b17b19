"""identity_views also records account acts: who created, deactivated, reactivated an account or
reset its password, when, and why

One append-only audit log rather than two: the acts of administrators on accounts go to the
table of identity reads (its trigger already refuses UPDATE, DELETE and TRUNCATE). A row is
either an identity read (action "identity_view", report_id set) or an account act (action
"account.*", subject_user_id set); acts done with the flask CLI have no signed-in user
(user_id NULL, actor "cli:<system user>").

Revision ID: 0037_sa_account_acts
Revises: 0036_sc_notice_version
"""
from alembic import op
import sqlalchemy as sa

revision = "0037_sa_account_acts"
down_revision = "0036_sc_notice_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default fills existing rows without an UPDATE (no trigger fires).
    op.add_column("identity_views", sa.Column("action", sa.String(length=40), nullable=False,
                                              server_default="identity_view"))
    op.add_column("identity_views", sa.Column("subject_user_id", sa.Integer(),
                                              sa.ForeignKey("users.id"), nullable=True))
    op.add_column("identity_views", sa.Column("detail", sa.String(length=200), nullable=True))
    op.alter_column("identity_views", "report_id", nullable=True)
    op.alter_column("identity_views", "user_id", nullable=True)
    op.create_check_constraint("ck_identity_views_subject", "identity_views",
                               "(action = 'identity_view') = (report_id IS NOT NULL)"
                               " AND (action LIKE 'account.%') = (subject_user_id IS NOT NULL)")
    op.create_index("ix_identity_views_subject", "identity_views", ["subject_user_id"])


def downgrade() -> None:
    # Account acts cannot be deleted (the trigger); a downgrade keeps them out of sight only
    # if none exist, so it refuses otherwise rather than losing the log.
    op.drop_index("ix_identity_views_subject", "identity_views")
    op.drop_constraint("ck_identity_views_subject", "identity_views")
    op.alter_column("identity_views", "user_id", nullable=False)
    op.alter_column("identity_views", "report_id", nullable=False)
    op.drop_column("identity_views", "detail")
    op.drop_column("identity_views", "subject_user_id")
    op.drop_column("identity_views", "action")
