"""identity_views: the append-only audit of reads of a reporter's identity

Every reveal of a reporter's name, phone or e-mail by a dispatcher or admin writes one row
(who, when, which report, why) in the same transaction. A trigger refuses UPDATE, DELETE and
TRUNCATE, so the log is append-only in the database itself, not only in the code.

Revision ID: 0031_sc_identity_views
Revises: 0030_np_exports
"""
from alembic import op
import sqlalchemy as sa

revision = "0031_sc_identity_views"
down_revision = "0030_np_exports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_views",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("report_id", sa.BigInteger(), sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
    )
    op.create_index("ix_identity_views_report", "identity_views", ["report_id"])
    op.create_index("ix_identity_views_at", "identity_views", ["at"])
    op.execute("""
        CREATE FUNCTION identity_views_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'identity_views is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$""")
    op.execute("""
        CREATE TRIGGER identity_views_no_change BEFORE UPDATE OR DELETE ON identity_views
        FOR EACH ROW EXECUTE FUNCTION identity_views_append_only()""")
    op.execute("""
        CREATE TRIGGER identity_views_no_truncate BEFORE TRUNCATE ON identity_views
        FOR EACH STATEMENT EXECUTE FUNCTION identity_views_append_only()""")


def downgrade() -> None:
    op.drop_table("identity_views")
    op.execute("DROP FUNCTION IF EXISTS identity_views_append_only()")
