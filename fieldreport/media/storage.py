"""The object-storage adapter: a private S3 bucket (MinIO in production) via the minio SDK."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import urllib3
from flask import Flask
from minio import Minio
from minio.error import S3Error
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError

from fieldreport.breaker import Breaker
from fieldreport.errors import ServiceUnavailable


class _Retry(urllib3.Retry):
    """One retry for a dropped keep-alive connection, none after a timeout: a hung server
    must not double the wait."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if isinstance(error, (ReadTimeoutError, ConnectTimeoutError)):
            raise error
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _http(connect: float = 2.0, read: float = 5.0) -> urllib3.PoolManager:
    # Fail fast: a request waiting on dead or hung storage must answer 503, not hang. The read
    # timeout is the longest silence mid-call (not the whole transfer), so it fits photos too.
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect, read=read),
        retries=_Retry(total=1, backoff_factor=0.1, status_forcelist=[500, 502, 503, 504]),
        maxsize=16,
    )


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "storage_unavailable", "Photo storage is unavailable.", "Kho lưu trữ ảnh đang không truy cập được."
    )


class Storage:
    """Puts, reads and presigns objects; turns transport failures into ServiceUnavailable."""

    client: Minio  # bound by init_app; used before it, an AttributeError names the attribute
    public: Minio  # signs presigned URLs for the host clients use

    def __init__(self) -> None:
        self.bucket = "fieldreport"
        self.presign_seconds = 900
        self.breaker = Breaker()

    def init_app(self, app: Flask) -> None:
        cfg = app.config
        args = dict(
            access_key=cfg["S3_ACCESS_KEY"],
            secret_key=cfg["S3_SECRET_KEY"],
            secure=cfg["S3_SECURE"],
            region=cfg["S3_REGION"],
        )
        http = _http(cfg["S3_CONNECT_TIMEOUT"], cfg["S3_READ_TIMEOUT"])
        self.client = Minio(cfg["S3_ENDPOINT"], http_client=http, **args)
        # Presigned URLs are signed for the host clients will use; signing needs no network.
        self.public = Minio(cfg["S3_PUBLIC_ENDPOINT"], http_client=http, **args)
        self.breaker = Breaker(cfg["BREAKER_FAILURES"], cfg["BREAKER_OPEN_SECONDS"])
        self.bucket = cfg["S3_BUCKET"]
        self.presign_seconds = cfg["PRESIGN_SECONDS"]
        app.extensions["storage"] = self

    def _call(self, fn, *args, **kwargs):
        if not self.breaker.allow():
            raise _unavailable()
        try:
            result = fn(*args, **kwargs)
        except S3Error:
            self.breaker.success()  # the server answered: it is up
            raise
        except Exception as exc:  # urllib3 / socket errors: storage is unreachable or hung
            self.breaker.failure()
            raise _unavailable() from exc
        self.breaker.success()
        return result

    def ensure_bucket(self) -> None:
        if not self._call(self.client.bucket_exists, self.bucket):
            self._call(self.client.make_bucket, self.bucket)

    def ping(self) -> bool:
        return bool(self._call(self.client.bucket_exists, self.bucket))

    def probe_write(self) -> None:
        """Write and delete a small object: a full disk or a read-only bucket fails here."""
        key = "_probe/readyz"
        self.put(key, b"ok", "text/plain")
        self.remove(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._call(self.client.put_object, self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    def put_stream(self, key: str, stream, content_type: str) -> None:
        """Upload a readable stream of unknown length (multipart, 16 MiB parts)."""
        self._call(
            self.client.put_object, self.bucket, key, stream, -1, part_size=16 * 1024 * 1024, content_type=content_type
        )

    def get(self, key: str, limit: int | None = None) -> bytes:
        """The object's bytes; with `limit`, at most that many (a ranged GET)."""

        def read() -> bytes:  # the body is read inside the call: a stall mid-body times out too
            resp = self.client.get_object(self.bucket, key, length=limit or 0)
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

        return self._call(read)

    def stat(self, key: str) -> tuple[int, str] | None:
        """(size, content type) from a HEAD request, or None when the object does not exist."""
        try:
            obj = self._call(self.client.stat_object, self.bucket, key)
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject", "NotFound"}:
                return None
            raise
        return obj.size, (obj.content_type or "").split(";")[0].strip().lower()

    def size(self, key: str) -> int | None:
        """The object's size, or None when it does not exist."""
        head = self.stat(key)
        return None if head is None else head[0]

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def remove(self, key: str) -> None:
        self._call(self.client.remove_object, self.bucket, key)

    def keys(self, prefix: str = "") -> list[tuple[str, datetime | None]]:
        """(key, last_modified) of the objects under prefix."""
        objs = self._call(lambda: list(self.client.list_objects(self.bucket, prefix=prefix, recursive=True)))
        return [(o.object_name, o.last_modified) for o in objs]

    def presigned_put(self, key: str) -> str:
        return self.public.presigned_put_object(self.bucket, key, timedelta(seconds=self.presign_seconds))

    def presigned_get(self, key: str) -> str:
        return self.public.presigned_get_object(self.bucket, key, timedelta(seconds=self.presign_seconds))
