"""Measured, not asserted: three phone photos sent from the citizen page on Chromium's Fast-3G.

Prints the time from the tap on "Gửi phản ánh" to the tracking code, the bytes each photo
took on the wire, and the page's own transfer size (tiles excluded). The numbers are figures
for the issue and the README, never timing assertions (the machine is shared and slow).

    FIELDREPORT_SPEED=1 .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/e2e/test_citizen_speed.py

It takes minutes at 3G speed, so the ordinary suite skips it unless FIELDREPORT_SPEED=1.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import PHOTOS

# Fast 3G as the issue measured it: 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip.
FAST_3G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
pytestmark = pytest.mark.skipif(
    not os.environ.get("FIELDREPORT_SPEED"), reason="a 3G measurement (minutes): set FIELDREPORT_SPEED=1 to run it"
)
PHONE_PHOTOS = ("jpeg_gps_iphone6_west.jpg", "jpeg_gps_nokia83_5g.jpg", "jpeg_gps_nikon_d70s.jpg")
BMT = {"latitude": 12.6675, "longitude": 108.0377}


def _photos(tmp_path: Path) -> list[Path]:
    """The corpus' three phone photos (about 5 MB), else three generated 12 MP JPEGs."""
    for folder in (PHOTOS, Path("/work/shared/data/photos")):  # a worktree's ../shared, or the shared data
        real = [folder / n for n in PHONE_PHOTOS]
        if all(p.exists() for p in real):
            return real
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(13)
    out = []
    for i in range(3):  # coarse detail: about 2 MB each at quality 92, like a phone photo
        noise = rng.integers(0, 255, (3024 // 24, 4032 // 24, 3), dtype=np.uint8)
        img = Image.fromarray(noise).resize((4032, 3024), Image.BICUBIC)
        path = tmp_path / f"phone{i}.jpg"
        img.save(path, "JPEG", quality=92)
        out.append(path)
    return out


@pytest.fixture()
def slow_phone(browser, live_server):
    ctx = browser.new_context(
        base_url=live_server.url,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={**BMT, "accuracy": 10},
        permissions=["geolocation"],
        bypass_csp=True,
    )  # wait_for_function's eval (see conftest._context)
    # No request interception here: it would sit between Chromium's throttled network and the
    # upload. Nothing outside our stack is configured, apart from the tests' local tile server.
    page = ctx.new_page()
    yield page
    ctx.close()


def test_three_photos_on_fast_3g(slow_phone, live_server, tmp_path):
    page = slow_phone
    files = _photos(tmp_path)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", FAST_3G)
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))

    page.goto("/", wait_until="networkidle")
    tile_prefix = (live_server.env.get("FIELDREPORT_MAP_TILE_URL") or "").split("/{z}")[0] or "-"
    page_bytes = sum(n for rid, n in sizes.items() if not urls.get(rid, "").startswith(tile_prefix))
    tile_bytes = sum(n for rid, n in sizes.items() if urls.get(rid, "").startswith(tile_prefix))
    communes = sum(n for rid, n in sizes.items() if "communes.geojson" in urls.get(rid, ""))

    if page.locator("select#category").count():  # the page before issue 13
        page.select_option("#category", "road_damage")
    else:
        page.click(".tile[data-code='road_damage']")
    chosen = time.monotonic()
    page.set_input_files("#photo-files", [str(p) for p in files])
    page.click("#locate")
    page.wait_for_function("document.getElementById('lat').value !== ''")
    page.fill("#description", "Ổ gà lớn, ba ảnh từ điện thoại.")
    sent: list = []
    answers: list[str] = []
    page.on("request", lambda r: sent.append(r) if r.method == "POST" and r.url.endswith("/api/v1/reports") else None)
    page.on(
        "response",
        lambda r: (
            answers.append(f"{r.status}@{time.monotonic() - tap:.0f}s")
            if r.request.method == "POST" and r.url.endswith("/api/v1/reports")
            else None
        ),
    )
    tap = time.monotonic()
    page.click("#submit")
    try:
        page.wait_for_selector(
            "#new-code, #saved-offline, #form-error:not([hidden]), #form-summary:not([hidden]), #metoo:not([hidden])",
            timeout=600_000,
        )
    finally:
        print(
            f"\n[fast-3g] {len(sent)} POST /reports sent; answers {answers}; "
            f"{time.monotonic() - tap:.0f} s after the tap"
        )
    assert page.locator("#new-code").count(), page.inner_text("main")
    done = time.monotonic()
    code = page.inner_text("#new-code").strip()

    # What reached the server, photo by photo (the stored original is exactly what was sent).
    photo_parts = [
        int(n)
        for n in live_server.python(
            "from sqlalchemy import select\nfrom fieldreport.extensions import db\nfrom fieldreport.models import Photo, Report\n"  # noqa: E501
            "print(*db.session.scalars(select(Photo.size_bytes).join(Report, Report.id == Photo.report_id)"
            f".where(Report.code == '{code}').order_by(Photo.id)))"
        ).split()
    ]
    originals = [p.stat().st_size for p in files]
    print(
        f"[fast-3g] report {code}: tap → tracking code {done - tap:.1f} s (photos chosen → code {done - chosen:.1f} s)"
    )
    print(
        f"[fast-3g] photo bytes sent: {photo_parts} (originals {originals}); {len(sent)} upload(s) of this submission"
    )
    print(
        f"[fast-3g] page transfer without tiles: {page_bytes / 1024:.0f} KB "
        f"(communes GeoJSON {communes / 1024:.0f} KB; tiles {tile_bytes / 1024:.0f} KB)"
    )
    assert len(photo_parts) == 3
