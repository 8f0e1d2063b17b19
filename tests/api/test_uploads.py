"""Presigned uploads: PUT the photo to the bucket first, then submit a report referencing it."""

from __future__ import annotations

import urllib3
from sqlalchemy import select

from fieldreport.extensions import db, storage
from fieldreport.models import Photo, Report, Upload
from tests.api.intake_helpers import BMT, image

BODY = {"category": "road_damage", "lat": BMT[0], "lon": BMT[1], "description": "ổ gà lớn"}


def new_upload(client, data: bytes | None, content_type: str | None = None) -> str:
    r = client.post("/api/v1/uploads")
    assert r.status_code == 201, r.json
    assert r.json["method"] == "PUT" and r.json["max_bytes"] > 0
    if data is not None:
        headers = {"Content-Type": content_type} if content_type else {}
        put = urllib3.request("PUT", r.json["url"], body=data, headers=headers, timeout=30)
        assert put.status == 200, put.data
    return r.json["upload_id"]


def test_upload_then_report_by_reference(client):
    data = image(size=(800, 600))
    uid = new_upload(client, data)
    r = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]})
    assert r.status_code == 201, r.json
    photo = db.session.scalar(select(Photo).join(Report).where(Report.code == r.json["code"]))
    # The checked bytes now live under their content hash; the upload object is gone.
    assert photo.key == f"orig/{photo.sha256}" and storage.get(photo.key) == data
    assert not storage.exists(f"up/{uid}")
    up = db.session.get(Upload, uid)
    assert up.used_at is not None and up.photo_id == photo.id
    again = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]})
    assert again.status_code == 422 and again.json["code"] == "unknown_upload"


def test_upload_ids_also_work_in_a_multipart_form(client):
    uid = new_upload(client, image())
    r = client.post(
        "/api/v1/reports",
        data={**{k: str(v) for k, v in BODY.items()}, "upload_ids": uid},
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.json


def test_upload_never_put_is_named(client):
    uid = new_upload(client, None)
    r = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]})
    assert r.status_code == 422 and r.json["code"] == "upload_missing" and r.json["photo"]["upload_id"] == uid


def test_uploaded_non_image_is_refused_like_a_multipart_one(client):
    uid = new_upload(client, b"%PDF-1.7 pretending")
    r = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]})
    assert r.status_code == 422 and r.json["code"] == "photo_not_image" and uid in r.json["message"]
    assert not storage.exists(f"up/{uid}")  # refused: deleted at once, not left for the sweep


def test_oversized_upload_is_refused_by_its_head_and_deleted_at_once(client, app):
    """The review PUT 100 MB to a presigned URL; after the 413 the object stayed in the bucket."""
    limit = app.config["PHOTO_MAX_BYTES"]
    uid = new_upload(client, image(size=(64, 48)) + bytes(limit))  # a JPEG with 15 MB of tail
    assert storage.size(f"up/{uid}") > limit
    r = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]})
    assert r.status_code == 413 and r.json["code"] == "photo_too_large" and uid in r.json["message"]
    assert not storage.exists(f"up/{uid}")
    assert db.session.scalar(select(Report).where(Report.description == BODY["description"])) is None


def test_upload_declared_as_another_type_is_refused_and_deleted(client):
    uid = new_upload(client, image(), content_type="text/html")
    r = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]})
    assert r.status_code == 422 and r.json["code"] == "photo_not_image" and "text/html" in r.json["message"]
    assert not storage.exists(f"up/{uid}")
    ok = new_upload(client, image(), content_type="image/jpeg")  # a browser's PUT of a photo
    assert client.post("/api/v1/reports", json={**BODY, "upload_ids": [ok]}).status_code == 201


def test_upload_read_is_bounded_to_the_photo_limit(client, app, monkeypatch):
    """One GET per upload, ranged to the limit: an object replaced by a bigger one between the
    HEAD and the GET (a second PUT to the same URL) is never read whole into memory."""
    storage.put("up/ranged-probe", b"0123456789", "application/octet-stream")
    assert storage.get("up/ranged-probe", limit=4) == b"0123"  # the range is honoured by S3
    storage.remove("up/ranged-probe")
    uid = new_upload(client, image())
    reads = []
    real_get = storage.get
    monkeypatch.setattr(storage, "get", lambda key, limit=None: reads.append((key, limit)) or real_get(key, limit))
    assert client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]}).status_code == 201
    # one read of the upload, ranged (the derivatives job then reads the stored original)
    assert [r for r in reads if r[0].startswith("up/")] == [(f"up/{uid}", app.config["PHOTO_MAX_BYTES"] + 1)]


def test_uploaded_photo_over_the_limit_is_413(client, app, monkeypatch):
    uid = new_upload(client, image(size=(800, 600)))
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 1000)
    r = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]})
    assert r.status_code == 413 and r.json["code"] == "photo_too_large"


def test_unknown_and_duplicate_upload_ids(client):
    assert client.post("/api/v1/reports", json={**BODY, "upload_ids": ["nope"]}).json["code"] == "unknown_upload"
    uid = new_upload(client, image())
    r = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid, uid]})
    assert r.json["code"] == "duplicate_upload"


def test_retry_of_an_upload_report_replays_instead_of_failing(client):
    uid = new_upload(client, image())
    headers = {"Idempotency-Key": "upload-retry-1"}
    first = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]}, headers=headers)
    again = client.post("/api/v1/reports", json={**BODY, "upload_ids": [uid]}, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json == first.json
