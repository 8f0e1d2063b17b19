"""Recovery in one process: a failure after the commit, hung storage, a bucket that refuses writes."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text

from fieldreport.extensions import db, storage
from fieldreport.media.storage import Breaker
from fieldreport.models import Outbox, Report
from tests.api.intake_helpers import submit


def test_a_database_failure_in_the_outbox_dispatch_does_not_turn_a_saved_report_into_a_500(client):
    # The database refuses the "sent" mark of outbox rows (a real error raised by PostgreSQL),
    # which happens only after the report's own transaction committed.
    db.session.execute(
        text("""
        CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'injected outbox failure'; END $$;
        CREATE TRIGGER refuse_outbox_update BEFORE UPDATE ON outbox
        FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse();""")
    )
    db.session.commit()
    resp = submit(client, description="Đèn đường hỏng trước số 12")  # no Idempotency-Key
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["code"]
    report = db.session.scalar(select(Report).where(Report.code == code))
    assert report is not None
    pending = db.session.scalars(select(Outbox).where(Outbox.sent_at.is_(None))).all()
    assert any(row.args == [report.id] for row in pending)  # the sweeper will send it


@contextmanager
def adapter_at(adapter, kept: tuple[str, ...], app, **settings):
    """Re-initialise an adapter (storage, the Redis queues) with other settings for one test,
    then put back the attributes `kept` that init_app replaces."""
    saved = {name: getattr(adapter, name) for name in kept}

    class _App:
        config = dict(app.config, **settings)
        extensions: dict = {}

    adapter.init_app(_App)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(adapter, name, value)


def storage_at(app, **settings):
    """Point the storage adapter at another S3 endpoint for one test, then back."""
    return adapter_at(storage, ("client", "public", "breaker"), app, **settings)


class HungServer:
    """A TCP server that accepts connections and never answers: storage that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture()
def hung_storage(app):
    """Point the storage adapter at a hung server for one test, with short timeouts."""
    server = HungServer()
    with storage_at(
        app,
        S3_ENDPOINT=f"127.0.0.1:{server.port}",
        S3_PUBLIC_ENDPOINT=f"127.0.0.1:{server.port}",
        S3_READ_TIMEOUT=0.5,
        S3_CONNECT_TIMEOUT=0.5,
        BREAKER_FAILURES=2,
        BREAKER_OPEN_SECONDS=30,
    ):
        yield server
    server.close()


def test_hung_storage_answers_503_in_seconds_and_then_at_once(client, hung_storage):
    from tests.api.intake_helpers import CATEGORY_PHOTO, image

    photos = [("a.jpg", image())]
    t0 = time.monotonic()
    first = submit(client, category=CATEGORY_PHOTO, photos=photos)
    first_s = time.monotonic() - t0
    assert first.status_code == 503 and first.get_json()["code"] == "storage_unavailable"
    assert first.headers.get("Retry-After")
    submit(client, category=CATEGORY_PHOTO, photos=photos)  # second failure opens the breaker
    calls_before = hung_storage.accepted
    t1 = time.monotonic()
    third = submit(client, category=CATEGORY_PHOTO, photos=photos)
    third_s = time.monotonic() - t1
    assert third.status_code == 503
    assert hung_storage.accepted == calls_before  # the open breaker did not even connect
    assert storage.breaker.is_open
    print(f"\nhung storage: first 503 after {first_s:.2f}s, with the breaker open {third_s:.3f}s")
    # nothing half-written: no report row from these three posts
    assert (
        db.session.execute(text("SELECT count(*) FROM reports WHERE created_at > now() - interval '1 minute'")).scalar()
        == 0
    )


def test_breaker_lets_one_trial_through_after_the_open_period():
    b = Breaker(failures=2, open_seconds=0.2)
    b.failure()
    assert b.allow()
    b.failure()
    assert not b.allow()  # open
    time.sleep(0.25)
    assert b.allow()  # the trial
    assert not b.allow()  # others wait for the trial's outcome
    b.success()
    assert b.allow() and b.allow()


@pytest.fixture()
def full_disk_storage(app, config):
    """A real S3 server (the suite's kind) whose disk is full: a 256 KB tmpfs, filled up."""
    import os
    import subprocess
    import tempfile

    from tests.conftest import S3Server

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tempfile.mkdtemp(prefix="fieldreport-fulldisk-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt]).returncode:
        pytest.skip("tmpfs mount not allowed here")
    server = S3Server()
    server.dir = mnt
    try:
        os.mkdir(os.path.join(mnt, config.S3_BUCKET))
        server.start()
        try:  # fill the disk to the last byte
            with open(os.path.join(mnt, "filler"), "wb", buffering=0) as f:
                while True:
                    f.write(b"x" * 4096)
        except OSError:
            pass
        with storage_at(
            app,
            S3_ENDPOINT=server.endpoint,
            S3_PUBLIC_ENDPOINT=server.endpoint,
            S3_ACCESS_KEY=server.key,
            S3_SECRET_KEY=server.secret,
        ):
            yield server
    finally:
        server.stop()
        subprocess.run(["umount", mnt])
        os.rmdir(mnt)


def test_readyz_says_storage_is_down_when_its_disk_is_full(client, full_disk_storage):
    from fieldreport import ops

    ops._probe["ok_until"] = 0.0
    assert storage.ping()  # the bucket is there: the old check said "ok"
    resp = client.get("/readyz")
    assert resp.status_code == 503, resp.get_json()
    assert resp.get_json()["down"] == ["storage"]
    assert resp.headers["Retry-After"]


def test_readyz_write_probe_passes_on_healthy_storage(client):
    from fieldreport import ops

    ops._probe["ok_until"] = 0.0
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert not storage.exists("_probe/readyz")  # the probe cleans up after itself
