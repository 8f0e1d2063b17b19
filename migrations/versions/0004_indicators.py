"""indicators: per-(report, unit) facts, their rollups, and the trigger-fed refresh queue

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TSTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "indicator_facts",
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("received_at", TSTZ, nullable=False),
        sa.Column("received_day", sa.Date(), nullable=False),
        sa.Column("left_at", TSTZ, nullable=True),
        sa.Column("away_from", postgresql.ARRAY(TSTZ), server_default="{}", nullable=False),
        sa.Column("away_to", postgresql.ARRAY(TSTZ), server_default="{}", nullable=False),
        sa.Column("due_at", TSTZ, nullable=True),
        sa.Column("answered_at", TSTZ, nullable=True),
        sa.Column("answer_kind", sa.String(length=12), nullable=True),
        sa.Column("handling_wh", sa.Float(), nullable=True),
        sa.Column("handling_ch", sa.Float(), nullable=True),
        sa.Column("first_response_at", TSTZ, nullable=True),
        sa.Column("first_response_wh", sa.Float(), nullable=True),
        sa.Column("first_response_ch", sa.Float(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("rated_at", TSTZ, nullable=True),
        sa.Column("reopened_at", TSTZ, nullable=True),
        sa.Column("auto_routed", sa.Boolean(), nullable=False),
        sa.Column("settle_day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("report_id", "unit_id", name=op.f("pk_indicator_facts")),
    )
    op.create_index("ix_indicator_facts_unit_day", "indicator_facts", ["unit_id", "received_day"])
    op.create_index("ix_indicator_facts_day", "indicator_facts", ["received_day"])
    op.create_index("ix_indicator_facts_span", "indicator_facts",
                    [sa.text("daterange(received_day + 1, settle_day + 1)")], postgresql_using="gist")
    op.create_index("ix_indicator_facts_unit_settle", "indicator_facts",
                    ["unit_id", sa.text("coalesce(settle_day, 'infinity'::date)"), "received_day"])

    counts = ["received", "reports", "on_time", "late", "answered", "resolved", "rejected",
              "answered_late", "transfers", "auto_routed", "fr_n"]
    op.create_table(
        "indicator_rollups",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("bucket", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in counts],
        sa.Column("fr_wh_sum", sa.Float(), nullable=False),
        sa.Column("fr_ch_sum", sa.Float(), nullable=False),
        sa.Column("ht_n", sa.Integer(), nullable=False),
        sa.Column("ht_wh_sum", sa.Float(), nullable=False),
        sa.Column("ht_ch_sum", sa.Float(), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False)
          for c in ["rated", "r1", "r2", "r3", "r4", "r5", "reopened", "dissatisfied"]],
        *[sa.Column(c, postgresql.ARRAY(sa.Integer()), nullable=False)
          for c in ["fr_wh_hist", "fr_ch_hist", "ht_wh_hist", "ht_ch_hist"]],
        sa.PrimaryKeyConstraint("grain", "bucket", "unit_id", "category_id", "area_id",
                                name=op.f("pk_indicator_rollups")),
    )

    op.create_index("ix_indicator_rollups_unit", "indicator_rollups", ["unit_id", "grain", "bucket"])

    op.create_table(
        "indicator_dirty",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("marked_at", TSTZ, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_dirty")),
    )
    # Statement-level, so a bulk COPY of events costs one INSERT … SELECT DISTINCT.
    op.execute("""
        CREATE FUNCTION indicator_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO indicator_dirty (report_id)
            SELECT DISTINCT report_id FROM new_events;
          RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER events_mark_indicator_dirty AFTER INSERT ON events
        REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT
        EXECUTE FUNCTION indicator_mark_dirty()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS events_mark_indicator_dirty ON events")
    op.execute("DROP FUNCTION IF EXISTS indicator_mark_dirty()")
    op.drop_table("indicator_dirty")
    op.drop_index("ix_indicator_rollups_unit", table_name="indicator_rollups")
    op.drop_table("indicator_rollups")
    op.drop_index("ix_indicator_facts_unit_settle", table_name="indicator_facts")
    op.drop_index("ix_indicator_facts_span", table_name="indicator_facts")
    op.drop_index("ix_indicator_facts_day", table_name="indicator_facts")
    op.drop_index("ix_indicator_facts_unit_day", table_name="indicator_facts")
    op.drop_table("indicator_facts")
