"""What splitting the rollup detail rows by channel costs the indicator queries, same data, same run.

    python bench/generate.py --reports 20000 --days 365 --prepare --database-url URL
    python bench/generate_history.py --database-url URL --facts-only
    python bench/indicators_channel.py --database-url URL [--year 2026] [--repeat 7]

Times query.fetch() for a year by category, commune, channel and none with the rollups as
built (month/year detail rows per unit × category × commune × channel), then with the detail
rows collapsed over channels (as before group_by=channel) inside a transaction that is rolled
back, and prints the detail row counts and the ratio split ÷ collapsed (medians after a warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generate_history import _app  # noqa: E402
from sqlalchemy import text  # noqa: E402

KEYS = ("category_id", "area_id", None)
ROWS = "SELECT count(*) FROM indicator_rollups WHERE category_id <> 0"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--database-url", required=True)
    p.add_argument("--year", type=int, default=date.today().year)
    p.add_argument("--repeat", type=int, default=7)
    a = p.parse_args()
    from fieldreport.extensions import db
    from fieldreport.services.indicators import as_of, period
    from fieldreport.services.indicators.measures import COLUMNS, summed
    from fieldreport.services.indicators.query import fetch

    with _app(a.database_url).app_context():
        per = period("year", date(a.year, 1, 1))
        t = as_of(per)

        def timed(key) -> float:
            runs = []
            for _ in range(a.repeat + 1):
                start = time.perf_counter()
                fetch(per.start, per.end, t, key)
                runs.append(time.perf_counter() - start)
            return statistics.median(runs[1:]) * 1000

        split = {k: timed(k) for k in (*KEYS, "channel")}
        split_rows = db.session.execute(text(ROWS)).scalar()
        db.session.execute(
            text(f"""
            INSERT INTO indicator_rollups (grain, bucket, unit_id, category_id, area_id, channel, {", ".join(COLUMNS)})
            SELECT r.grain, r.bucket, r.unit_id, r.category_id, r.area_id, '', {summed(array_type="int[]")}
            FROM indicator_rollups r WHERE r.channel <> '' GROUP BY 1, 2, 3, 4, 5""")
        )
        db.session.execute(text("DELETE FROM indicator_rollups WHERE channel <> ''"))
        db.session.execute(text("ANALYZE indicator_rollups"))
        collapsed_rows = db.session.execute(text(ROWS)).scalar()
        collapsed = {k: timed(k) for k in KEYS}
        db.session.rollback()
    print(f"detail rows: split {split_rows:,}, collapsed {collapsed_rows:,} ({split_rows / collapsed_rows:.2f}×)")
    for k in KEYS:
        print(
            f"{k or 'none':12} split {split[k]:8.1f} ms   collapsed {collapsed[k]:8.1f} ms   "
            f"ratio {split[k] / collapsed[k]:.2f}"
        )
    print(f"{'channel':12} split {split['channel']:8.1f} ms")


if __name__ == "__main__":
    main()
