"""Round trips a submission and a routing job no longer make (issue 20), each kept correct:
the outbox rows of one commit reach Redis in one transaction, and an original is PUT
without a HEAD first, which also restarts its orphan grace."""

from __future__ import annotations

import hashlib
import time

import redis.connection
from rq.job import Job
from rq.serializers import JSONSerializer

from fieldreport import queue as jobs
from fieldreport.extensions import queues, storage
from fieldreport.models import Outbox
from fieldreport.services import outbox
from tests.api.intake_helpers import image, submit


def test_the_outbox_rows_of_a_commit_reach_redis_in_one_transaction(db_session, redis_clean, monkeypatch):
    monkeypatch.setattr(queues, "is_async", True)  # queued, not run inline
    rows = [
        outbox.record(*jobs.ROUTE_REPORT, 101),
        outbox.record(*jobs.MAKE_DERIVATIVES, 202),
        outbox.record(*jobs.DELIVER_NOTIFICATION, 303),
    ]
    db_session.flush()
    sent: list[bytes] = []
    real = redis.connection.Connection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(command if isinstance(command, bytes) else b"".join(command))
        return real(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)
    assert outbox.dispatch(rows) == 3
    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", real)
    sent = [c for c in sent if b"INFO" not in c[:16]]  # RQ reads the server version once per connection
    assert len(sent) == 1 and sent[0].count(b"EXEC") == 1  # was 6: two per job
    for row in rows:
        assert db_session.get(Outbox, row.id).sent_at is not None
        job = Job.fetch(f"outbox-{row.id}", connection=queues.redis, serializer=JSONSerializer)
        assert (job.func_name, list(job.args), job.get_status()) == (row.func, row.args, "queued")
        assert job.id in queues.get(row.queue).get_job_ids()


def test_an_original_already_in_the_bucket_is_written_again(client, monkeypatch):
    """One PUT, no HEAD: the same key holds the same bytes, and the rewrite restarts the
    object's age, so the orphan sweep (objects nothing refers to, older than the grace)
    cannot remove it while a new report commits a row pointing at it."""
    data = image("JPEG", (320, 240), color=(10, 120, 30))
    key = f"orig/{hashlib.sha256(data).hexdigest()}"
    storage.put(key, data, "image/jpeg")
    (before,) = [t for k, t in storage.keys(key) if k == key]
    time.sleep(1.1)  # object times have a resolution of a second
    r = submit(client, "road_damage", photos=[("a.jpg", data)])
    assert r.status_code == 201, r.json
    (after,) = [t for k, t in storage.keys(key) if k == key]
    assert after > before
    assert storage.get(key) == data
