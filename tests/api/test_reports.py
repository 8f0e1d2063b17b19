"""Citizen submission: the 201 receipt, validation, idempotency, storage/Redis down, limits."""

from __future__ import annotations

import json
import math

import pytest
from redis import Redis
from sqlalchemy import func, select, text

from fieldreport.extensions import db, queues, storage
from fieldreport.models import Event, IdempotencyKey, Outbox, Photo, Report
from fieldreport.security import token_hash
from fieldreport.services import outbox
from tests import factories as f
from tests.api.intake_helpers import BMT, CATEGORY_NO_PHOTO, CATEGORY_PHOTO, image, submit
from tests.conftest import free_port

URL = "/api/v1/reports"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_multipart_submission_answers_201_with_code_and_token(client):
    r = submit(
        client,
        description="Đèn đường tắt cả tuần",
        address_hint="trước số 12 Lê Duẩn",
        reporter_name="Nguyễn Văn A",
        reporter_phone="0900000000",
        accuracy_m="8.5",
        photos=[("p.jpg", image())],
    )
    assert r.status_code == 201, r.json
    body = r.json
    assert set(body) == {"code", "citizen_token", "status", "location", "links"}
    assert len(body["code"]) == 10 and body["status"] == "submitted"
    assert body["links"]["self"] == f"{URL}/{body['code']}"
    assert r.headers["Location"] == body["links"]["self"]
    report = db.session.scalar(select(Report).where(Report.code == body["code"]))
    # Only the hash of the token is stored; the reporter identity is kept privately.
    assert report.citizen_token_hash == token_hash(body["citizen_token"])
    assert body["citizen_token"] not in json.dumps([report.citizen_token_hash, report.attributes])
    assert report.reporter_name == "Nguyễn Văn A" and report.accuracy_m == 8.5
    assert report.area_id is not None and report.location_source == "device"
    # History, photo, and both jobs recorded in the same transaction.
    history = db.session.scalars(select(Event).where(Event.report_id == report.id).order_by(Event.id)).all()
    assert (history[0].type, history[0].to_status, history[0].actor) == ("submitted", "submitted", "citizen")
    photo = db.session.scalar(select(Photo).where(Photo.report_id == report.id))
    assert photo.key == f"orig/{photo.sha256}" and storage.exists(photo.key)
    jobs = db.session.scalars(
        select(Outbox).where(Outbox.args.contains([report.id]) | Outbox.args.contains([photo.id]))
    ).all()
    assert {(j.queue, j.func) for j in jobs} >= {
        ("routing", "workers.jobs.route_report"),
        ("media", "workers.jobs.make_derivatives"),
    }
    assert all(j.sent_at is not None for j in jobs), [(j.func, j.attempts, j.last_error) for j in jobs]


def test_the_channel_is_the_app_or_the_citizen_web_pages(client):
    """group_by=channel tells the app from the web pages (X-Client: web, sent by citizen.js)."""
    app_code = submit(client).json["code"]
    web_code = submit(client, headers={"X-Client": "web"}).json["code"]
    channels = dict(
        db.session.execute(select(Report.code, Report.channel).where(Report.code.in_([app_code, web_code]))).all()
    )
    assert channels == {app_code: "app", web_code: "web"}
    r = submit(client, headers={"X-Client": "hotline"})  # only operators record calls
    assert r.status_code == 422 and r.json["code"] == "validation_error"


def test_codes_are_short_unambiguous_and_distinct(client):
    codes = {submit(client).json["code"] for _ in range(20)}
    assert len(codes) == 20
    assert all(len(c) == 10 and not set(c) & set("ILOU") for c in codes)


def test_json_body_without_photos(client):
    r = client.post(URL, json={"category": CATEGORY_NO_PHOTO, "lat": BMT[0], "lon": BMT[1], "description": "json"})
    assert r.status_code == 201, r.json


def test_app_token_groups_reports(client):
    token = "app-token-" + "x" * 30
    codes = {submit(client, headers={"X-Citizen-Token": token}).json["code"] for _ in range(2)}
    mine = client.get("/api/v1/me/reports", headers={"X-Citizen-Token": token})
    assert mine.status_code == 200 and {m["code"] for m in mine.json} == codes
    in_url = client.get("/api/v1/me/reports", query_string={"citizen_token": token})  # URLs are logged
    assert in_url.status_code == 400 and in_url.json["code"] == "secret_in_url"
    short = submit(client, headers={"X-Citizen-Token": "short"}).json
    assert short["code"] == "validation_error" and "X-Citizen-Token" in short["errors"]["headers"]
    assert client.get("/api/v1/me/reports").status_code == 401


@pytest.mark.parametrize(
    "fields, status, code",
    [
        ({"lat": "abc"}, 422, "validation_error"),
        ({"lat": "91"}, 422, "validation_error"),
        ({"lon": "-181"}, 422, "validation_error"),
        ({"lat": "nan"}, 422, "validation_error"),
        ({"lat": "48.85", "lon": "2.35"}, 422, "outside_service_area"),
        ({"lat": "10.776", "lon": "106.700"}, 422, "outside_service_area"),  # Hồ Chí Minh City
        ({"category": "no_such_thing"}, 422, "unknown_category"),
        ({"category": CATEGORY_PHOTO}, 422, "photo_required"),
        ({"description": "x" * 4001}, 422, "validation_error"),
        ({"address_hint": "x" * 501}, 422, "validation_error"),
        ({"lat": None, "lon": None}, 422, "location_required"),
        ({"lon": None}, 422, "coordinates_incomplete"),
        ({"attribute[nope]": "1"}, 422, "unknown_attribute"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(client, fields, status, code):
    before = count(Report), count(Photo), count(Outbox)
    args = {"category": CATEGORY_NO_PHOTO, "lat": BMT[0], "lon": BMT[1], **fields}
    r = submit(client, **args)
    assert r.status_code == status, r.json
    assert r.mimetype == "application/problem+json" and r.json["code"] == code
    assert (count(Report), count(Photo), count(Outbox)) == before


def test_errors_speak_vietnamese_or_english(client):
    vi = submit(client, category="nope", headers={"Accept-Language": "vi"}).json["message"]
    en = submit(client, category="nope", headers={"Accept-Language": "en"}).json["message"]
    assert "Loại phản ánh" in vi and "Unknown or inactive category" in en


def test_inactive_category_is_refused(client):
    from fieldreport.models import Category

    cat = db.session.scalar(select(Category).where(Category.code == "noise"))
    cat.active = False
    db.session.flush()
    assert submit(client, category="noise").json["code"] == "unknown_category"


def test_attributes_are_checked_against_the_category(client):
    ok = submit(client, category=CATEGORY_PHOTO, photos=[("p.jpg", image())], **{"attribute[size]": "large"})
    assert ok.status_code == 201, ok.json
    report = db.session.scalar(select(Report).where(Report.code == ok.json["code"]))
    assert report.attributes == {"size": "large"}
    bad = submit(client, category=CATEGORY_PHOTO, photos=[("p.jpg", image())], **{"attribute[size]": "huge"})
    assert bad.json["code"] == "invalid_attribute"


def _outside(cx: float, cy: float, qx: float, qy: float, meters: float) -> tuple[float, float]:
    """The point `meters` from (cx, cy) towards (qx, qy)."""
    kx, ky = 111_320 * math.cos(math.radians(cy)), 110_574
    dx, dy = (qx - cx) * kx, (qy - cy) * ky
    norm = math.hypot(dx, dy)
    return cx + dx / norm * meters / kx, cy + dy / norm * meters / ky


def test_point_just_outside_the_border_snaps_in_but_far_outside_does_not(client):
    # The province border point nearest to a point in the sea east of it, then step outwards.
    sea = (110.5, 12.9)
    cx, cy = db.session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_ClosestPoint(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) p"
            " FROM areas WHERE code = 'P66') s"
        ),
        {"x": sea[0], "y": sea[1]},
    ).one()

    def distance(lon, lat):
        return db.session.execute(
            text(
                "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography)"
                " FROM areas WHERE code = 'P66'"
            ),
            {"x": lon, "y": lat},
        ).scalar()

    near, far = _outside(cx, cy, *sea, 60), _outside(cx, cy, *sea, 1000)
    assert 20 < distance(*near) < 150 and distance(*far) > 300
    r = submit(client, lon=near[0], lat=near[1])
    assert r.status_code == 201, r.json
    assert submit(client, lon=far[0], lat=far[1]).json["code"] == "outside_service_area"


def test_exif_gps_is_offered_never_taken_when_the_device_sends_none(client):
    """The photo's position is private evidence: a suggestion in the 422, the place only if sent."""
    photo = image(gps=(12.6801, 108.0502))
    r = submit(client, lat=None, lon=None, photos=[("gps.jpg", photo)])
    assert r.status_code == 422 and r.json["code"] == "location_required"
    hint = r.json["suggested_location"]
    assert hint["source"] == "exif" and hint["lat"] == pytest.approx(12.6801, abs=1e-4)
    r = submit(client, lat=hint["lat"], lon=hint["lon"], location_source="exif", photos=[("gps.jpg", photo)])
    assert r.status_code == 201, r.json
    assert r.json["location"]["source"] == "exif"
    report = db.session.scalar(select(Report).where(Report.code == r.json["code"]))
    assert report.location_source == "exif"


def test_idempotent_retry_returns_the_first_answer(client):
    headers = {"Idempotency-Key": "b0b5d5f0-1c3e-4c8e-9a5f-000000000001"}
    photo = image()
    first = submit(client, photos=[("p.jpg", photo)], headers=headers, description="once")
    objects = len(storage.keys("orig/"))
    again = submit(client, photos=[("p.jpg", photo)], headers=headers, description="once")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).select_from(Report).where(Report.description == "once")) == 1
    assert len(storage.keys("orig/")) == objects
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == headers["Idempotency-Key"]))
    assert first.json["citizen_token"] not in json.dumps(row.response)  # never stored in clear


def test_same_key_with_a_different_body_is_409(client):
    headers = {"Idempotency-Key": "key-409"}
    assert submit(client, headers=headers, description="a").status_code == 201
    r = submit(client, headers=headers, description="b")
    assert r.status_code == 409 and r.json["code"] == "idempotency_key_reused"
    r = submit(client, headers=headers, description="a", photos=[("p.jpg", image())])
    assert r.status_code == 409


def test_same_photo_twice_is_one_object(client):
    photo = image(color=(1, 2, 3))
    a = submit(client, photos=[("a.jpg", photo)]).json["code"]
    b = submit(client, photos=[("b.jpg", photo)]).json["code"]
    keys = db.session.scalars(select(Photo.key).join(Report).where(Report.code.in_([a, b]))).all()
    assert len(keys) == 2 and len(set(keys)) == 1
    assert [k for k, _ in storage.keys("orig/") if k == keys[0]] == [keys[0]]


def test_storage_down_is_503_with_retry_after_and_nothing_written(client, s3_server):
    before = count(Report), count(Photo), count(Outbox), count(IdempotencyKey)
    s3_server.stop()
    try:
        r = submit(client, photos=[("p.jpg", image())], headers={"Idempotency-Key": "down-1"})
    finally:
        s3_server.start()
    assert r.status_code == 503 and r.json["code"] == "storage_unavailable"
    assert int(r.headers["Retry-After"]) > 0
    assert (count(Report), count(Photo), count(Outbox), count(IdempotencyKey)) == before
    # The retry once storage is back succeeds with the same key.
    assert submit(client, photos=[("p.jpg", image())], headers={"Idempotency-Key": "down-1"}).status_code == 201


def test_redis_down_still_accepts_and_the_sweeper_sends_later(client):
    real = queues.redis
    # Built like the app's own client (Queues.init_app), on a port nothing listens on.
    queues.redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=5, socket_connect_timeout=2)
    try:
        r = submit(client, photos=[("p.jpg", image())])
    finally:
        queues.redis = real
    assert r.status_code == 201, r.json
    report = db.session.scalar(select(Report).where(Report.code == r.json["code"]))
    pending = db.session.scalars(select(Outbox).where(Outbox.sent_at.is_(None))).all()
    assert {p.func for p in pending} >= {"workers.jobs.route_report", "workers.jobs.make_derivatives"}
    assert all(p.attempts == 1 and "ConnectionError" in p.last_error for p in pending)
    assert outbox.sweep() == len(pending)  # Redis is back: the jobs go out (run inline here)
    photo = db.session.scalar(select(Photo).where(Photo.report_id == report.id))
    assert photo.display_key and storage.exists(photo.display_key)


def test_anonymous_submissions_are_rate_limited_per_client(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_HOUR", 3)
    codes = [submit(client).status_code for _ in range(3)]
    r = submit(client)
    assert codes == [201] * 3 and r.status_code == 429 and r.json["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0
    other = client.post(
        URL,
        data={"category": CATEGORY_NO_PHOTO, "lat": BMT[0], "lon": BMT[1]},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert other.status_code == 201


def test_signed_in_submissions_are_rate_limited_per_account(client, app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_HOUR", 2)
    body = {"category": CATEGORY_NO_PHOTO, "lat": BMT[0], "lon": BMT[1]}
    for username in ("citizen", "dispatcher"):  # a citizen session, a staff token
        h = f.bearer(db_session, username)
        codes = [
            client.post(URL, data=body, headers=h, environ_base={"REMOTE_ADDR": f"10.5.0.{i}"}).status_code
            for i in range(2)
        ]  # each from another address: signed in, the address does not count
        r = client.post(URL, data=body, headers=h, environ_base={"REMOTE_ADDR": "10.5.0.9"})
        assert codes == [201, 201] and r.status_code == 429 and r.json["code"] == "rate_limited", username
    assert client.post(URL, data=body, environ_base={"REMOTE_ADDR": "10.5.0.9"}).status_code == 201  # anonymous


def test_too_many_and_too_large_photos(client, app, monkeypatch):
    many = [(f"{i}.jpg", image(size=(32, 32))) for i in range(app.config["PHOTO_MAX_COUNT"] + 1)]
    r = submit(client, photos=many)
    assert r.status_code == 422 and r.json["code"] == "too_many_photos"
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 20_000)
    big = image(size=(1200, 900), color=(10, 200, 30))
    noisy = __import__("os").urandom(30_000)
    r = submit(client, photos=[("ok.jpg", image(size=(32, 32))), ("big.jpg", big + noisy)])
    assert r.status_code == 413 and r.json["code"] == "photo_too_large"
    assert r.json["photo"] == {"field": "photos", "index": 1, "filename": "big.jpg"}
    assert "big.jpg" in r.json["message"]


def test_a_body_over_the_request_limit_is_413_problem(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 10_000)
    monkeypatch.setitem(app.config, "PHOTO_MAX_COUNT", 1)
    r = submit(client, photos=[("huge.jpg", b"\xff" * 2_000_000)])
    assert r.status_code == 413 and r.mimetype == "application/problem+json"


def test_not_an_image_is_named(client):
    r = submit(client, photos=[("ok.jpg", image()), ("evil.jpg", b"%PDF-1.4 not a photo")])
    assert r.status_code == 422 and r.json["code"] == "photo_not_image"
    assert r.json["photo"]["index"] == 1 and "evil.jpg" in r.json["message"]
