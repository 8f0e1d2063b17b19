"""import-areas on the real Đắk Lắk file: counts, idempotency, point-in-polygon, repairs."""

import json

from sqlalchemy import func, select

from fieldreport.models import Area
from fieldreport.services.areas import import_areas
from fieldreport.services.demo import DAKLAK_FILE


def _commune_at(session, lon, lat):
    pt = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    return session.scalars(select(Area.code).where(Area.level == "commune", func.ST_Contains(Area.geom, pt))).all()


def test_demo_seed_loaded_102_communes(db_session):
    n = db_session.scalar(
        select(func.count()).select_from(Area).where(Area.level == "commune", Area.province_code == "66")
    )
    assert n == 102


def test_buon_ma_thuot_centre_is_in_24133(db_session):
    assert _commune_at(db_session, 108.038, 12.667) == ["24133"]


def test_every_label_point_lies_in_its_commune(db_session):
    features = json.loads(DAKLAK_FILE.read_text())["features"]
    for f in features[:25]:
        p = f["properties"]
        assert p["code"] in _commune_at(db_session, p["label_lon"], p["label_lat"])


def test_reimport_is_idempotent_by_code(db_session):
    res = import_areas(DAKLAK_FILE)
    assert (res.created, res.updated) == (0, 102)
    assert db_session.scalar(select(func.count()).select_from(Area).where(Area.level == "commune")) == 102


def test_invalid_ring_is_repaired_and_bad_feature_skipped(db_session, tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[108.0, 12.0], [108.1, 12.1], [108.1, 12.0], [108.0, 12.1], [108.0, 12.0]]],
    }
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": "99999",
                    "name": "Thử",
                    "full_name": "Xã Thử",
                    "type": "Xã",
                    "province_code": "99",
                },
                "geometry": bowtie,
            },
            {"type": "Feature", "properties": {"name": "no code"}, "geometry": bowtie},
        ],
    }
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(fc))
    res = import_areas(path)
    assert (res.created, res.repaired, len(res.skipped)) == (1, 1, 1)
    valid = db_session.scalar(select(func.ST_IsValid(Area.geom)).where(Area.code == "99999"))
    assert valid is True


def test_cli_import_reports_counts(app, db_session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-areas", str(DAKLAK_FILE)])
    assert result.exit_code == 0, result.output
    assert "0 created, 102 updated" in result.output


def test_national_province_file_imports(db_session):
    """The compressed national file shipped in data/ (a fresh clone has no shared data)."""
    from fieldreport.services.provinces import PROVINCES_FILE

    res = import_areas(PROVINCES_FILE)
    assert res.total == 34 and not res.skipped
