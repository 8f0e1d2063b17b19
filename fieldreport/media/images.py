"""Validate uploaded photos and build metadata-free sRGB JPEG copies: pure Pillow functions on bytes.

Memory is bounded by `max_decoded_pixels`, not by the photo's size: JPEGs (48–200 MP phone
sensors) are decoded scaled in the DCT (draft mode: 1/8 to validate, just above the display
size for the copies), other formats cannot be and are refused beyond that bound. Measured by
bench/photos.py.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import numbers
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageCms, ImageFile, JpegImagePlugin, UnidentifiedImageError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "GIF")
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic", "GIF": "image/gif"}
MIME_TYPES = tuple(_MIME.values()) + ("image/jpg", "image/heif")  # what clients also call them
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1")
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ACCEPTED = "JPEG, PNG, WebP, HEIC"
_MESSAGES = {
    "photo_empty": ("The uploaded file is empty.", "Tệp tải lên bị trống."),
    "photo_too_large": (
        (
            "The photo is larger than {mb} MB. Please send a smaller copy (your phone's share or "
            "resize option) or take it at the camera's normal resolution."
        ),
        (
            "Ảnh lớn hơn {mb} MB. Vui lòng gửi bản nhỏ hơn (chức năng chia sẻ hoặc thu nhỏ ảnh của "
            "điện thoại) hoặc chụp ở độ phân giải thường của máy ảnh."
        ),
    ),
    "photo_not_image": (
        f"The file is not a photo. Please upload {_ACCEPTED}.",
        f"Tệp này không phải là ảnh. Vui lòng tải lên ảnh {_ACCEPTED}.",
    ),
    "photo_unsupported_type": (
        f"This image type is not supported. Please upload {_ACCEPTED}.",
        f"Định dạng ảnh này không được hỗ trợ. Vui lòng tải lên ảnh {_ACCEPTED}.",
    ),
    "photo_truncated": (
        "The photo is incomplete or damaged. Please upload it again.",
        "Ảnh bị thiếu dữ liệu hoặc bị hỏng. Vui lòng tải lên lại.",
    ),
    "photo_bomb": (
        (
            "The photo has too many pixels to process. Please take it at the camera's normal "
            "resolution, or send it as a JPEG or a smaller copy."
        ),
        (
            "Ảnh có quá nhiều điểm ảnh, không thể xử lý. Vui lòng chụp ở độ phân giải thường của "
            "máy ảnh, hoặc gửi ảnh dạng JPEG hay bản ảnh nhỏ hơn."
        ),
    ),
    "photo_corrupt": ("The photo is damaged and cannot be read.", "Ảnh bị hỏng và không thể đọc được."),
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

    @property
    def gps(self) -> tuple[float, float] | None:
        """The EXIF position as (lon, lat), or None (_metadata gives both or neither)."""
        if self.gps_lon is None or self.gps_lat is None:
            return None
        return self.gps_lon, self.gps_lat


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
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    ):
        return "photo_corrupt"
    if head.startswith(
        (b"II*\x00", b"MM\x00*", b"8BPS", b"\x00\x00\x01\x00", b"\xff\x0a", b"\x00\x00\x00\x0cJXL ")
    ) or (head[:2] == b"BM" and head[6:10] == b"\x00\x00\x00\x00"):
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
        except Exception:  # noqa: BLE001 (SyntaxError, struct.error, IndexError... from malformed headers)
            raise _reject("photo_corrupt") from None


def _open_any(data: bytes) -> Image.Image:
    if data.startswith(b"\xff\xd8\xff"):
        # Image.open refuses anything past 2 x MAX_IMAGE_PIXELS (179 MP) before we can decide;
        # a JPEG is decoded scaled, so _open checks its own limits right after this instead.
        # jpeg_factory gives an MpoImageFile for files with an MPF index (second image).
        try:
            return JpegImagePlugin.jpeg_factory(io.BytesIO(data))
        except (SyntaxError, IndexError, TypeError, struct.error):  # what Image.open skips
            raise UnidentifiedImageError("not a readable JPEG") from None
    return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)


def _format(img: Image.Image) -> str:
    # An MPO is a JPEG whose MPF index points at more images (stereo pairs, HDR gain maps,
    # previews); the first one is the photo and every JPEG reader shows it.
    return "JPEG" if img.format == "MPO" else (img.format or "")


def _open(data: bytes, max_bytes: int, max_pixels: int, max_decoded: int) -> Image.Image:
    """Open the bytes lazily and refuse them before any pixel is decoded if they are too big."""
    if not data:
        raise _reject("photo_empty")
    if len(data) > max_bytes:
        raise _reject("photo_too_large", mb=round(max_bytes / 2**20, 1))
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("ImageFile.LOAD_TRUNCATED_IMAGES must stay False: it lets truncated uploads through")
    _ensure_heif()
    with _as_rejection(data, max_decoded):
        img = _open_any(data)
    # Only a JPEG can be decoded scaled; any other format is decoded whole.
    limit = max_pixels if _format(img) == "JPEG" else min(max_pixels, max_decoded)
    if img.width * img.height > limit:
        raise _reject("photo_bomb")
    return img


def _draft(img: Image.Image, size: tuple[int, int], max_decoded: int) -> None:
    """Decode a JPEG at 1/2..1/8 scale, no smaller than `size`; refuse a decode past the bound."""
    if _format(img) == "JPEG":
        img.draft(None, size)
    if img.width * img.height > max_decoded:  # e.g. a 100000 x 2000 strip cannot shrink enough
        raise _reject("photo_bomb")


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
    numbers_ = [n for n in (_number(p) for p in parts) if n is not None]
    if len(numbers_) != len(parts) or not 1 <= len(numbers_) <= 3 or any(n < 0 for n in numbers_):
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
    except Exception:  # noqa: BLE001 (an IFD pointer that is a string or points outside the block)
        return {}


def _metadata(img: Image.Image) -> tuple[int | None, datetime | None, float | None, float | None]:
    """Orientation, capture time and position; any tag may be garbage, which reads as absent."""
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 (a malformed EXIF block does not make the pixels unusable)
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


def _rotation(fmt: str, orientation: int | None) -> Image.Transpose | None:
    """The turn an EXIF orientation asks for, if any; pillow-heif has already applied
    irot/imir at open and reports orientation 1."""
    return None if fmt == "HEIF" or orientation is None else _TRANSPOSE.get(orientation)


def inspect(
    data: bytes,
    *,
    max_bytes: int = 15 * 1024 * 1024,
    max_pixels: int = 200_000_000,
    max_decoded_pixels: int = 50_000_000,
) -> PhotoInfo:
    """Validate fully (decode all pixels: truncated files must fail) and return metadata.

    Raises PhotoRejected. `taken_at` is DateTimeOriginal, else the IFD0 DateTime.
    `max_pixels` bounds the photo, `max_decoded_pixels` what is ever decoded at once.
    """
    img = _open(data, max_bytes, max_pixels, max_decoded_pixels)
    width, height, fmt = img.width, img.height, _format(img)
    # Decoding a JPEG at 1/8 scale in the DCT domain still reads every entropy-coded segment,
    # so a truncated or corrupt file still fails, at about a third of the full decode's cost.
    _draft(img, (max(1, width // 8), max(1, height // 8)), max_decoded_pixels)
    _load(img, data, max_decoded_pixels)
    orientation, taken, lat, lon = _metadata(img)
    # Every frame is decoded so a damaged animation fails too, but the frames share one pixel
    # budget so a small file with thousands of frames cannot burn CPU. An MPO's other images
    # are not the photo and are never decoded.
    budget = min(max_pixels, max_decoded_pixels) - img.width * img.height
    with _as_rejection(data, max_decoded_pixels):
        frames = 1 if fmt == "JPEG" else getattr(img, "n_frames", 1)
    for index in range(1, frames):
        with _as_rejection(data, max_decoded_pixels):
            img.seek(index)
        budget -= img.width * img.height
        if budget < 0:
            raise _reject("photo_bomb")
        _load(img, data, max_decoded_pixels)
    swap = _rotation(fmt, orientation) is not None and (orientation or 0) >= 5
    return PhotoInfo(
        sha256=hashlib.sha256(data).hexdigest(),
        mime=_MIME[fmt],
        format=fmt,
        size_bytes=len(data),
        width=width,
        height=height,
        display_width=height if swap else width,
        display_height=width if swap else height,
        orientation=orientation,
        taken_at=taken,
        gps_lat=lat,
        gps_lon=lon,
    )


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
    return img if img.mode == "RGB" else img.convert("RGB")


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _profile(icc: bytes | None) -> tuple[ImageCms.ImageCmsProfile | None, str]:
    """The embedded profile and its colour space ('RGB', 'CMYK', 'GRAY'); unreadable is none."""
    if not icc:
        return None, ""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return profile, profile.profile.xcolor_space.strip()
    except (OSError, ImageCms.PyCMSError, ValueError):  # a nonsense profile: the pixels still count
        return None, ""


def _as_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB pixels in sRGB, the space a JPEG without a profile is shown in.

    Display-P3 (iPhones), Adobe RGB (cameras) and CMYK profiles are converted: dropping the
    profile with the metadata would show P3 and Adobe RGB photos 15-17% duller.
    """
    profile, space = _profile(icc)
    if profile is not None and img.mode == "CMYK" and space == "CMYK":
        return _transform(img, profile) or img.convert("RGB")
    img = _to_rgb(img)
    if profile is not None and space == "RGB":
        return _transform(img, profile) or img
    return img


def _transform(img: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image | None:
    try:
        return ImageCms.profileToProfile(
            img, profile, _srgb(), renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"
        )
    except (ImageCms.PyCMSError, ValueError, OSError):  # a profile lcms cannot build a transform from
        return None


def _encode(img: Image.Image) -> Derivative:
    # A fresh image carries no info/encoderinfo, so no EXIF, XMP, ICC or comment can follow.
    clean = Image.new("RGB", img.size)
    clean.paste(img)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return Derivative(out.getvalue(), "image/jpeg", clean.width, clean.height)


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    scale = min(1.0, longest / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


# Modes Pillow resamples smoothly; palette, 1-bit and 16-bit images are converted first.
_RESAMPLED = ("RGB", "RGBA", "L", "LA", "CMYK")


def derivatives(
    data: bytes,
    *,
    display_max: int = 2048,
    thumb_max: int = 320,
    max_pixels: int = 200_000_000,
    max_decoded_pixels: int = 50_000_000,
    max_bytes: int = 15 * 1024 * 1024,
) -> dict[str, Derivative]:
    """Return {'display': ..., 'thumb': ...}: upright sRGB JPEGs (quality 85), metadata dropped.

    Shrunk before any conversion, so only the (drafted) decode is ever held at full size.
    """
    img = _open(data, max_bytes, max_pixels, max_decoded_pixels)
    fmt = _format(img)
    _draft(img, _fit(img.size, display_max), max_decoded_pixels)
    _load(img, data, max_decoded_pixels)
    orientation, *_ = _metadata(img)
    icc = img.info.get("icc_profile")
    if img.mode not in _RESAMPLED or "transparency" in img.info:
        img = _to_rgb(img)
    img.thumbnail((display_max, display_max), Image.Resampling.LANCZOS)
    display = _as_srgb(img, icc)
    turn = _rotation(fmt, orientation)
    if turn is not None:
        display = display.transpose(turn)
    # resize() makes the thumbnail straight from the display copy: no second full-size copy.
    thumb = display.resize(_fit(display.size, thumb_max), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return {"display": _encode(display), "thumb": _encode(thumb)}


def without_metadata(
    data: bytes,
    *,
    max_pixels: int = 200_000_000,
    max_decoded_pixels: int = 50_000_000,
    max_bytes: int = 15 * 1024 * 1024,
) -> Derivative:
    """The photo at full (decodable) size as an upright sRGB JPEG with no metadata at all: what
    an erased report keeps of its private original (the evidence, not the EXIF time, GPS or
    device)."""
    return derivatives(
        data,
        display_max=1 << 16,
        thumb_max=1,
        max_pixels=max_pixels,
        max_decoded_pixels=max_decoded_pixels,
        max_bytes=max_bytes,
    )["display"]
