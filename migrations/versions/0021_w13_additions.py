"""supporters' additions: a "me too" citizen's photos and note kept on the report they joined

Revision ID: 0021_w13_additions
Revises: 0007_c12_subscriptions
"""
from alembic import op
import sqlalchemy as sa

revision = "0021_w13_additions"
down_revision = "0007_c12_subscriptions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_additions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("follower_key", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_report_additions_report_id_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_additions")),
    )
    op.create_index(op.f("ix_report_additions_report_id"), "report_additions", ["report_id"])
    op.add_column("photos", sa.Column("addition_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_photos_addition_id_report_additions"), "photos", "report_additions",
                          ["addition_id"], ["id"])
    op.create_index(op.f("ix_photos_addition_id"), "photos", ["addition_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_photos_addition_id"), table_name="photos")
    op.drop_constraint(op.f("fk_photos_addition_id_report_additions"), "photos", type_="foreignkey")
    op.drop_column("photos", "addition_id")
    op.drop_index(op.f("ix_report_additions_report_id"), table_name="report_additions")
    op.drop_table("report_additions")
