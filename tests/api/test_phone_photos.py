"""Photos as current phones and cameras write them, through every intake path.

MPO JPEGs (an MPF index and a second image), 50 MP sensors and wide-gamut (Display-P3)
photos are generated here, so a fresh clone tests them without the shared corpus.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from fieldreport.extensions import db, storage
from fieldreport.models import Photo, Report
from tests import factories as f
from tests.api.intake_helpers import BMT, image, submit
from tests.api.test_uploads import new_upload
from tests.open311.conftest import BASE

RED = (200, 30, 30)


def _mpo() -> bytes:
    data = image("MPO", size=(640, 480), color=RED)
    assert Image.open(io.BytesIO(data)).format == "MPO"
    return data


def _photos(code: str, kind: str = "before") -> list[Photo]:
    return list(db.session.scalars(select(Photo).join(Report).where(Report.code == code, Photo.kind == kind)))


def _assert_first_frame_copy(photo: Photo) -> None:
    assert photo.mime == "image/jpeg" and (photo.width, photo.height) == (640, 480)
    display = Image.open(io.BytesIO(storage.get(photo.display_key))).convert("RGB")
    r, g, b = display.getpixel((display.width - 10, display.height - 10))
    assert r > 170 and g < 70 and b < 70  # the photo's red, not the second image's green


def test_mpo_through_the_multipart_form(client):
    r = submit(client, photos=[("mpo.jpg", _mpo())])
    assert r.status_code == 201, r.json
    _assert_first_frame_copy(_photos(r.json["code"])[0])


def test_mpo_through_a_presigned_upload(client):
    uid = new_upload(client, _mpo())
    r = client.post(
        "/api/v1/reports", json={"category": "road_damage", "lat": BMT[0], "lon": BMT[1], "upload_ids": [uid]}
    )
    assert r.status_code == 201, r.json
    _assert_first_frame_copy(_photos(r.json["code"])[0])


def test_mpo_through_open311_media(client, demo):
    data = {
        "api_key": demo.api_key,
        "service_code": "road_damage",
        "lat": str(BMT[0]),
        "long": str(BMT[1]),
        "description": "Ổ gà",
        "media": (io.BytesIO(_mpo()), "mpo.jpg"),
    }
    r = client.post(f"{BASE}/requests.json", data=data, content_type="multipart/form-data")
    assert r.status_code == 200, r.data
    _assert_first_frame_copy(_photos(r.get_json()[0]["service_request_id"])[0])


def test_mpo_as_the_staff_after_photo(client, db_session):
    from fieldreport.services import routing

    report = f.make_report(db_session, "road_damage", *f.BMT)
    assert routing.route_report(report.id) == "assigned"
    r = client.post(
        f"/api/v1/staff/reports/{report.code}/resolve",
        data={"answer": "Đã vá ổ gà.", "photos": [(io.BytesIO(_mpo()), "after.jpg")]},
        headers=f.bearer(db_session, "bmt.staff"),
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.json
    _assert_first_frame_copy(_photos(report.code, "after")[0])


def test_a_fifty_megapixel_phone_photo_is_accepted(client):
    small = Image.effect_noise((127, 95), 48).convert("RGB")
    out = io.BytesIO()
    small.resize((8160, 6120), Image.Resampling.BILINEAR).save(out, "JPEG", quality=85)
    r = submit(client, photos=[("50mp.jpg", out.getvalue())])
    assert r.status_code == 201, r.json
    photo = _photos(r.json["code"])[0]
    assert (photo.width, photo.height) == (8160, 6120)
    display = Image.open(io.BytesIO(storage.get(photo.display_key)))
    assert display.size == (2048, 1536)


def test_a_bomb_refusal_says_what_to_do(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_PIXELS", 1_000_000)
    r = submit(client, photos=[("big.jpg", image(size=(1200, 1000)))])
    assert r.status_code == 422 and r.json["code"] == "photo_bomb"
    assert "độ phân giải thường" in r.json["message"]
    en = submit(client, photos=[("big.jpg", image(size=(1200, 1000)))], headers={"Accept-Language": "en"})
    assert "normal resolution" in en.json["message"]


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF"])
def test_display_p3_photos_keep_their_colours_in_the_public_copy(client, fmt):
    from tests.unit.test_images import _PROFILES, _in_srgb

    colour = (220, 100, 60)
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, fmt, quality=95, icc_profile=_PROFILES["display_p3"][0])
    r = submit(client, photos=[(f"p3.{fmt.lower()}", out.getvalue())])
    assert r.status_code == 201, r.json
    display = Image.open(io.BytesIO(storage.get(_photos(r.json["code"])[0].display_key)))
    assert "icc_profile" not in display.info
    got, want = display.convert("RGB").getpixel((160, 120)), _in_srgb(colour, "display_p3")
    assert all(abs(g - w) <= 6 for g, w in zip(got, want)), (got, want)
