"""Tests for the pure photo pipeline: the shared real-photo corpus, then images built here."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
import struct
import warnings
import zlib
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageFile, ImageStat

from fieldreport.media import images
from fieldreport.media.images import PhotoInfo, PhotoRejected, derivatives, inspect

CORPUS = Path(os.environ.get("FIELDREPORT_PHOTO_CORPUS", "/work/shared/data/photos"))
CODES = {
    "photo_empty",
    "photo_too_large",
    "photo_not_image",
    "photo_unsupported_type",
    "photo_truncated",
    "photo_bomb",
    "photo_corrupt",
}
EXIF_TIME = "%Y:%m:%d %H:%M:%S"


# --- the shared corpus: every MANIFEST.csv row -----------------------------------------------


def _manifest_rows() -> list:
    manifest = CORPUS / "MANIFEST.csv"
    if not manifest.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no photo corpus at {CORPUS}"))]
    with manifest.open(newline="") as fh:
        return [pytest.param(row, id=row["file"]) for row in csv.DictReader(fh)]


def _expected(row: dict) -> dict:
    """Parse 'accept: k=v; k=v -- comment' or 'reject: reason [...]'."""
    verdict, _, rest = row["expected"].partition(": ")
    if verdict == "reject":
        return {"verdict": "reject", "reason": rest}
    fields = dict(part.split("=", 1) for part in rest.split(" -- ")[0].split("; "))
    fields["verdict"] = verdict
    return fields


def _size(text: str) -> tuple[int, int]:
    width, height = text.split("x")
    return int(width), int(height)


def _reject_codes(reason: str) -> set[str]:
    reason = reason.lower()
    for needle, codes in (
        ("bomb", {"photo_bomb"}),
        ("truncated", {"photo_truncated"}),
        ("zero-byte", {"photo_empty"}),
        ("not an image", {"photo_not_image"}),
        ("corrupt heic", {"photo_corrupt", "photo_not_image"}),
    ):
        if needle in reason:
            return codes
    return CODES


@functools.cache
def _corpus_bytes(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@functools.cache
def _corpus_derivatives(name: str) -> dict:
    return derivatives(_corpus_bytes(name))


@pytest.mark.parametrize("row", _manifest_rows())
def test_corpus_inspect_matches_manifest(row):
    data, want = _corpus_bytes(row["file"]), _expected(row)
    if want["verdict"] == "reject":
        with pytest.raises(PhotoRejected) as caught:
            inspect(data)
        assert caught.value.code in _reject_codes(want["reason"])
        return
    info = inspect(data)
    assert info.format == want["format"]
    assert (info.width, info.height) == _size(want["size"])
    assert (info.display_width, info.display_height) == _size(want["display"])
    orientation = want["orientation"]
    assert info.orientation == (int(orientation) if orientation.isdigit() else None)
    if want["gps"] == "none":
        assert info.gps_lat is None and info.gps_lon is None
    else:
        lat, lon = (float(v) for v in want["gps"].split(","))
        assert info.gps_lat == pytest.approx(lat, abs=1e-5)
        assert info.gps_lon == pytest.approx(lon, abs=1e-5)
    taken = want["taken"]
    assert info.taken_at == (None if taken == "none" else datetime.strptime(taken, EXIF_TIME))
    assert info.size_bytes == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("row", _manifest_rows())
def test_corpus_derivatives_are_upright_small_and_clean(row):
    want = _expected(row)
    if want["verdict"] == "reject":
        with pytest.raises(PhotoRejected):
            derivatives(_corpus_bytes(row["file"]))
        return
    display_w, display_h = _size(want["display"])
    made = _corpus_derivatives(row["file"])
    assert set(made) == {"display", "thumb"}
    for kind, longest in (("display", 2048), ("thumb", 320)):
        copy = made[kind]
        assert max(copy.width, copy.height) <= longest
        assert max(copy.width, copy.height) == min(longest, max(display_w, display_h))
        assert copy.width / copy.height == pytest.approx(display_w / display_h, rel=0.02)
        _assert_clean_jpeg(copy)


def test_corpus_orientations_all_render_the_same_picture():
    if not (CORPUS / "orient_Landscape_1.jpg").exists():
        pytest.skip(f"no photo corpus at {CORPUS}")
    reference = _decode(_corpus_derivatives("orient_Landscape_1.jpg")["thumb"])
    for n in range(2, 9):
        other = _decode(_corpus_derivatives(f"orient_Landscape_{n}.jpg")["thumb"])
        assert other.size == reference.size
        assert _mean_difference(reference, other) < 12, f"orientation {n} renders differently"


# --- helpers for images generated here -------------------------------------------------------


def _decode(derivative) -> Image.Image:
    img = Image.open(io.BytesIO(derivative.data))
    img.load()
    return img


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def _assert_clean_jpeg(derivative) -> None:
    assert derivative.mime == "image/jpeg"
    for needle in (b"<?php", b"Exif\x00\x00", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"Photoshop 3.0"):
        assert needle not in derivative.data
    img = _decode(derivative)
    assert img.format == "JPEG" and img.mode == "RGB"
    assert (img.width, img.height) == (derivative.width, derivative.height)
    assert len(img.getexif()) == 0
    assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & set(img.info)


def _encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def _noise(size=(200, 150)) -> Image.Image:
    """Incompressible pixels, so cutting the file in half really loses image data."""
    grey = Image.effect_noise(size, 64)
    return Image.merge("RGB", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries no pixel data at all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


def _exif_of_strings(tags, text=b"<?php phpinfo(); ?>\x00") -> bytes:
    """Raw EXIF in which every tag, even the IFD pointers, is an ASCII string (Pillow won't)."""
    offset = 8 + 2 + 12 * len(tags) + 4
    body = b"II*\x00" + struct.pack("<IH", 8, len(tags))
    for tag in sorted(tags):
        body += struct.pack("<HHII", tag, 2, len(text), offset)
    return b"Exif\x00\x00" + body + struct.pack("<I", 0) + text


def _jpeg_with_exif(size=(60, 40), **tags) -> bytes:
    img = Image.new("RGB", size, "blue")
    img.paste((255, 0, 0), (0, 0, 20, 20))  # a red mark at the stored top-left corner
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[int(tag[1:], 16)] = value
    return _encode(img, "JPEG", exif=exif, quality=95)


def _rejected(data: bytes, **limits) -> str:
    with pytest.raises(PhotoRejected) as caught:
        inspect(data, **limits)
    assert caught.value.message_en and caught.value.message_vi
    return caught.value.code


HANOI_GPS = {1: "N", 2: (21.0, 1.0, 42.6), 3: "E", 4: (105.0, 48.0, 17.3)}


# --- metadata --------------------------------------------------------------------------------


def test_orientation_gps_and_time_from_generated_jpeg():
    data = _jpeg_with_exif(x0112=6, x8825=HANOI_GPS, x8769={0x9003: "2024:05:01 08:30:00"})
    info = inspect(data)
    assert (info.width, info.height, info.display_width, info.display_height) == (60, 40, 40, 60)
    assert info.orientation == 6 and info.format == "JPEG" and info.mime == "image/jpeg"
    assert info.gps_lat == pytest.approx(21.028500, abs=1e-6)
    assert info.gps_lon == pytest.approx(105.804806, abs=1e-6)
    assert info.taken_at == datetime(2024, 5, 1, 8, 30)
    display = _decode(derivatives(data)["display"])
    assert display.size == (40, 60)
    # Orientation 6 means "rotate 90° clockwise to view": the stored top-left lands top-right.
    red, blue = display.getpixel((35, 3)), display.getpixel((3, 3))
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200


def test_south_west_refs_and_decimal_minutes_are_negative():
    gps = {1: "S", 2: (0.0, 22.278, 0.0), 3: "W", 4: (36.0, 3.385, 0.0)}
    info = inspect(_jpeg_with_exif(x8825=gps))
    assert (info.gps_lat, info.gps_lon) == (pytest.approx(-0.3713), pytest.approx(-36.056417))


@pytest.mark.parametrize(
    "gps",
    [
        {0: b"\x02\x02\x00\x00"},  # version only
        {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)},  # latitude out of range
        {1: "N", 2: (10.0, 0.0, 0.0), 3: "E", 4: (181.0, 0.0, 0.0)},  # longitude out of range
        {1: "Q", 2: (10.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)},  # unknown hemisphere
        {1: "N", 2: (10.0, 75.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)},  # 75 minutes
        {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)},  # 0,0 from devices with no fix
        {1: "N", 2: (10.0, 0.0, 0.0), 3: "E"},  # latitude only
    ],
    ids=["version-only", "lat-95", "lon-181", "ref-Q", "minutes-75", "null-island", "lat-only"],
)
def test_unusable_gps_reads_as_absent(gps):
    info = inspect(_jpeg_with_exif(x8825=gps))
    assert info.gps_lat is None and info.gps_lon is None


def test_datetime_fallback_and_garbage_time():
    fallback = inspect(_jpeg_with_exif(x0132="2016:09:12 10:05:31"))
    assert fallback.taken_at == datetime(2016, 9, 12, 10, 5, 31)
    assert inspect(_jpeg_with_exif(x8769={0x9003: "0000:00:00 00:00:00"})).taken_at is None
    assert inspect(_jpeg_with_exif(x0112=9)).orientation is None


def test_every_tag_a_php_string_neither_crashes_nor_leaks():
    data = _encode(Image.new("RGB", (64, 48), "green"), "JPEG", exif=_exif_of_strings([0x0112, 0x0132, 0x8769, 0x8825]))
    assert b"<?php" in data
    info = inspect(data)
    assert (info.orientation, info.taken_at, info.gps_lat, info.gps_lon) == (None, None, None, None)
    assert (info.display_width, info.display_height) == (64, 48)
    for derivative in derivatives(data).values():
        _assert_clean_jpeg(derivative)


def test_heic_is_sniffed_by_content_and_never_rotated_twice():
    images._ensure_heif()
    if "HEIF" not in Image.SAVE:
        pytest.skip("pillow-heif built without an HEVC encoder")
    img = Image.new("RGB", (60, 40), "blue")
    img.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112], exif[0x8825] = 6, HANOI_GPS
    data = _encode(img, "HEIF", exif=exif, quality=90)
    info = inspect(data)
    assert (info.format, info.mime) == ("HEIF", "image/heic")
    assert info.gps_lat == pytest.approx(21.0285, abs=1e-5)
    # HEIF geometry comes from irot/imir, which pillow-heif applies at open; EXIF is not re-applied.
    assert (info.display_width, info.display_height, info.orientation) == (60, 40, 1)
    display = _decode(derivatives(data)["display"])
    assert display.size == (60, 40) and display.getpixel((3, 3))[0] > 200
    _assert_clean_jpeg(derivatives(data)["thumb"])


# --- rejections ------------------------------------------------------------------------------


def test_empty_and_oversized_uploads():
    assert _rejected(b"") == "photo_empty"
    data = _encode(_noise(), "PNG")
    assert _rejected(data, max_bytes=len(data) - 1) == "photo_too_large"
    assert inspect(data, max_bytes=len(data)).size_bytes == len(data)


@pytest.mark.parametrize(
    "payload",
    [
        b"hello, this is a text file that someone named photo.jpg\n",
        b"push graphic-context\nviewbox 0 0 640 480\nfill 'url(https://x.test/a.jpg\"|touch \"p)'\n",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n",
        b"AT&TFORM\x00\x00\x00\x20DJVMDIRM",
    ],
    ids=["text", "mvg", "pdf", "djvu"],
)
def test_non_images_are_not_images(payload):
    assert _rejected(payload) == "photo_not_image"


@pytest.mark.parametrize(
    "data",
    [
        _encode(Image.new("RGB", (10, 10)), "TIFF"),
        _encode(Image.new("RGB", (10, 10)), "BMP"),
        b"\x00\x00\x00\x1cftypavif" + bytes(64),
        b"\x00\x00\x00\x18ftypmp42" + bytes(64),
    ],
    ids=["tiff", "bmp", "avif", "mp4"],
)
def test_other_image_and_media_types_are_unsupported(data):
    assert _rejected(data) == "photo_unsupported_type"


@pytest.mark.parametrize(
    "head", [b"\x00\x00\x00\x18ftypheic", b"\xff\xd8\xff\xe0", b"GIF89a", b"RIFF\x00\x10\x00\x00WEBPVP8 "]
)
def test_allowed_type_with_a_broken_header_is_damaged_not_foreign(head):
    # Pillow reports some of these as OSError, which reads as truncated: both say "damaged".
    assert _rejected(head + b"\x01" * 40) in {"photo_corrupt", "photo_truncated"}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_truncated_files_fail(fmt):
    data = _encode(_noise(), fmt)
    half = data[: len(data) // 2]
    if fmt != "WEBP":  # WebP builds its decoder in open(); the others only notice in load()
        Image.open(io.BytesIO(half))
    assert _rejected(half) == "photo_truncated"
    with pytest.raises(PhotoRejected):
        derivatives(half)


def test_damaged_later_frame_of_an_animation_fails():
    frames = [_noise((120, 90)) for _ in range(4)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    data = out.getvalue()
    assert inspect(data).format == "GIF"
    assert _rejected(data[: int(len(data) * 0.8)]) == "photo_truncated"
    assert _rejected(data, max_pixels=3 * 120 * 90) == "photo_bomb"  # frames share one budget


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (8000, 8000)])
def test_huge_declared_dimensions_are_refused_before_decoding(width, height):
    # No pixel data follows the header: reaching the decoder would give photo_truncated.
    data = _png_header_only(width, height)
    assert len(data) < 100
    assert _rejected(data) == "photo_bomb"
    with pytest.raises(PhotoRejected) as caught:
        derivatives(data)
    assert caught.value.code == "photo_bomb"


def test_max_pixels_is_the_callers_limit():
    data = _encode(Image.new("RGB", (100, 100)), "PNG")
    assert _rejected(data, max_pixels=9_999) == "photo_bomb"
    assert inspect(data, max_pixels=10_000).width == 100
    # In Pillow's warning band (MAX_IMAGE_PIXELS..2x) the warning is fatal by default, but a
    # caller who allows more gets past it to the decoder (which finds no pixel data here).
    side = int((Image.MAX_IMAGE_PIXELS * 1.2) ** 0.5)
    band = _png_header_only(side, side)
    assert _rejected(band, max_pixels=Image.MAX_IMAGE_PIXELS) == "photo_bomb"
    wide = {"max_pixels": 2 * Image.MAX_IMAGE_PIXELS, "max_decoded_pixels": 2 * Image.MAX_IMAGE_PIXELS}
    assert _rejected(band, **wide) == "photo_truncated"


def test_png_text_chunk_bomb():
    png = _encode(Image.new("RGB", (8, 8)), "PNG")
    ztxt = _png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 8 * 2**20, 9))
    data = png[:33] + ztxt + png[33:]  # right after the 8-byte signature and 25-byte IHDR
    assert len(data) < 20_000
    assert _rejected(data) == "photo_bomb"


def test_pillow_globals_are_left_alone(monkeypatch):
    before = (Image.MAX_IMAGE_PIXELS, list(warnings.filters))
    for data in (_png_header_only(100_000, 100_000), _encode(_noise(), "JPEG")):
        try:
            inspect(data)
        except PhotoRejected:
            pass
    assert (Image.MAX_IMAGE_PIXELS, list(warnings.filters)) == before
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError):
        inspect(_encode(_noise(), "JPEG"))


# --- pixel conversions for the public copies -------------------------------------------------


def test_rgba_png_is_flattened_on_white():
    img = Image.new("RGBA", (50, 40), (0, 0, 0, 0))
    img.paste((200, 0, 0, 255), (0, 0, 10, 10))
    display = _decode(derivatives(_encode(img, "PNG"))["display"])
    assert min(display.getpixel((40, 30))) > 245
    assert display.getpixel((3, 3))[0] > 170 and display.getpixel((3, 3))[1] < 40


def test_cmyk_jpeg_becomes_rgb():
    data = _encode(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG")
    assert inspect(data).format == "JPEG"
    red = _decode(derivatives(data)["display"]).getpixel((20, 20))
    assert red[0] > 200 and red[1] < 60 and red[2] < 60


def test_16bit_grey_is_scaled_not_clipped_to_white():
    img = Image.new("I;16", (64, 64), 32768)  # mid-grey on a 0..65535 scale
    display = _decode(derivatives(_encode(img, "PNG"))["display"])
    assert 110 < display.getpixel((10, 10))[0] < 145


def test_animated_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "lime", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    first = _decode(derivatives(out.getvalue())["thumb"]).getpixel((20, 15))
    assert first[0] > 200 and first[1] < 60


@pytest.mark.parametrize("size", [(5000, 400), (3000, 1), (1, 900), (1500, 2100)])
def test_sizes_fit_the_bounds_and_keep_the_shape(size):
    data = _encode(Image.new("RGB", size, "grey"), "PNG")
    made = derivatives(data, display_max=1024, thumb_max=100)
    for kind, longest in (("display", 1024), ("thumb", 100)):
        copy = made[kind]
        assert max(copy.width, copy.height) == min(longest, max(size))
        assert min(copy.width, copy.height) >= 1
        assert (copy.width >= copy.height) == (size[0] >= size[1])


# --- what current phones and cameras send ----------------------------------------------------


def _mpo(first: Image.Image, second: Image.Image, **params) -> bytes:
    """A JPEG with an MPF index and a second image (stereo cameras, HDR gain maps)."""
    return _encode(first, "MPO", save_all=True, append_images=[second], **params)


def test_mpo_is_a_jpeg_whose_first_image_is_the_photo():
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update(HANOI_GPS)
    data = _mpo(
        Image.new("RGB", (300, 200), (200, 30, 30)), Image.new("RGB", (64, 48), (0, 200, 0)), exif=exif.tobytes()
    )
    assert Image.open(io.BytesIO(data)).format == "MPO"
    info = inspect(data)
    assert (info.format, info.mime, info.width, info.height) == ("JPEG", "image/jpeg", 300, 200)
    assert (info.display_width, info.display_height, info.orientation) == (200, 300, 6)
    assert info.gps_lat == pytest.approx(21.0285, abs=1e-3)
    made = derivatives(data)
    _assert_clean_jpeg(made["display"])
    display = _decode(made["display"])
    assert display.size == (200, 300)
    red = display.getpixel((100, 150))
    assert red[0] > 180 and red[1] < 60 and red[2] < 60


def _photo_like(size: tuple[int, int], quality: int = 85) -> bytes:
    """A JPEG of `size` with photo-like detail: a small noise image scaled up (smooth gradients)."""
    small = _noise((size[0] // 64, size[1] // 64))
    return _encode(small.resize(size, Image.Resampling.BILINEAR), "JPEG", quality=quality)


@functools.cache
def _fifty_megapixels() -> bytes:
    return _photo_like((8160, 6120))  # 49.9 MP: the full-resolution mode of 50 MP phone sensors


def test_fifty_megapixel_phone_jpeg_is_accepted_with_a_bounded_decode():
    data = _fifty_megapixels()
    info = inspect(data)
    assert (info.width, info.height, info.format) == (8160, 6120, "JPEG")
    # 13 MP of decoded pixels is a quarter of the photo: only a scaled (draft) decode fits, in
    # inspect (1/8) as in the copies (1/2 here, the first scale at or above 2048 px).
    bounded = {"max_decoded_pixels": 13_000_000}
    assert inspect(data, **bounded).width == 8160
    made = derivatives(data, **bounded)
    assert (made["display"].width, made["display"].height) == (2048, 1536)
    assert (made["thumb"].width, made["thumb"].height) == (320, 240)
    _assert_clean_jpeg(made["display"])
    full = Image.open(io.BytesIO(data)).resize((2048, 1536), Image.Resampling.BOX)
    assert _mean_difference(_decode(made["display"]), full) < 4


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A small valid JPEG whose frame header is rewritten to declare width x height."""
    data = bytearray(_encode(_noise((64, 48)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


@pytest.mark.parametrize("width,height", [(65_000, 65_000), (20_000, 12_000)])
def test_jpeg_bombs_past_the_pixel_limit_are_refused_before_decoding(width, height):
    data = _jpeg_declaring(width, height)
    assert len(data) < 10_000
    with pytest.raises(PhotoRejected) as caught:
        inspect(data)
    assert caught.value.code == "photo_bomb"
    assert "normal resolution" in caught.value.message_en  # what to do, not only what went wrong
    assert "độ phân giải thường" in caught.value.message_vi


def test_jpeg_up_to_200_megapixels_reaches_the_scaled_decoder():
    # 16320 x 12240 (a 200 MP sensor) is past Pillow's own 179 MP refusal; the frame header
    # is accepted and the decoder (at 1/8) finds the data missing (no end-of-image marker).
    assert _rejected(_jpeg_declaring(16_320, 12_240)[:-2]) == "photo_truncated"


def test_other_formats_are_bounded_by_the_decode_limit():
    data = _encode(Image.new("RGB", (300, 200)), "PNG")
    assert inspect(data, max_decoded_pixels=60_000).width == 300
    assert _rejected(data, max_decoded_pixels=59_999) == "photo_bomb"


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _icc_tag(kind: bytes, body: bytes) -> bytes:
    data = kind + b"\0" * 4 + body
    return data + b"\0" * (-len(data) % 4)


def _matrix_icc(name: str, red, green, blue, trc) -> bytes:
    """An ICC v2 matrix/TRC display profile (what P3 and Adobe RGB are), built byte by byte."""
    text = name.encode() + b"\0"
    desc = _icc_tag(b"desc", struct.pack(">I", len(text)) + text + b"\0" * 79)
    if isinstance(trc, float):  # a plain gamma
        curve = _icc_tag(b"curv", struct.pack(">IH", 1, round(trc * 256)))
    else:  # IEC 61966 (sRGB-style) parametric curve
        curve = _icc_tag(b"para", struct.pack(">HH", 3, 0) + b"".join(_s15(v) for v in trc))
    d50 = (0.9642, 1.0, 0.8249)
    tags = [(b"desc", desc), (b"cprt", _icc_tag(b"text", b"none\0"))]
    tags += [
        (sig, _icc_tag(b"XYZ ", b"".join(_s15(v) for v in xyz)))
        for sig, xyz in ((b"wtpt", d50), (b"rXYZ", red), (b"gXYZ", green), (b"bXYZ", blue))
    ]
    tags += [(sig, curve) for sig in (b"rTRC", b"gTRC", b"bTRC")]
    offset, table, body = 128 + 4 + 12 * len(tags), b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", offset + len(body))
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28
        + b"".join(_s15(v) for v in d50)
    )
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


_SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
# Colorants adapted to D50 as the profiles carry them; the matrices to linear sRGB are the
# published D65 ones, so the expected colour does not come from lcms itself.
_PROFILES = {
    "display_p3": (
        _matrix_icc(
            "Display P3 (generated)",
            (0.51512, 0.24120, -0.00105),
            (0.29198, 0.69225, 0.04189),
            (0.15710, 0.06657, 0.78407),
            _SRGB_CURVE,
        ),
        lambda v: v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4,
        ((1.2249, -0.2249, 0.0), (-0.0421, 1.0421, 0.0), (-0.0196, -0.0786, 1.0983)),
    ),
    "adobe_rgb": (
        _matrix_icc(
            "Adobe RGB (generated)",
            (0.60974, 0.31111, 0.01947),
            (0.20528, 0.62567, 0.06087),
            (0.14919, 0.06322, 0.74457),
            563 / 256,
        ),
        lambda v: v ** (563 / 256),
        ((1.3982, -0.3982, 0.0), (0.0, 1.0, 0.0), (0.0, -0.0429, 1.0429)),
    ),
}


def _in_srgb(colour: tuple[int, int, int], profile: str) -> tuple[float, ...]:
    _, linear, matrix = _PROFILES[profile]
    lin = [linear(c / 255) for c in colour]
    out = [min(1.0, max(0.0, sum(m * v for m, v in zip(row, lin)))) for row in matrix]
    return tuple(255 * (12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055) for v in out)


@pytest.mark.parametrize(
    "fmt,profile,tolerance",
    [
        ("JPEG", "display_p3", 4),
        ("HEIF", "display_p3", 6),
        ("PNG", "adobe_rgb", 3),
        ("JPEG", "adobe_rgb", 4),
        ("WEBP", "display_p3", 6),
    ],
)
def test_wide_gamut_photos_are_converted_to_srgb(fmt, profile, tolerance):
    images._ensure_heif()
    colour = (220, 100, 60)  # a brick red, inside sRGB from both spaces
    params = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    data = _encode(Image.new("RGB", (96, 64), colour), fmt, icc_profile=_PROFILES[profile][0], **params)
    made = derivatives(data)
    _assert_clean_jpeg(made["display"])
    got = _decode(made["display"]).getpixel((48, 32))
    want = _in_srgb(colour, profile)
    assert all(abs(g - w) <= tolerance for g, w in zip(got, want)), (got, want)
    # Without the conversion the copy would keep the raw values: visibly duller (the test can tell).
    assert max(abs(c - w) for c, w in zip(colour, want)) > 2 * tolerance


def test_an_unreadable_profile_keeps_the_pixels():
    data = _encode(Image.new("RGB", (40, 30), (200, 120, 80)), "JPEG", quality=95, icc_profile=b"\0" * 200)
    got = _decode(derivatives(data)["display"]).getpixel((20, 15))
    assert all(abs(g - w) <= 4 for g, w in zip(got, (200, 120, 80)))


# --- property: untrusted bytes only ever yield PhotoInfo or PhotoRejected --------------------

_SEED_FILES = [_encode(_noise((40, 30)), fmt) for fmt in ("JPEG", "PNG", "WEBP", "GIF")]


@st.composite
def _damaged(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEED_FILES)))
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(1, len(data)))])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=64), _damaged()))
def test_any_bytes_give_info_or_rejection(data):
    try:
        info = inspect(data)
    except PhotoRejected as exc:
        assert exc.code in CODES
        return
    assert isinstance(info, PhotoInfo)
    try:
        derivatives(data)
    except PhotoRejected as exc:
        assert exc.code in CODES
