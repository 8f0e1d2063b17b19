"""Photos in the bucket: private originals under content-hash keys, public derivatives, uploads, orphans.

Keys: "orig/<sha256>" (private original, same bytes → same object), "pub/<photo id>/display.jpg"
and ".../thumb.jpg" (metadata-free copies made by a worker), "up/<upload id>" (a presigned
upload waiting for a report). Public views hand out stable URLs of ours that redirect to fresh
presigned GET URLs of "pub/" keys (services.public.photo_path), never the originals.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, delete, select, update

from fieldreport.errors import Conflict, TooLarge, Unprocessable
from fieldreport.extensions import db, storage
from fieldreport.media import images
from fieldreport.models import Photo, PhotoKind, Upload
from fieldreport.models.base import utcnow
from fieldreport.services import uow

log = logging.getLogger(__name__)

DERIVATIVES = ("display", "thumb")
UPLOAD_TTL = timedelta(hours=24)  # how long an upload may wait for its report
ORPHAN_GRACE = timedelta(hours=6)  # never collect what an in-flight request may still commit


@dataclass
class Incoming:
    """A checked photo not yet attached: its bytes, what inspect() read, and how to name it."""

    data: bytes
    info: images.PhotoInfo
    label: dict
    upload: Upload | None = None

    @property
    def key(self) -> str:
        return original_key(self.info.sha256)


def check_count(count: int, *, field: str | None = "photos") -> None:
    """Refuse more than PHOTO_MAX_COUNT photos on one report (422 too_many_photos)."""
    limit = current_app.config["PHOTO_MAX_COUNT"]
    if count > limit:
        where: dict = {"field": field} if field else {}
        raise Unprocessable(
            "too_many_photos",
            f"At most {limit} photos per report.",
            f"Mỗi phản ánh tối đa {limit} ảnh.",
            max_count=limit,
            **where,
        )


def original_key(sha256: str) -> str:
    return f"orig/{sha256}"


def public_key(photo_id: int, name: str) -> str:
    return f"pub/{photo_id}/{name}.jpg"


def _names(label: dict) -> tuple[str, str]:
    if "upload_id" in label:
        return f"Upload {label['upload_id']}", f"Ảnh tải lên {label['upload_id']}"
    name = f" ({label['filename']})" if label.get("filename") else ""
    n = label.get("index", 0) + 1
    return f"Photo {n}{name}", f"Ảnh {n}{name}"


def _limits(cfg) -> dict:
    return {
        "max_bytes": cfg["PHOTO_MAX_BYTES"],
        "max_pixels": cfg["PHOTO_MAX_PIXELS"],
        "max_decoded_pixels": cfg["PHOTO_MAX_DECODED_PIXELS"],
    }


def read_files(files) -> list[tuple[str | None, bytes]]:
    """The one reader of uploaded files (multipart parts: `.filename`, `.stream`): (name, bytes)
    for each part with a name or bytes, never more than PHOTO_MAX_BYTES + 1 bytes of a part —
    one byte over is enough for check() to refuse it, and a huge part is not read into memory."""
    limit = current_app.config["PHOTO_MAX_BYTES"] + 1
    out = []
    for f in files or []:
        data = f.stream.read(limit)
        if data or f.filename:  # a form's empty file input is no photo
            out.append((f.filename or None, data))
    return out


def check(data: bytes, label: dict) -> Incoming:
    """Validate the bytes as a photo; a rejection names the photo (413 when too large)."""
    try:
        info = images.inspect(data, **_limits(current_app.config))
    except images.PhotoRejected as exc:
        en, vi = _names(label)
        cls = TooLarge if exc.code == "photo_too_large" else Unprocessable
        raise cls(exc.code, f"{en}: {exc.message_en}", f"{vi}: {exc.message_vi}", photo=label) from None
    return Incoming(data, info, label)


# What a client may declare when it PUTs a photo (browsers send the file's type; tools often
# send none, which S3 stores as octet-stream). The bytes are checked either way.
UPLOAD_TYPES = frozenset(images.MIME_TYPES) | {"", "application/octet-stream", "binary/octet-stream"}


def from_upload(upload_id: str, index: int) -> Incoming:
    """Fetch and check the object a client PUT to its presigned upload URL.

    rclone's S3 server (and so our deployments) has no presigned POST policy that could bound
    size and type at the PUT, so the check is here, where a report references the object: a
    HEAD for size and declared type, then one GET of at most PHOTO_MAX_BYTES + 1 bytes. An
    object refused for any reason is deleted at once (a 100 MB one used to stay until the
    orphan sweep); the client may PUT a correct photo to the same URL while it is valid.
    """
    label = {"field": "upload_ids", "index": index, "upload_id": upload_id}
    up = db.session.get(Upload, upload_id) if len(upload_id) <= 40 else None
    if up is None or up.used_at is not None or up.expires_at < utcnow():
        raise Unprocessable(
            "unknown_upload",
            f"Upload {upload_id} is unknown, expired or already used.",
            f"Ảnh tải lên {upload_id} không tồn tại, đã hết hạn hoặc đã được dùng.",
            photo=label,
        )
    head = storage.stat(up.key)
    if head is None:
        raise Unprocessable(
            "upload_missing",
            f"Upload {upload_id} has no photo yet: PUT it to its URL first.",
            f"Chưa nhận được ảnh cho {upload_id}: hãy tải ảnh lên địa chỉ đã cấp trước.",
            photo=label,
        )
    size, declared = head
    max_bytes = current_app.config["PHOTO_MAX_BYTES"]
    en, vi = _names(label)
    try:
        if size > max_bytes:
            mb = round(max_bytes / 2**20, 1)
            raise TooLarge(
                "photo_too_large",
                f"{en}: The photo is larger than {mb} MB.",
                f"{vi}: Ảnh lớn hơn {mb} MB.",
                photo=label,
            )
        if declared not in UPLOAD_TYPES:
            raise Unprocessable(
                "photo_not_image",
                f"{en}: {declared} is not a photo type (JPEG, PNG, WebP, HEIC or GIF).",
                f"{vi}: {declared} không phải loại ảnh (JPEG, PNG, WebP, HEIC, GIF).",
                photo=label,
            )
        incoming = check(storage.get(up.key, limit=max_bytes + 1), label)
    except (TooLarge, Unprocessable):
        _discard(up.key)
        raise
    incoming.upload = up
    return incoming


def _discard(key: str) -> None:
    """Delete a refused upload object now; if storage fails, the orphan sweep gets it later."""
    try:
        storage.remove(key)
    except Exception:  # noqa: BLE001 — the refusal is the answer; the sweep is the fallback
        log.warning("refused upload object %s not removed", key)


def store_originals(incoming: list[Incoming]) -> None:
    """Put the private originals before the report commits; content-hash keys dedupe them.

    One PUT per original, also when the object exists: the same key holds the same bytes, and
    rewriting it restarts its orphan grace (collect_orphans), so an unreferenced original
    older than the grace cannot be collected while this report commits a row that points at
    it. A HEAD first cost a second round trip on every submission (issue 20).
    Raises ServiceUnavailable (503) when storage is down, before anything is written in the DB.
    """
    for key, item in {i.key: i for i in incoming}.items():
        storage.put(key, item.data, item.info.mime)


def attach(incoming: Incoming, report_id: int | None, kind: str = PhotoKind.BEFORE) -> Photo:
    """The Photo row for a stored original; marks its upload used (once, even under races)."""
    from fieldreport import geo

    info = incoming.info
    # width/height are the upright size, as the derivatives and every viewer show it.
    photo = Photo(
        report_id=report_id,
        kind=kind,
        sha256=info.sha256,
        key=incoming.key,
        mime=info.mime,
        size_bytes=info.size_bytes,
        width=info.display_width,
        height=info.display_height,
        taken_at=info.taken_at,
        gps=geo.point(*info.gps) if info.gps else None,
    )
    db.session.add(photo)
    db.session.flush()
    if incoming.upload is not None:
        result = db.session.execute(
            update(Upload)
            .where(Upload.id == incoming.upload.id, Upload.used_at.is_(None))
            .values(used_at=utcnow(), photo_id=photo.id)
        )
        used = cast(CursorResult, result).rowcount
        if not used:
            raise Conflict(
                "upload_already_used",
                "This upload is already attached to a report.",
                "Ảnh tải lên này đã được gắn vào một phản ánh khác.",
            )
    return photo


def forget_uploads(incoming: list[Incoming]) -> None:
    """After commit, drop the upload objects (their bytes now live under orig/); best effort."""
    for item in incoming:
        if item.upload is not None:
            try:
                storage.remove(item.upload.key)
            except Exception:  # noqa: BLE001 (the orphan collector retries later)
                log.warning("upload object %s not removed", item.upload.key)


def make_derivatives(photo_id: int) -> str:
    """Worker job: display (≤ 2048 px) and thumbnail JPEGs, upright, metadata stripped.

    Idempotent: a photo that has both keys is left alone; a re-run overwrites the same keys.
    """
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        return "gone"
    if photo.display_key and photo.thumb_key:
        return "done"
    try:
        made = images.derivatives(storage.get(photo.key), **_limits(current_app.config))
    except images.PhotoRejected as exc:  # it passed inspect() at intake, so this is a bug
        log.error("photo %s: derivatives failed: %s", photo_id, exc)
        return "rejected"
    for name in DERIVATIVES:
        storage.put(public_key(photo.id, name), made[name].data, made[name].mime)
    photo.display_key = public_key(photo.id, "display")
    photo.thumb_key = public_key(photo.id, "thumb")
    uow.commit()
    return "made"


def strip_original(photo: Photo) -> None:
    """Replace a private original by a metadata-free copy (erasure): stored under its own
    content hash, so another photo sharing the old object keeps it and the orphan collector
    removes it once nothing refers to it. The caller commits."""
    clean = images.without_metadata(storage.get(photo.key), **_limits(current_app.config))
    sha = hashlib.sha256(clean.data).hexdigest()
    storage.put(f"orig/{sha}", clean.data, clean.mime)
    photo.sha256, photo.key, photo.mime, photo.size_bytes = sha, f"orig/{sha}", clean.mime, len(clean.data)
    photo.taken_at = None
    photo.gps = None


def collect_orphans(grace: timedelta = ORPHAN_GRACE) -> dict:
    """Periodic job: remove objects nothing refers to, once older than `grace`.

    An original is stored before its report commits, so a failed request leaves one behind;
    an upload may never be used; a deleted photo leaves its derivatives.
    """
    now = utcnow()
    cutoff = now - grace
    removed = {"originals": 0, "uploads": 0, "derivatives": 0}
    db.session.execute(delete(Upload).where(Upload.used_at.is_(None), Upload.expires_at < now))
    uow.commit()
    objects = [(k, t) for k, t in storage.keys() if t is None or t < cutoff]
    originals = [k for k, _ in objects if k.startswith("orig/")]
    uploads = [k for k, _ in objects if k.startswith("up/")]
    derived = [k for k, _ in objects if k.startswith("pub/")]
    for chunk in _chunks(originals):
        known = set(db.session.scalars(select(Photo.sha256).where(Photo.sha256.in_([k[5:] for k in chunk]))))
        removed["originals"] += _remove(k for k in chunk if k[5:] not in known)
    for chunk in _chunks(uploads):
        live = set(db.session.scalars(select(Upload.key).where(Upload.key.in_(chunk), Upload.used_at.is_(None))))
        removed["uploads"] += _remove(k for k in chunk if k not in live)
    for chunk in _chunks(derived):
        ids = {k: int(k.split("/")[1]) for k in chunk if k.split("/")[1].isdigit()}
        known = set(db.session.scalars(select(Photo.id).where(Photo.id.in_(set(ids.values())))))
        removed["derivatives"] += _remove(k for k in chunk if ids.get(k) not in known)
    uow.rollback()  # read-only from here; end the transaction
    return removed


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _remove(keys) -> int:
    n = 0
    for key in keys:
        storage.remove(key)
        n += 1
    return n
