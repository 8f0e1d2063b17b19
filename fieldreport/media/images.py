"""Validate uploaded photos and build metadata-free JPEG copies: pure Pillow functions on bytes."""
from __future__ import annotations

import hashlib
import io
import math
import numbers
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from PIL import Image, ImageFile, UnidentifiedImageError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "GIF")
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
         "HEIF": "image/heic", "GIF": "image/gif"}
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
                b"mif1", b"msf1")
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}
_ACCEPTED = "JPEG, PNG, WebP, HEIC"
_MESSAGES = {
    "photo_empty": ("The uploaded file is empty.", "Tệp tải lên bị trống."),
    "photo_too_large": ("The photo is larger than {mb} MB.", "Ảnh lớn hơn {mb} MB."),
    "photo_not_image": (f"The file is not a photo. Please upload {_ACCEPTED}.",
                        f"Tệp này không phải là ảnh. Vui lòng tải lên ảnh {_ACCEPTED}."),
    "photo_unsupported_type": (
        f"This image type is not supported. Please upload {_ACCEPTED}.",
        f"Định dạng ảnh này không được hỗ trợ. Vui lòng tải lên ảnh {_ACCEPTED}."),
    "photo_truncated": ("The photo is incomplete or damaged. Please upload it again.",
                        "Ảnh bị thiếu dữ liệu hoặc bị hỏng. Vui lòng tải lên lại."),
    "photo_bomb": ("The photo has too many pixels to process.",
                   "Ảnh có quá nhiều điểm ảnh, không thể xử lý."),
    "photo_corrupt": ("The photo is damaged and cannot be read.",
                      "Ảnh bị hỏng và không thể đọc được."),
}


class PhotoRejected(Exception):
    """Raised for an upload that is not an acceptable image."""

    def __init__(self, code: str, message_en: str, message_vi: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_en = message_en
        self.message_vi = message_vi


@dataclass(frozen=True)
class PhotoInfo:
    sha256: str
    mime: str
    format: str
    size_bytes: int
    width: int
    height: int
    display_width: int
    display_height: int
    orientation: int | None
    taken_at: datetime | None
    gps_lat: float | None
    gps_lon: float | None


@dataclass(frozen=True)
class Derivative:
    data: bytes
    mime: str
    width: int
    height: int


def _reject(code: str, **params) -> PhotoRejected:
    en, vi = _MESSAGES[code]
    return PhotoRejected(code, en.format(**params), vi.format(**params))


_heif_registered = False


def _ensure_heif() -> None:
    # Registering mutates Pillow's global plugin table, so do it on first use, not at import.
    global _heif_registered
    if not _heif_registered:
        import pillow_heif
        pillow_heif.register_heif_opener()
        _heif_registered = True


def _unidentified_code(data: bytes) -> str:
    """Pick a helpful code for bytes no allowed plugin would open, from magic numbers only."""
    head = data[:16]
    if head[4:8] == b"ftyp":
        return "photo_corrupt" if head[8:12] in _HEIF_BRANDS else "photo_unsupported_type"
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")) or (
            head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "photo_corrupt"
    if head.startswith((b"II*\x00", b"MM\x00*", b"8BPS", b"\x00\x00\x01\x00", b"\xff\x0a",
                        b"\x00\x00\x00\x0cJXL ")) or (
            head[:2] == b"BM" and head[6:10] == b"\x00\x00\x00\x00"):
        return "photo_unsupported_type"
    return "photo_not_image"


@contextmanager
def _as_rejection(data: bytes, max_pixels: int) -> Iterator[None]:
    """Translate Pillow's many failure modes on untrusted bytes into PhotoRejected codes."""
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: fatal, unless the caller
        # deliberately allows more pixels than that, in which case our own check decides.
        fatal = max_pixels <= (Image.MAX_IMAGE_PIXELS or 0)
        warnings.simplefilter("error" if fatal else "ignore", Image.DecompressionBombWarning)
        try:
            yield
        except (PhotoRejected, MemoryError):
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _reject("photo_bomb") from None
        except UnidentifiedImageError:  # subclass of OSError: must come first
            raise _reject(_unidentified_code(data)) from None
        except ValueError as exc:
            # PNG text chunks that inflate past MAX_TEXT_CHUNK; pillow-heif decoder errors.
            bomb = "decompressed data too large" in str(exc).lower()
            raise _reject("photo_bomb" if bomb else "photo_corrupt") from None
        except (OSError, EOFError):
            raise _reject("photo_truncated") from None
        except Exception:  # SyntaxError, struct.error, IndexError... from malformed headers
            raise _reject("photo_corrupt") from None


def _open(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open the bytes lazily and refuse them before any pixel is decoded if they are too big."""
    if not data:
        raise _reject("photo_empty")
    if len(data) > max_bytes:
        raise _reject("photo_too_large", mb=round(max_bytes / 2**20, 1))
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("ImageFile.LOAD_TRUNCATED_IMAGES must stay False: "
                           "it lets truncated uploads through")
    _ensure_heif()
    with _as_rejection(data, max_pixels):
        img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    if img.width * img.height > max_pixels:
        raise _reject("photo_bomb")
    return img


def _load(img: Image.Image, data: bytes, max_pixels: int) -> None:
    with _as_rejection(data, max_pixels):
        img.load()


def _number(value) -> float | None:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        result = float(value)  # IFDRational with a zero denominator gives nan
        return result if math.isfinite(result) else None
    return None


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) else None


def _coordinate(value, ref, positive: str, negative: str, limit: float) -> float | None:
    """Degrees from (deg, min, sec) rationals; some cameras put decimal minutes and zero seconds."""
    parts = value if isinstance(value, tuple) else (value,)
    numbers_ = [_number(p) for p in parts]
    if not 1 <= len(numbers_) <= 3 or any(n is None or n < 0 for n in numbers_):
        return None
    if any(n >= 60 for n in numbers_[1:]):
        return None
    degrees = sum(n / 60**i for i, n in enumerate(numbers_))
    ref = _text(positive if ref is None else ref)
    ref = (ref or positive).upper() if ref is not None else None  # a missing ref reads as N/E
    if ref not in (positive, negative) or degrees > limit:
        return None
    return -degrees if ref == negative else degrees


def _timestamp(value) -> datetime | None:
    value = (_text(value) or "")[:19]
    try:
        parsed = datetime.strptime(value[:10].replace("-", ":") + value[10:], "%Y:%m:%d %H:%M:%S")
    except ValueError:  # '0000:00:00 00:00:00', '<?php ...', empty strings
        return None
    return parsed if 1900 <= parsed.year <= 2100 else None


def _ifd(exif: Image.Exif, tag: int) -> dict:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # an IFD pointer that is a string or points outside the block
        return {}


def _metadata(img: Image.Image) -> tuple[int | None, datetime | None, float | None, float | None]:
    """Orientation, capture time and position; any tag may be garbage, which reads as absent."""
    try:
        exif = img.getexif()
    except Exception:  # a malformed EXIF block does not make the pixels unusable
        return None, None, None, None
    orientation = exif.get(0x0112)
    if type(orientation) is not int or not 1 <= orientation <= 8:
        orientation = None
    # DateTimeOriginal, else the IFD0 DateTime some phones (Samsung S7) write instead.
    taken = _timestamp(_ifd(exif, 0x8769).get(0x9003)) or _timestamp(exif.get(0x0132))
    gps = _ifd(exif, 0x8825)
    lat = _coordinate(gps.get(2), gps.get(1), "N", "S", 90) if 2 in gps else None
    lon = _coordinate(gps.get(4), gps.get(3), "E", "W", 180) if 4 in gps else None
    if lat is None or lon is None or (lat == 0 and lon == 0):  # 0,0 is what fix-less devices write
        lat = lon = None
    return orientation, taken, lat, lon


def _rotates(fmt: str, orientation: int | None) -> bool:
    # pillow-heif has already applied irot/imir at open and reports orientation 1.
    return fmt != "HEIF" and orientation in _TRANSPOSE


def inspect(data: bytes, *, max_bytes: int = 15 * 1024 * 1024,
            max_pixels: int = 40_000_000) -> PhotoInfo:
    """Validate fully (decode all pixels: truncated files must fail) and return metadata.

    Raises PhotoRejected. `taken_at` is DateTimeOriginal, else the IFD0 DateTime.
    """
    img = _open(data, max_bytes, max_pixels)
    width, height, fmt = img.width, img.height, img.format
    if fmt == "JPEG":
        # Decoding at 1/8 scale in the DCT domain still reads every entropy-coded segment, so a
        # truncated or corrupt file still fails, at about a third of the full decode's cost.
        img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
    _load(img, data, max_pixels)
    orientation, taken, lat, lon = _metadata(img)
    # Every frame is decoded so a damaged animation fails too, but the frames share one pixel
    # budget so a small file with thousands of frames cannot burn CPU.
    budget = max_pixels - width * height
    with _as_rejection(data, max_pixels):
        frames = getattr(img, "n_frames", 1)
    for index in range(1, frames):
        with _as_rejection(data, max_pixels):
            img.seek(index)
        budget -= img.width * img.height
        if budget < 0:
            raise _reject("photo_bomb")
        _load(img, data, max_pixels)
    swap = _rotates(fmt, orientation) and orientation >= 5
    return PhotoInfo(
        sha256=hashlib.sha256(data).hexdigest(), mime=_MIME[fmt], format=fmt,
        size_bytes=len(data), width=width, height=height,
        display_width=height if swap else width, display_height=width if swap else height,
        orientation=orientation, taken_at=taken, gps_lat=lat, gps_lon=lon)


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB pixels for JPEG: alpha flattened on white, 16-bit grey scaled rather than clipped."""
    if img.mode.startswith("I"):
        # convert("L") clips 16-bit values at 255, turning most pixels white.
        alpha = img.convert("RGBA").getchannel("A")  # honours a tRNS grey value
        grey = img.convert("I").point(lambda v: v / 257).convert("L")
        img = Image.merge("LA", (grey, alpha))
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def _encode(img: Image.Image) -> Derivative:
    # A fresh image carries no info/encoderinfo, so no EXIF, XMP, ICC or comment can follow.
    clean = Image.new("RGB", img.size)
    clean.paste(img)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return Derivative(out.getvalue(), "image/jpeg", clean.width, clean.height)


def _shrink(img: Image.Image, longest: int) -> Image.Image:
    copy = img.copy()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return copy


def derivatives(data: bytes, *, display_max: int = 2048, thumb_max: int = 320,
                max_pixels: int = 40_000_000,
                max_bytes: int = 15 * 1024 * 1024) -> dict[str, Derivative]:
    """Return {'display': ..., 'thumb': ...}: upright RGB JPEGs (quality 85), metadata dropped."""
    img = _open(data, max_bytes, max_pixels)
    if img.format == "JPEG":
        # Decode at 1/2..1/8 scale in the DCT when the photo is far larger than the display copy.
        img.draft(None, (display_max, display_max))
    _load(img, data, max_pixels)
    orientation, *_ = _metadata(img)
    if _rotates(img.format, orientation):
        img = img.transpose(_TRANSPOSE[orientation])
    display = _shrink(_to_rgb(img), display_max)
    return {"display": _encode(display), "thumb": _encode(_shrink(display, thumb_max))}
