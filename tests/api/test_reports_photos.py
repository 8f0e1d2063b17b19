"""Every photo of the shared corpus and generated ones, through the API: accepted or named and refused.

Accepted photos must keep their EXIF time/GPS privately and get public copies that are upright,
at most 2048 px, and carry no metadata at all.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
import urllib3
from PIL import Image, ImageOps
from sqlalchemy import select

from fieldreport import geo
from fieldreport.extensions import db, storage
from fieldreport.models import Photo, Report
from tests.api.intake_helpers import image, submit
from tests.conftest import PHOTOS

MANIFEST = PHOTOS / "MANIFEST.csv"
ROWS = list(csv.DictReader(MANIFEST.open())) if MANIFEST.exists() else []


def _expect(expected: str, name: str) -> str | None:
    m = re.search(rf"\b{name}=([^;]+?)(?:;| --|$)", expected)
    return m.group(1).strip() if m else None


def _photo_of(code: str) -> Photo:
    return db.session.scalar(select(Photo).join(Report).where(Report.code == code))


def _assert_public_copy(photo: Photo, original: bytes) -> None:
    display = storage.get(photo.display_key)
    thumb = storage.get(photo.thumb_key)
    for data, limit in ((display, 2048), (thumb, 320)):
        img = Image.open(io.BytesIO(data))
        assert img.format == "JPEG" and max(img.size) <= limit
        assert not img.getexif() and "exif" not in img.info and "icc_profile" not in img.info
        assert b"<?php" not in data and b"Exif" not in data[:4096]
    shown = Image.open(io.BytesIO(display))
    # Upright: same aspect as the photo once its orientation is applied (width/height stored so).
    assert abs(shown.width / shown.height - photo.width / photo.height) < 0.02


@pytest.mark.skipif(not ROWS, reason="shared photo corpus absent")
@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_corpus_photo_through_the_api(client, row):
    data = (PHOTOS / row["file"]).read_bytes()
    r = submit(client, photos=[(row["file"], data)])
    if row["kind"] == "invalid":
        assert r.status_code in (413, 422), r.json
        assert r.json["code"].startswith("photo_") and r.json["photo"]["filename"] == row["file"]
        assert row["file"] in r.json["message"]
        return
    assert r.status_code == 201, r.json
    photo = _photo_of(r.json["code"])
    w, h = (int(v) for v in _expect(row["expected"], "display").split("x"))
    assert (photo.width, photo.height) == (w, h)
    gps, taken = _expect(row["expected"], "gps"), _expect(row["expected"], "taken")
    if gps and gps != "none":
        lat, lon = (float(v) for v in gps.split(","))
        assert geo.lonlat(photo.gps) == pytest.approx((lon, lat), abs=1e-5)
    else:
        assert photo.gps is None
    if taken and taken != "none":
        assert photo.taken_at == datetime.strptime(taken, "%Y:%m:%d %H:%M:%S")
    assert storage.get(photo.key) == data  # the private original, byte for byte
    _assert_public_copy(photo, data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_generated_photos_are_stripped_and_upright(client, fmt):
    kwargs = {"gps": (12.6801, 108.0502), "taken": datetime(2026, 5, 4, 9, 30), "maker": "SecretCam"}
    if fmt == "JPEG":
        kwargs["orientation"] = 6
    size = (2400, 1000) if fmt == "JPEG" else (900, 400)  # JPEG also checks the 2048 px cap
    data = image(fmt, size=size, **kwargs)
    r = submit(client, photos=[(f"x.{fmt.lower()}", data)])
    assert r.status_code == 201, r.json
    photo = _photo_of(r.json["code"])
    assert geo.lonlat(photo.gps) == pytest.approx((108.0502, 12.6801), abs=1e-4)
    assert photo.taken_at == datetime(2026, 5, 4, 9, 30) or fmt == "PNG"
    _assert_public_copy(photo, data)
    display = Image.open(io.BytesIO(storage.get(photo.display_key))).convert("RGB")
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert (
        max(display.size) == min(2048, max(size))
        and abs(display.height / display.width - expected.height / expected.width) < 0.01
    )
    small = expected.resize(display.size)
    for corner in ((5, 5), (display.width - 5, 5), (5, display.height - 5), (display.width - 5, display.height - 5)):
        got, want = display.getpixel(corner), small.getpixel(corner)
        assert sum(abs(a - b) for a, b in zip(got, want)) < 60, (corner, got, want)
    assert b"SecretCam" not in storage.get(photo.display_key)


def test_public_urls_serve_the_copy(client):
    r = submit(client, photos=[("p.jpg", image())])
    view = client.get(f"/api/v1/reports/{r.json['code']}").json
    hop = client.get(view["photos"][0]["display_url"])
    assert hop.status_code == 302 and "max-age" in hop.headers["Cache-Control"]
    got = urllib3.request("GET", hop.headers["Location"], timeout=10)
    assert got.status == 200 and got.data == storage.get(_photo_of(r.json["code"]).display_key)


@pytest.mark.parametrize(
    "name, data, code",
    [
        ("truncated.jpg", image()[:3000], "photo_truncated"),
        ("empty.jpg", b"", "photo_empty"),
        ("text.jpg", b"<?php echo 'hi'; ?>", "photo_not_image"),
        ("tiff.jpg", b"II*\x00" + b"\x00" * 100, "photo_unsupported_type"),
    ],
)
def test_generated_bad_files_are_refused_by_content(client, name, data, code):
    r = submit(client, photos=[(name, data)])
    assert r.status_code == 422 and r.json["code"] == code and r.json["photo"]["filename"] == name


def test_decompression_bomb_is_refused(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_PIXELS", 1_000_000)
    r = submit(client, photos=[("big.png", image("PNG", size=(1200, 1000)))])
    assert r.status_code == 422 and r.json["code"] == "photo_bomb"


def test_list_thumbnails_are_stable_urls_that_redirect_to_the_copy(client):
    code = submit(client, photos=[("p.jpg", image())]).json["code"]
    item = next(
        i for i in client.get("/api/v1/reports", query_string={"page_size": 200}).json["items"] if i["code"] == code
    )
    photo = _photo_of(code)
    assert item["thumb_url"] == f"/api/v1/reports/{code}/photos/{photo.id}/thumb"
    r = client.get(item["thumb_url"])
    assert r.status_code == 302 and "max-age" in r.headers["Cache-Control"]
    got = urllib3.request("GET", r.headers["Location"], timeout=10)
    assert got.status == 200 and got.data == storage.get(photo.thumb_key)
    assert client.get(f"/api/v1/reports/{code}/photos/{photo.id}/display").status_code == 302
    other = submit(client).json["code"]  # another report's code does not unlock this photo
    assert client.get(f"/api/v1/reports/{other}/photos/{photo.id}/thumb").json["code"] == "photo_not_found"
    assert client.get(f"/api/v1/reports/{code}/photos/{photo.id}/original").status_code == 404


def _statements(client, path: str, **kw) -> tuple[list[str], object]:
    """The SQL statements one request runs, and its response."""
    from sqlalchemy import event

    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        resp = client.get(path, **kw)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen, resp


def test_list_pages_are_one_statement(client):
    """Issue 20: the listing and nearby select each row's category, first ready thumbnail and
    (nearby) unit with the rows: the categories, the thumbnails and the units were a query
    each per page, round trips of a public list's five."""
    from tests.api.intake_helpers import BMT, CATEGORY_NO_PHOTO

    code = submit(client, photos=[("p.jpg", image())]).json["code"]
    photo = _photo_of(code)
    near = {"lat": BMT[0], "lon": BMT[1], "category": CATEGORY_NO_PHOTO}
    for path, query in (("/api/v1/reports", {"page_size": 200}), ("/api/v1/reports/nearby", near)):
        seen, resp = _statements(client, path, query_string=query)
        assert resp.status_code == 200, resp.json
        items = resp.json["items"] if isinstance(resp.json, dict) else resp.json
        item = next(i for i in items if i["code"] == code)
        assert item["thumb_url"] == f"/api/v1/reports/{code}/photos/{photo.id}/thumb"
        selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1 and "photos" in selects[0] and "categories" in selects[0], selects
