""" "Me too" with the supporter's own photos and note: kept for staff, never public."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from fieldreport.extensions import db
from fieldreport.models import Addition, Photo, Report
from tests.api.intake_helpers import image, submit

URL = "/api/v1/reports"
TOKEN = "s" * 40


def existing(client) -> str:
    r = submit(client, description="Đèn đường tắt")
    assert r.status_code == 201, r.json
    return r.json["code"]


def add(client, code, note=None, photos=(), token=TOKEN):
    data = {}
    if note is not None:
        data["note"] = note
    if photos:
        data["photos"] = [(io.BytesIO(b), n) for n, b in photos]
    return client.post(
        f"{URL}/{code}/additions", data=data, content_type="multipart/form-data", headers={"X-Citizen-Token": token}
    )


def test_supporter_photo_and_note_are_kept_for_staff_not_public(client):
    code = existing(client)
    r = add(client, code, note="Tối qua đèn vẫn tắt, tôi chụp thêm.", photos=[("mine.jpg", image())])
    assert r.status_code == 201, r.json
    assert r.json["followers_count"] == 1 and r.json["photos"] == 1
    report = db.session.scalar(select(Report).where(Report.code == code))
    addition = db.session.scalar(select(Addition).where(Addition.report_id == report.id))
    assert addition.note.startswith("Tối qua")
    [photo] = addition.photos
    assert photo.report_id is None and photo.kind == "support" and photo.thumb_key  # derivatives made
    # The public view shows neither the note nor the supporter's photo.
    view = client.get(f"{URL}/{code}").json
    assert view["photos"] == [] and "Tối qua" not in json.dumps(view, ensure_ascii=False)
    assert view["followers_count"] == 1
    # The same supporter again: still one follower, a second addition.
    again = add(client, code, note="Thêm một ghi chú.")
    assert again.status_code == 201 and again.json["followers_count"] == 1
    assert db.session.query(Addition).filter_by(report_id=report.id).count() == 2


def test_staff_detail_lists_additions(client, db_session):
    from tests import factories as f

    code = existing(client)
    assert add(client, code, note="Ghi chú của người ủng hộ", photos=[("a.jpg", image())]).status_code == 201
    token = f.token_for(db_session, "dispatcher")
    detail = client.get(f"/api/v1/staff/reports/{code}", headers={"Authorization": f"Bearer {token}"})
    assert detail.status_code == 200, detail.json
    [a] = detail.json["additions"]
    assert a["note"] == "Ghi chú của người ủng hộ" and a["photos"][0]["thumb_url"]


def test_empty_or_bad_additions_are_refused_and_nothing_is_written(client):
    code = existing(client)
    assert add(client, code).json["code"] == "addition_empty"
    bad = add(client, code, note="x", photos=[("fake.jpg", b"not an image at all")])
    assert bad.status_code in (415, 422) and bad.mimetype == "application/problem+json"
    assert db.session.query(Addition).count() == 0
    assert db.session.scalar(select(Photo).where(Photo.kind == "support")) is None
    assert add(client, "AAAAAAAAAA", note="x").status_code == 404
