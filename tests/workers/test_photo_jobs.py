"""Photo jobs: derivatives through a real RQ worker, idempotency, storage down, orphan collection."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from PIL import Image
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from fieldreport.errors import ServiceUnavailable
from fieldreport.extensions import db, queues, storage
from fieldreport.models import Outbox, Photo, Report, Upload
from fieldreport.models.base import utcnow
from fieldreport.services import photos
from tests.api.intake_helpers import image, submit


@pytest.fixture()
def queued(app):
    """Jobs go to Redis instead of running inline, for a real worker to take."""
    queues.is_async = True
    yield
    queues.is_async = False


def _photo(code: str) -> Photo:
    return db.session.scalar(select(Photo).join(Report).where(Report.code == code))


def test_a_real_worker_makes_the_derivatives_from_the_outbox(client, queued):
    r = submit(client, photos=[("big.jpg", image(size=(4000, 3000), orientation=8))])
    assert r.status_code == 201, r.json
    photo = _photo(r.json["code"])
    assert photo.display_key is None  # not yet: the job waits on the "media" queue
    job = db.session.scalar(
        select(Outbox).where(Outbox.func == "workers.jobs.make_derivatives", Outbox.args == [photo.id])
    )
    assert job.sent_at is not None and queues.get("media").count == 1
    # SimpleWorker runs in this process, so it sees the test's uncommitted transaction.
    SimpleWorker([queues.get("media")], connection=queues.redis, serializer=JSONSerializer).work(burst=True)
    db.session.refresh(photo)
    display = Image.open(io.BytesIO(storage.get(photo.display_key)))
    assert display.size == (1536, 2048)  # orientation 8 applied, longest side capped at 2048
    assert max(Image.open(io.BytesIO(storage.get(photo.thumb_key))).size) <= 320


def test_derivatives_job_is_idempotent(client):
    r = submit(client, photos=[("p.jpg", image())])
    photo = _photo(r.json["code"])
    assert photo.display_key  # ran inline after commit
    first = storage.get(photo.display_key)
    assert photos.make_derivatives(photo.id) == "done"
    assert storage.get(photo.display_key) == first
    assert photos.make_derivatives(10**12) == "gone"


def test_storage_down_in_the_job_raises_so_rq_retries(client, s3_server, queued):
    r = submit(client, photos=[("p.jpg", image())])
    photo = _photo(r.json["code"])
    s3_server.stop()
    try:
        with pytest.raises(ServiceUnavailable):
            photos.make_derivatives(photo.id)
    finally:
        s3_server.start()
    db.session.refresh(photo)
    assert photo.display_key is None
    assert photos.make_derivatives(photo.id) == "made"


def test_orphans_are_collected_after_the_grace_period(client):
    kept = submit(client, photos=[("kept.jpg", image(color=(9, 9, 9)))]).json["code"]
    kept_photo = _photo(kept)
    stray = image(color=(7, 7, 7))
    stray_key = photos.original_key(hashlib.sha256(stray).hexdigest())
    storage.put(stray_key, stray, "image/jpeg")  # a request that failed after storing its photo
    storage.put("up/never-registered", b"x", "image/jpeg")
    storage.put("pub/999999999/display.jpg", b"x", "image/jpeg")
    now = utcnow()
    db.session.add(
        Upload(
            id="expired-upload",
            key="up/expired-upload",
            created_at=now - timedelta(days=2),
            expires_at=now - timedelta(days=1),
        )
    )
    db.session.add(Upload(id="live-upload", key="up/live-upload", created_at=now, expires_at=now + timedelta(hours=1)))
    db.session.flush()
    storage.put("up/expired-upload", b"x", "image/jpeg")
    storage.put("up/live-upload", b"x", "image/jpeg")

    photos.collect_orphans()  # default grace: everything here is too fresh to be an orphan
    assert storage.exists(stray_key) and storage.exists("up/never-registered")
    removed = photos.collect_orphans(grace=timedelta(0))
    assert removed["originals"] >= 1 and removed["uploads"] >= 2 and removed["derivatives"] >= 1
    assert not storage.exists(stray_key) and not storage.exists("up/never-registered")
    assert not storage.exists("up/expired-upload") and not storage.exists("pub/999999999/display.jpg")
    assert db.session.get(Upload, "expired-upload") is None
    assert storage.exists("up/live-upload") and db.session.get(Upload, "live-upload") is not None
    assert storage.exists(kept_photo.key) and storage.exists(kept_photo.display_key)
