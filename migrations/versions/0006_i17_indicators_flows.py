"""indicators: lateness carried on by a hand-on after the due; the announced swap and make-up days 2025–2027

Facts get `handed_late_at` (the first hand-on after the due by a unit that had not answered
by then). Every fact is queued for recomputation: rollups now sum flows dated by their
event (receipts, outcomes, answers, hand-ons, ratings, reopenings), not final states by
receipt day. The working calendar gets the days the government announced (docs/indicators.md
lists each with its source); admins may still edit or delete them.

Revision ID: 0006_i17_indicators_flows
Revises: 0021_w13_additions
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_i17_indicators_flows"
down_revision = "0021_w13_additions"
branch_labels = None
depends_on = None

# (day, kind, note): kind "off" is a weekday off, "work" a make-up Saturday. The note names
# the announcement; docs/indicators.md has the links. Civil servants' schedule (the one the
# indicators use); 2027 has no announced swap yet (its Tết days are statutory weekdays).
ANNOUNCED = [
    ("2025-04-26", "work", "Làm bù cho thứ Sáu 2/5/2025 (lễ 30/4–1/5) — TB của Bộ LĐ-TB&XH theo ý kiến Thủ tướng, 11/2024"),
    ("2025-05-02", "off", "Nghỉ hoán đổi lễ 30/4–1/5/2025, làm bù thứ Bảy 26/4 — TB của Bộ LĐ-TB&XH, 11/2024"),
    ("2026-01-02", "off", "Nghỉ hoán đổi Tết Dương lịch 2026, làm bù thứ Bảy 10/1 — Phó Thủ tướng đồng ý đề xuất của Bộ Nội vụ, 25/12/2025"),
    ("2026-01-10", "work", "Làm bù cho thứ Sáu 2/1/2026 (Tết Dương lịch) — Phó Thủ tướng đồng ý đề xuất của Bộ Nội vụ, 25/12/2025"),
    ("2026-08-22", "work", "Làm bù cho thứ Hai 31/8/2026 (Quốc khánh) — Thông báo của Bộ Nội vụ, 10/2025"),
    ("2026-08-31", "off", "Nghỉ hoán đổi dịp Quốc khánh 2026, làm bù thứ Bảy 22/8 — Thông báo của Bộ Nội vụ, 10/2025"),
]


def upgrade() -> None:
    op.add_column("indicator_facts", sa.Column("handed_late_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("INSERT INTO indicator_dirty (report_id) SELECT DISTINCT report_id FROM indicator_facts")
    bind = op.get_bind()
    for day, kind, note in ANNOUNCED:  # an admin's own row for that day wins
        bind.execute(sa.text("INSERT INTO calendar_days (day, kind, note) VALUES (CAST(:d AS date), :k, :n) "
                             "ON CONFLICT (day) DO NOTHING"), {"d": day, "k": kind, "n": note})
    # Dues around these days move: recompute the reports they touch (all of them, above).


def downgrade() -> None:
    bind = op.get_bind()
    for day, kind, note in ANNOUNCED:
        bind.execute(sa.text("DELETE FROM calendar_days WHERE day = CAST(:d AS date) AND kind = :k AND note = :n"),
                     {"d": day, "k": kind, "n": note})
    op.drop_column("indicator_facts", "handed_late_at")
