"""Bulk-generate realistic reports with their history, photos and followers, loaded with COPY.

    python bench/generate.py --reports 1000000 --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench [--seed 1] [--communes 24133,24121] [--days 365] [--prepare]

As a library: generate(n_reports, communes=None, seed=0, database_url=..., days=365, now=None).
The database must be migrated and seeded with the Đắk Lắk demo (`--prepare` does both).
What is generated, per report (deterministic for a seed):
- a place in a commune drawn by population (wards weigh more), clustered around its centre;
- a category by real-world frequency, a unit by the seeded routing rules (the rule that the
  commune's label point matches), due times in working time (fieldreport.worktime);
- a life: submitted → assigned (sometimes to another unit first, which transfers it on, now
  and then after its own due) → accepted (sometimes extended, sometimes paused for
  information) → resolved → rated/closed, or rejected / duplicate / reopened, each step an
  Event row recording its limit as the workflow does, with each unit's own on-time rate,
  dues counted with the announced days of calendar_days; reports whose next step lies in
  the future stay open.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import multiprocessing
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import psycopg2  # noqa: E402
import shapely  # noqa: E402
from shapely import wkb  # noqa: E402

from bench.lifecycle import life as _life  # noqa: E402
from fieldreport.services.intake import CODE_ALPHABET, CODE_LENGTH  # noqa: E402
from fieldreport.worktime import Calendar, parse_office_hours  # noqa: E402

CATEGORY_WEIGHTS = {
    "rubbish": 18,
    "road_damage": 15,
    "street_light": 14,
    "pavement_encroachment": 10,
    "illegal_dumping": 8,
    "flooding": 8,
    "noise": 6,
    "power_outage": 5,
    "fallen_tree": 4,
    "illegal_construction": 4,
    "traffic_signal": 3,
    "pollution": 3,
    "other": 2,
}
DESCRIPTIONS = [
    "Cần xử lý sớm, ảnh hưởng người đi đường.",
    "Tình trạng kéo dài nhiều ngày.",
    "Người dân khu phố phản ánh nhiều lần.",
    "Gây mất an toàn vào ban đêm.",
    "Đề nghị cơ quan chức năng kiểm tra.",
]
# Where reports come from (group_by=channel): one draw per report whatever the list, so the
# rest of the generated data does not change with it.
CHANNELS = ["app", "web", "hotline", "counter", "zalo", "open311:demo-open311-client"]
CHANNEL_WEIGHTS = [55, 10, 15, 5, 5, 10]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Y Bhăm Niê"]
REPORT_COLUMNS = (
    "id",
    "code",
    "citizen_token_hash",
    "category_id",
    "status",
    "description",
    "address_hint",
    "attributes",
    "location",
    "accuracy_m",
    "location_source",
    "area_id",
    "unit_id",
    "reporter_name",
    "reporter_phone",
    "channel",
    "created_at",
    "updated_at",
    "assigned_at",
    "accepted_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "due_at",
    "indicator_due_at",
    "citizen_due_at",
    "paused_at",
    "public_answer",
    "reject_reason",
    "parent_id",
    "followers_count",
    "reopen_count",
    "transfer_count",
    "manually_triaged",
    "rating",
    "rating_comment",
    "rated_at",
    "routing",
)
EVENT_COLUMNS = (
    "report_id",
    "at",
    "type",
    "actor",
    "from_status",
    "to_status",
    "from_unit_id",
    "to_unit_id",
    "reason",
    "note",
    "public",
    "data",
)
PHOTO_COLUMNS = (
    "id",
    "report_id",
    "kind",
    "sha256",
    "key",
    "mime",
    "size_bytes",
    "width",
    "height",
    "display_key",
    "thumb_key",
    "created_at",
)
FOLLOWER_COLUMNS = ("report_id", "follower_key", "created_at")


def dsn(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg2://", "postgresql://")


@dataclass
class Commune:
    id: int
    code: str
    weight: float
    geom: object
    label: tuple[float, float]
    spread: float


class World:
    """What the database already holds: communes, categories, units and who owns what."""

    def __init__(self, cur, communes: list[str] | None, province: str = "66") -> None:
        cur.execute("SELECT id, code, deadline_amount, deadline_unit, is_other FROM categories WHERE active")
        self.categories = {code: (cid, amount, unit, other) for cid, code, amount, unit, other in cur.fetchall()}
        cur.execute("SELECT code, id FROM units")
        self.units = dict(cur.fetchall())
        where = "code = ANY(%s)" if communes else "province_code = %s"
        cur.execute(
            f"SELECT id, code, kind, coalesce(population, 0), ST_AsBinary(geom), ST_X(label), ST_Y(label) "
            f"FROM areas WHERE level = 'commune' AND {where} ORDER BY code",
            (communes or province,),
        )
        self.communes = []
        for aid, code, kind, population, geom, lx, ly in cur.fetchall():
            shape = wkb.loads(bytes(geom))
            shapely.prepare(shape)
            urban = 3.0 if (kind or "").startswith("Phường") else 1.0
            minx, miny, maxx, maxy = shape.bounds
            self.communes.append(
                Commune(aid, code, max(population, 1000) * urban, shape, (lx, ly), max(maxx - minx, maxy - miny) / 6)
            )
        if not self.communes:
            raise SystemExit("no communes: migrate and seed the database first (--prepare)")
        self.owner = self._owners(cur)
        self.dispatcher = self.units.get("IOC-66")

    def _owners(self, cur) -> dict[tuple[int, int], int]:
        """The unit of each (commune, category): the routing rule its label point matches."""
        owners = {}
        for c in self.communes:
            for code, (cid, _, _, other) in self.categories.items():
                if other:
                    owners[(c.id, cid)] = self.units.get("IOC-66")
                    continue
                cur.execute(
                    "SELECT rr.unit_id FROM routing_rules rr LEFT JOIN areas a ON a.id = rr.area_id "
                    "WHERE rr.active AND (rr.category_id = %s OR rr.category_id IS NULL) "
                    "AND ST_Intersects(coalesce(rr.scope, a.geom), ST_SetSRID(ST_MakePoint(%s, %s), 4326)) "
                    "ORDER BY rr.priority DESC, rr.scope_area_m2 ASC NULLS LAST, rr.id LIMIT 1",
                    (cid, *c.label),
                )
                row = cur.fetchone()
                owners[(c.id, cid)] = row[0] if row else self.units.get("IOC-66")
        return owners


def _points(commune: Commune, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """60 % clustered around the commune centre (streets, markets), 40 % anywhere in it."""
    out: list[tuple[float, float]] = []
    minx, miny, maxx, maxy = commune.geom.bounds
    while len(out) < n:
        m = max(64, (n - len(out)) * 2)
        near = rng.random(m) < 0.6
        xs = np.where(near, rng.normal(commune.label[0], commune.spread, m), rng.uniform(minx, maxx, m))
        ys = np.where(near, rng.normal(commune.label[1], commune.spread, m), rng.uniform(miny, maxy, m))
        inside = shapely.contains_xy(commune.geom, xs, ys)
        out += list(zip(xs[inside].tolist(), ys[inside].tolist()))
    return out[:n]


class Writer:
    """CSV buffers for one COPY batch."""

    def __init__(self) -> None:
        self.buffers = {name: io.StringIO() for name in ("reports", "events", "photos", "followers")}
        self.writers = {name: csv.writer(buf) for name, buf in self.buffers.items()}

    def row(self, table: str, values) -> None:
        self.writers[table].writerow(["" if v is None else v for v in values])

    @staticmethod
    def copy(cur, buffers: dict[str, str]) -> None:
        columns = {
            "reports": REPORT_COLUMNS,
            "events": EVENT_COLUMNS,
            "photos": PHOTO_COLUMNS,
            "followers": FOLLOWER_COLUMNS,
        }
        # The rows are consistent by construction: skip per-row foreign-key checks (and triggers,
        # whose one effect, marking indicators dirty, generate() redoes in one statement).
        cur.execute("SET LOCAL session_replication_role = replica")
        for table in ("reports", "events", "photos", "followers"):
            cur.copy_expert(
                f"COPY {table} ({', '.join(columns[table])}) FROM STDIN WITH (FORMAT csv)", io.StringIO(buffers[table])
            )


_CODE_MULT = 0x2F0B_3A5C_9D17  # odd: id → id * m mod 2**50 is a bijection, so codes never collide


def code_for(rid: int, seed: int) -> str:
    """A random-looking, unique tracking code for a generated id (same alphabet as real ones)."""
    n = (rid * _CODE_MULT + seed * 0x1_0000_0001) % (1 << 50)
    return "".join(CODE_ALPHABET[(n >> (5 * k)) & 31] for k in range(CODE_LENGTH))


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _reserve(cur, table: str, n: int) -> int:
    """Reserve n ids of a table's sequence; returns the first."""
    cur.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')")
    seq = cur.fetchone()[0]
    cur.execute(f"SELECT greatest((SELECT coalesce(max(id), 0) FROM {table}), (SELECT last_value FROM {seq}))")
    first = cur.fetchone()[0] + 1
    cur.execute("SELECT setval(%s, %s)", (seq, first + n))
    return first


_JOB: dict = {}  # what the forked batch workers inherit


def generate(
    n_reports: int,
    communes: list[str] | None = None,
    seed: int = 0,
    *,
    database_url: str,
    days: int = 365,
    now: datetime | None = None,
    batch: int = 20_000,
    workers: int | None = None,
    progress=print,
) -> dict:
    """Add n_reports generated reports (plus events, photos, followers) to the database.

    Batches are built in forked worker processes (deterministic per seed and batch) while the
    parent COPYs the previous one.
    """
    now = now or datetime.now(UTC)
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    conn = psycopg2.connect(dsn(database_url))
    cur = conn.cursor()
    world = World(cur, communes)
    per_commune = nrng.multinomial(
        n_reports, np.array([c.weight for c in world.communes]) / sum(c.weight for c in world.communes)
    )
    places = []
    for commune, k in zip(world.communes, per_commune):
        places += [(commune, p) for p in _points(commune, int(k), nrng)]
    rng.shuffle(places)
    cat_codes = [c for c in CATEGORY_WEIGHTS if c in world.categories]
    cur.execute("SELECT day, kind FROM calendar_days")  # the announced swap and make-up days
    announced = cur.fetchall()
    _JOB.update(
        world=world,
        places=places,
        now=now,
        days=days,
        seed=seed,
        batch=batch,
        cal=Calendar(
            office_hours=parse_office_hours("07:30-11:30,13:30-17:00"),
            extra_days_off={d for d, k in announced if k == "off"},
            makeup_days={d for d, k in announced if k == "work"},
        ),
        cat_codes=cat_codes,
        cat_weights=[CATEGORY_WEIGHTS[c] for c in cat_codes],
        ontime={uid: rng.uniform(0.55, 0.95) for uid in set(world.owner.values()) | {world.dispatcher}},
        first_id=_reserve(cur, "reports", n_reports),
        first_photo=_reserve(cur, "photos", 2 * n_reports + 10),
    )  # at most 2 photos each
    conn.commit()
    t0, made = time.time(), 0
    counts = {"reports": 0, "events": 0, "photos": 0, "followers": 0}
    batches = range((n_reports + batch - 1) // batch)
    with multiprocessing.get_context("fork").Pool(workers or os.cpu_count()) as pool:
        for buffers, got in pool.imap(_batch, [(b, min(batch, n_reports - b * batch)) for b in batches]):
            Writer.copy(cur, buffers)
            conn.commit()
            for k in counts:
                counts[k] += got[k]
            made += got["reports"]
            progress(f"  {made:,}/{n_reports:,} reports ({made / (time.time() - t0):,.0f}/s)")
    conn.autocommit = True
    first, last = _JOB["first_id"], _JOB["first_id"] + n_reports - 1
    cur.execute("SELECT to_regclass('indicator_dirty')")
    if cur.fetchone()[0]:  # what the events trigger (skipped during the COPY) would have done
        cur.execute(
            "INSERT INTO indicator_dirty (report_id) SELECT id FROM reports WHERE id BETWEEN %s AND %s "
            "ON CONFLICT DO NOTHING",
            (first, last),
        )
    for table in ("reports", "events", "photos", "followers"):
        cur.execute(f"ANALYZE {table}")
    conn.close()
    counts["first_id"], counts["last_id"] = first, last
    counts["seconds"] = round(time.time() - t0, 1)
    return counts


def _batch(job: tuple[int, int]) -> tuple[dict, dict]:
    """Build one batch's CSV text in a worker process."""
    b, size = job
    j = _JOB
    rng = random.Random(j["seed"] * 1_000_003 + b)
    w = Writer()
    counts = {"reports": 0, "events": 0, "photos": 0, "followers": 0}
    photo_id = j["first_photo"] + 2 * b * j["batch"]
    for i in range(b * j["batch"], b * j["batch"] + size):
        rid = j["first_id"] + i
        commune, (lon, lat) = j["places"][i]
        cat = rng.choices(j["cat_codes"], j["cat_weights"])[0]
        life = _life(rng, j["cal"], j["world"], j["ontime"], commune, cat, j["now"], j["days"], rid, j["first_id"])
        followers = int(rng.expovariate(1.2)) + 1 if rng.random() < 0.25 else 0
        _write_report(
            w,
            rng,
            rid,
            code_for(rid, j["seed"]),
            j["world"].categories[cat][0],
            commune,
            lon,
            lat,
            life,
            followers,
            counts,
        )
        photo_id = _write_extras(w, rng, rid, life, photo_id, followers, counts)
    return {name: buf.getvalue() for name, buf in w.buffers.items()}, counts


def _write_report(w, rng, rid, code, cid, commune, lon, lat, st, followers, counts) -> None:
    ev = st["events"]
    named = rng.random() < 0.7
    first_response = st.get("accepted_at")
    w.row(
        "reports",
        (
            rid,
            code,
            hashlib.sha256(f"{code}-token".encode()).hexdigest(),
            cid,
            st["status"],
            rng.choice(DESCRIPTIONS),
            None,
            "{}",
            f"SRID=4326;POINT({lon:.7f} {lat:.7f})",
            round(rng.uniform(3, 30), 1),
            "device",
            commune.id,
            st["unit"],
            rng.choice(NAMES) if named else None,
            f"09{rng.randrange(10**8):08d}" if named else None,
            rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
            _iso(st["created"]),
            _iso(ev[-1][1]),
            _iso(st.get("assigned_at")),
            _iso(st.get("accepted_at")),
            _iso(first_response),
            _iso(st.get("resolved_at")),
            _iso(st.get("closed_at")),
            _iso(st.get("due")),
            _iso(st.get("due")),
            _iso(st.get("citizen_due")),
            _iso(st.get("paused_at")),
            st.get("answer") if st.get("resolved_at") else None,
            st.get("reject"),
            st.get("parent"),
            followers,
            st["reopens"],
            st["transfers"],
            "f",
            st["rating"],
            None,
            _iso(st["closed_at"]) if st["rating"] else None,
            json.dumps({"generated": True}) if st["unit"] else None,
        ),
    )
    counts["reports"] += 1
    for kind, at, actor, frm, to, fu, tu, reason, note, data in ev:
        w.row(
            "events",
            (rid, _iso(at), kind, actor, frm, to, fu, tu, reason, note, "t", json.dumps(data) if data else "{}"),
        )
    counts["events"] += len(ev)


def _write_extras(w, rng, rid, st, photo_id, followers, counts) -> int:
    for _ in range(rng.choices([0, 1, 2], [35, 50, 15])[0]):
        sha = hashlib.sha256(f"{rid}-{photo_id}".encode()).hexdigest()
        w.row(
            "photos",
            (
                photo_id,
                rid,
                "before",
                sha,
                f"orig/{sha}",
                "image/jpeg",
                rng.randrange(800_000, 3_000_000),
                4032,
                3024,
                f"pub/{photo_id}/display.jpg",
                f"pub/{photo_id}/thumb.jpg",
                _iso(st["created"]),
            ),
        )
        photo_id += 1
        counts["photos"] += 1
    for k in range(followers):
        w.row("followers", (rid, hashlib.sha256(f"{rid}-f{k}".encode()).hexdigest()[:32], _iso(st["created"])))
    counts["followers"] += followers
    return photo_id


def prepare(database_url: str, fresh: bool = False) -> None:
    """Create the database if missing, migrate it and seed the demo (idempotent)."""
    base, name = database_url.rsplit("/", 1)
    conn = psycopg2.connect(dsn(base) + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        if fresh:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    from alembic import command

    from config.settings import TestConfig
    from fieldreport import create_app
    from fieldreport.cli import alembic_config
    from fieldreport.services.demo import seed_demo

    cfg = TestConfig()
    cfg.DATABASE_URL, cfg.S3_SECRET_KEY = database_url, cfg.S3_SECRET_KEY or "unused"
    app = create_app(cfg)
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        seed_demo(cfg.DEMO_PASSWORD, cfg.SECRET_KEY)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reports", type=int, required=True)
    p.add_argument("--database-url", required=True)
    p.add_argument("--communes", help="comma list of commune codes (default: the whole province)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--prepare", action="store_true", help="create, migrate and seed the database first")
    a = p.parse_args()
    if a.prepare:
        prepare(a.database_url)
    counts = generate(
        a.reports, a.communes.split(",") if a.communes else None, a.seed, database_url=a.database_url, days=a.days
    )
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
