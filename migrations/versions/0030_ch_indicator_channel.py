"""indicators: the report's channel in the facts and the rollups (group_by=channel)

Facts get `channel` (reports.channel: app, web, hotline, counter, zalo, open311:<client>),
filled from the reports. Rollup detail rows (months and years by category and commune) are
split by channel too, so `channel` joins their key; unit totals and days keep channel ''.
The detail rows cannot be split without the facts, so when facts exist the rollups are
rebuilt from them here (the SQL of services/indicators/measures.py, as `rollups.rebuild_all`
runs it); an empty database (a fresh install, the tests) skips that.

Revision ID: 0030_ch_indicator_channel
Revises: 0030_sa_sign_in
"""
import os

import sqlalchemy as sa
from alembic import op

revision = "0030_ch_indicator_channel"
down_revision = "0030_sa_sign_in"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("indicator_facts", sa.Column("channel", sa.String(80), server_default="app", nullable=False))
    op.execute("UPDATE indicator_facts f SET channel = r.channel FROM reports r "
               "WHERE r.id = f.report_id AND f.channel IS DISTINCT FROM r.channel")
    op.add_column("indicator_rollups", sa.Column("channel", sa.String(80), server_default="", nullable=False))
    op.drop_constraint("pk_indicator_rollups", "indicator_rollups", type_="primary")
    op.create_primary_key("pk_indicator_rollups", "indicator_rollups",
                          ["grain", "bucket", "unit_id", "category_id", "area_id", "channel"])
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT EXISTS (SELECT 1 FROM indicator_facts)")).scalar():
        from fieldreport.services.indicators.measures import insert_rollups

        tz = os.environ.get("FIELDREPORT_TIMEZONE") or "Asia/Ho_Chi_Minh"
        op.execute("DELETE FROM indicator_rollups")
        for grain in "dmy":
            op.execute(insert_rollups(grain, tz))


def downgrade() -> None:
    from fieldreport.services.indicators.measures import COLUMNS, summed

    # Detail rows summed over their channels (category <> 0 rows never have channel '').
    op.execute(f"""
        INSERT INTO indicator_rollups (grain, bucket, unit_id, category_id, area_id, channel, {", ".join(COLUMNS)})
        SELECT r.grain, r.bucket, r.unit_id, r.category_id, r.area_id, '', {summed(array_type="int[]")}
        FROM indicator_rollups r WHERE r.channel <> '' GROUP BY 1, 2, 3, 4, 5""")
    op.execute("DELETE FROM indicator_rollups WHERE channel <> ''")
    op.drop_constraint("pk_indicator_rollups", "indicator_rollups", type_="primary")
    op.create_primary_key("pk_indicator_rollups", "indicator_rollups",
                          ["grain", "bucket", "unit_id", "category_id", "area_id"])
    op.drop_column("indicator_rollups", "channel")
    op.drop_column("indicator_facts", "channel")
