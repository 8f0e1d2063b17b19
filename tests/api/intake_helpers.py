"""Helpers for the intake tests: generated photos (with EXIF), multipart submissions, state changes."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image

BMT = (12.667, 108.038)  # lat, lon: Phường Buôn Ma Thuột (24133), the old city centre
CATEGORY_NO_PHOTO = "street_light"  # photo optional in the demo
CATEGORY_PHOTO = "road_damage"  # photo required in the demo


def _dms(value: float) -> tuple[float, float, float]:
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round(((value - deg) * 60 - minutes) * 60, 4)
    return float(deg), float(minutes), seconds


def exif_bytes(
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
    taken: datetime | None = None,
    maker: str | None = None,
) -> bytes:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if maker:
        exif[0x010F] = maker
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if gps:
        lat, lon = gps
        ifd = exif.get_ifd(0x8825)
        ifd[1], ifd[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        ifd[3], ifd[4] = ("E" if lon >= 0 else "W"), _dms(abs(lon))
    return exif.tobytes()


def image(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), color=(200, 80, 40), **exif) -> bytes:
    """A generated photo; EXIF (gps=(lat, lon), orientation=, taken=, maker=) where the format has it.

    "MPO" is a JPEG with an MPF index and a green second image, as many cameras and phones write.
    """
    img = Image.new("RGBA" if fmt == "PNG" else "RGB", size, color)
    # A marker in the top-left corner shows whether orientation was applied.
    img.paste((0, 0, 0), (0, 0, max(1, size[0] // 4), max(1, size[1] // 4)))
    out = io.BytesIO()
    kwargs = {"exif": exif_bytes(**exif)} if exif else {}
    if fmt == "MPO":
        kwargs.update(save_all=True, append_images=[Image.new("RGB", (64, 48), (0, 200, 0))])
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def submit(
    client,
    category: str = CATEGORY_NO_PHOTO,
    lat: float | None = BMT[0],
    lon: float | None = BMT[1],
    photos=(),
    headers: dict | None = None,
    **fields,
):
    """POST a multipart report; photos are (filename, bytes) pairs."""
    data = {"category": category, **{k: str(v) for k, v in fields.items()}}
    if lat is not None:
        data["lat"] = str(lat)
    if lon is not None:
        data["lon"] = str(lon)
    if photos:
        data["photos"] = [(io.BytesIO(b), name) for name, b in photos]
    return client.post("/api/v1/reports", data=data, headers=headers or {}, content_type="multipart/form-data")


def set_status(code: str, status: str, **fields):
    """Move a report as staff would (through the one history writer), for rating/reopen tests."""
    from fieldreport.extensions import db
    from fieldreport.models import Report
    from fieldreport.services import events

    report = db.session.query(Report).filter_by(code=code).one()
    events.record(report, status, actor="test", to_status=status)
    for k, v in fields.items():
        setattr(report, k, v)
    db.session.commit()
    return report
