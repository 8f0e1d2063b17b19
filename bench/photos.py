"""Peak memory of one photo through inspect() + derivatives(), as one API/RQ worker pays it.

    python bench/photos.py [--megapixels 12 50 200] [--heif 48]

Each photo is generated once (photo-like detail: noise scaled up, quality 85), then checked
in a fresh Python process whose peak RSS (VmHWM, reset through /proc/self/clear_refs just
before) is its own. Printed: the file, the peak RSS above the process's resident set just
before (interpreter, Pillow and the file's bytes loaded), the floor, and the ratio. The floor is the display copy's pixels (2048 px long side, RGB): no
pipeline can build it in less. Next to it, what a full decode of the photo would hold. tracemalloc
sees only Python's allocator, not Pillow's pixel buffers, so RSS is what is measured.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ASPECT = (4, 3)


def _size(megapixels: float) -> tuple[int, int]:
    unit = (megapixels * 1e6 / (ASPECT[0] * ASPECT[1])) ** 0.5
    return int(unit * ASPECT[0]) // 16 * 16, int(unit * ASPECT[1]) // 16 * 16


def make(path: Path, megapixels: float, fmt: str) -> tuple[int, int]:
    from PIL import Image

    size = _size(megapixels)
    small = Image.effect_noise((size[0] // 64, size[1] // 64), 48).convert("RGB")
    big = small.resize(size, Image.Resampling.BILINEAR)
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    big.save(path, fmt, quality=85)
    return size


def child(path: str) -> None:
    """Run in a fresh process: baseline RSS, then the pipeline, then the peak."""
    from fieldreport.media import images

    data = Path(path).read_bytes()
    images._ensure_heif()
    images.inspect(_tiny())  # load every code path once
    images.derivatives(_tiny())
    # Reset the kernel's high-water mark (Linux >= 4.0), so the peak is this photo's own.
    Path("/proc/self/clear_refs").write_text("5")
    base = _status_kib("VmRSS")
    start = time.perf_counter()
    info = images.inspect(data, max_bytes=64 * 2**20)
    made = images.derivatives(data, max_bytes=64 * 2**20)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    print(
        json.dumps(
            {
                "kib": peak - base,
                "seconds": seconds,
                "size": [info.width, info.height],
                "display": [made["display"].width, made["display"].height],
            }
        )
    )


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _tiny() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(out, "JPEG")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megapixels", type=float, nargs="*", default=[12, 50, 200])
    parser.add_argument("--heif", type=float, nargs="*", default=[12, 48])
    args = parser.parse_args()
    cases = [(mp, "JPEG") for mp in args.megapixels] + [(mp, "HEIF") for mp in args.heif]
    print(
        f"{'photo':>18} {'file MB':>8} {'peak RSS MB':>12} {'floor MB':>9} {'ratio':>6} "
        f"{'full decode MB':>15} {'seconds':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for mp, fmt in cases:
            path = Path(tmp) / f"{mp:g}mp.{fmt.lower()}"
            width, height = make(path, mp, fmt)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path)], check=True, capture_output=True, text=True, cwd=ROOT
            ).stdout
            got = json.loads(out.strip().splitlines()[-1])
            peak = got["kib"] / 1024
            dw, dh = got["display"]
            floor = dw * dh * 3 / 2**20
            full = width * height * 3 / 2**20
            print(
                f"{f'{mp:g} MP {fmt} {width}x{height}':>18} {path.stat().st_size / 2**20:8.1f} "
                f"{peak:12.0f} {floor:9.1f} {peak / floor:6.1f} {full:15.0f} {got['seconds']:8.2f}"
            )
            path.unlink()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
