"""Measured, not asserted: three phone photos sent from the citizen page on Chromium's Fast-3G.

Prints the time from the tap on "Gửi phản ánh" to the tracking code, the bytes each photo
took on the wire, and the page's own transfer size (tiles excluded). The numbers are figures
for the issue and the README, never timing assertions (the machine is shared and slow).

    .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/e2e/test_citizen_speed.py
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.conftest import PHOTOS

# Fast 3G as the issue measured it: 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip.
FAST_3G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
PHONE_PHOTOS = ("jpeg_gps_iphone6_west.jpg", "jpeg_gps_nokia83_5g.jpg", "jpeg_gps_nikon_d70s.jpg")
BMT = {"latitude": 12.6675, "longitude": 108.0377}


def _photos(tmp_path: Path) -> list[Path]:
    """The corpus' three phone photos (about 5 MB), else three generated 12 MP JPEGs."""
    real = [PHOTOS / n for n in PHONE_PHOTOS]
    if all(p.exists() for p in real):
        return real
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(13)
    out = []
    for i in range(3):
        noise = rng.integers(0, 255, (3024 // 4, 4032 // 4, 3), dtype=np.uint8)
        img = Image.fromarray(noise).resize((4032, 3024), Image.BILINEAR)
        path = tmp_path / f"phone{i}.jpg"
        img.save(path, "JPEG", quality=92)
        out.append(path)
    return out


def _parts(body: bytes, content_type: str) -> list[tuple[str, int]]:
    """(name, bytes) of each multipart part: how much each photo cost on the wire."""
    boundary = re.search(r"boundary=(.+)", content_type).group(1).strip('"').encode()
    out = []
    for chunk in body.split(b"--" + boundary)[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        out.append((name.group(1).decode() if name else "?", len(data) - 2))
    return out


@pytest.fixture()
def slow_phone(browser, live_server):
    ctx = browser.new_context(base_url=live_server.url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                              viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                              geolocation={**BMT, "accuracy": 10}, permissions=["geolocation"])
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
    page.on("response", lambda r: answers.append(f"{r.status}@{time.monotonic() - tap:.0f}s")
            if r.request.method == "POST" and r.url.endswith("/api/v1/reports") else None)
    tap = time.monotonic()
    page.click("#submit")
    try:
        page.wait_for_selector("#new-code, #saved-offline, #form-error:not([hidden]), #form-summary:not([hidden]), "
                               "#metoo:not([hidden])", timeout=600_000)
    finally:
        print(f"\n[fast-3g] {len(sent)} POST /reports sent; answers {answers}; "
              f"{time.monotonic() - tap:.0f} s after the tap")
    assert page.locator("#new-code").count(), page.inner_text("main")
    done = time.monotonic()
    code = page.inner_text("#new-code").strip()

    post = sent[0]  # the page before issue 13 sent the same submission again every 30 s meanwhile
    body_size = post.sizes()["requestBodySize"]
    body = post.post_data_buffer  # None when Chromium does not hand the (fetch) body over
    photo_parts = [n for name, n in _parts(body, post.headers["content-type"]) if name == "photos"] if body else []
    originals = [p.stat().st_size for p in files]
    print(f"[fast-3g] report {code}: tap → tracking code {done - tap:.1f} s "
          f"(photos chosen → code {done - chosen:.1f} s)")
    print(f"[fast-3g] photo bytes sent: {photo_parts} (originals {originals}); "
          f"request body {body_size} B; {len(sent)} upload(s) of this submission")
    print(f"[fast-3g] page transfer without tiles: {page_bytes / 1024:.0f} KB "
          f"(communes GeoJSON {communes / 1024:.0f} KB; tiles {tile_bytes / 1024:.0f} KB)")
    assert body_size > 0
