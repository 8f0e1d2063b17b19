"""The citizen web app on a 390×844 phone in Chromium (issue 13): street map and pin, category
tiles and questions, photos made small with a progress bar, errors inline, "me too" with the
supporter's own photo, the track lookup, Leaflet in Vietnamese, keyboard and axe-core."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PHOTOS
from tests.e2e import a11y
from tests.e2e.conftest import _context, wait_until
from tests.e2e.test_browser import public_report, sign_in, submit_report

HANOI = {"latitude": 21.0285, "longitude": 105.8542}


def big_jpeg(tmp_path: Path, name: str, size=(4000, 3000), orientation: int | None = None) -> Path:
    """A large photo with detail (noise), as a phone camera makes them."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(len(name))
    small = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(size, Image.BILINEAR)
    kw = {}
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kw["exif"] = exif.tobytes()
    path = tmp_path / name
    img.save(path, "JPEG", quality=92, **kw)
    return path


def heic_file(tmp_path: Path) -> Path:
    real = PHOTOS / "heic_gps_xiaomi.heic"
    if real.exists():
        return real
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    path = tmp_path / "phone.heic"
    Image.new("RGB", (640, 480), (120, 90, 60)).save(path, "HEIF")
    return path


def no_serious_violations(page) -> None:
    found = a11y.violations(page)
    assert found == [], a11y.describe(found)


def locate_me(page) -> None:
    page.click("#locate")
    page.wait_for_function("document.getElementById('lat').value !== ''")


# --- the map --------------------------------------------------------------------------------


def test_street_tiles_with_attribution_when_the_tile_server_answers(browser, live_server):
    ctx = _context(browser, live_server, tiles=True, viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    before = len(live_server.tiles.requests)
    page.goto("/", wait_until="domcontentloaded")
    page.wait_for_selector("#map .leaflet-tile-loaded", timeout=60_000)
    assert len(live_server.tiles.requests) > before  # the tile server was really asked
    assert page.locator("#map.no-tiles").count() == 0
    assert "© Test Tiles" in page.inner_text("#map .leaflet-control-attribution")
    # With streets on screen the commune polygons are not downloaded at all.
    assert not any("communes.geojson" in u for u in asked)
    assert ctx.external == []
    ctx.close()


def test_pin_names_the_commune_at_once_and_can_be_dragged(phone):
    phone.goto("/")
    locate_me(phone)
    phone.wait_for_selector("#place.ok")
    assert phone.inner_text("#place") == "Phường Buôn Ma Thuột, Tỉnh Đắk Lắk"
    pin = phone.locator("#map .leaflet-marker-icon")
    assert pin.get_attribute("alt") == "Ghim vị trí" and "leaflet-marker-draggable" in pin.get_attribute("class")
    lat0 = phone.input_value("#lat")
    box = pin.bounding_box()
    phone.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
    phone.mouse.down()
    phone.mouse.move(box["x"] + 60, box["y"] - 40, steps=8)
    phone.mouse.up()
    phone.wait_for_function(f"document.getElementById('lat').value !== '{lat0}'")
    phone.wait_for_selector("#place.ok")


def test_outside_the_province_is_said_before_any_upload(browser, live_server, tmp_path):
    ctx = _context(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={**HANOI, "accuracy": 10},
        permissions=["geolocation"],
    )
    page = ctx.new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto("/")
    page.click(".tile[data-code='street_light']")
    page.set_input_files("#photo-files", str(big_jpeg(tmp_path, "far.jpg", (1200, 900))))
    locate_me(page)
    page.wait_for_selector("#place.bad")
    assert "ngoài Tỉnh Đắk Lắk" in page.inner_text("#place")
    page.click("#submit")
    page.wait_for_selector("#location-error:not([hidden])")
    assert "ngoài địa bàn" in page.inner_text("#location-error")
    assert posts == []  # nothing was uploaded
    ctx.close()


def test_leaflet_speaks_vietnamese_on_citizen_and_console_maps(phone, desk):
    phone.goto("/")
    phone.wait_for_selector("#map .leaflet-control-zoom-in")
    assert phone.get_attribute("#map .leaflet-control-zoom-in", "title") == "Phóng to"
    assert phone.get_attribute("#map .leaflet-control-zoom-out", "title") == "Thu nhỏ"
    prefix = phone.locator("#map .leaflet-control-attribution a").first
    assert prefix.get_attribute("title") == "Thư viện bản đồ tương tác mã nguồn mở"
    sign_in(desk, "supervisor")
    desk.goto("/console/dashboard")
    desk.wait_for_selector("#dash-map .leaflet-control-layers-toggle", state="attached")
    assert desk.get_attribute("#dash-map .leaflet-control-layers-toggle", "title") == "Lớp bản đồ"
    assert desk.get_attribute("#dash-map .leaflet-control-zoom-in", "title") == "Phóng to"
    assert desk.evaluate("Chart.defaults.locale") == "vi-VN"


# --- the form -------------------------------------------------------------------------------


def test_every_error_inline_at_once_in_vietnamese(phone, shots):
    phone.goto("/")
    posts: list[str] = []
    phone.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    phone.click("#submit")
    for field in ("category", "location"):
        phone.wait_for_selector(f"#{field}-error:not([hidden])")
    assert phone.inner_text("#category-error").endswith("Hãy chọn lĩnh vực phản ánh.")
    assert "Chọn lĩnh vực…" not in phone.inner_text("#report-form")  # no placeholder as an error
    assert "Vui lòng sửa 2 mục" in phone.inner_text("#form-summary")
    shots(phone, "citizen-errors")
    # Contact details checked on the phone too: both bad values flagged together.
    phone.click(".tile[data-code='street_light']")
    locate_me(phone)
    phone.click("#contact summary")
    phone.fill("#reporter_phone", "abc")
    phone.fill("#reporter_email", "nguyenvan@gmail")
    phone.click("#submit")
    phone.wait_for_selector("#reporter_email-error:not([hidden])")
    assert "Số điện thoại không hợp lệ" in phone.inner_text("#reporter_phone-error")
    assert "email không hợp lệ" in phone.inner_text("#reporter_email-error")
    assert phone.get_attribute("#reporter_phone", "aria-invalid") == "true"
    assert phone.locator("#category-error:not([hidden])").count() == 0  # fixed ones are cleared
    assert posts == []
    # Contact details are used only with the reporter's consent (Decree 13/2023): asked, not assumed.
    assert phone.locator("#contact_consent-error:not([hidden])").count() == 1
    assert "13/2023" in phone.inner_text("#privacy-notice")
    phone.fill("#reporter_phone", "0912 345 678")
    phone.fill("#reporter_email", "nguyenvan@gmail.com")
    phone.check("#contact_consent")
    phone.click("#submit")
    phone.wait_for_selector("#new-code", timeout=30_000)


def test_server_checks_phone_and_email_too(phone):
    """A client that skips the page's checks gets both fields flagged by the API."""
    phone.goto("/")
    resp = phone.request.post(
        "/api/v1/reports",
        multipart={
            "category": "street_light",
            "lat": "12.667",
            "lon": "108.038",
            "reporter_phone": "abc",
            "reporter_email": "nguyenvan@gmail",
        },
    )
    assert resp.status == 422
    errors = json.dumps(resp.json()["errors"])
    assert "reporter_phone" in errors and "reporter_email" in errors


def test_category_tiles_ask_the_categorys_own_questions(phone, live_server):
    phone.goto("/")
    groups = phone.locator(".tile-group .group-name").all_text_contents()
    assert "Giao thông" in groups and "Môi trường" in groups
    assert phone.locator(".tile svg use").count() == phone.locator(".tile").count()
    phone.click(".tile[data-code='power_outage']")
    phone.wait_for_selector("#attr-households")
    assert "Số hộ bị ảnh hưởng" in phone.inner_text("label[for=attr-households]")
    phone.fill("#attr-households", "nhiều")
    locate_me(phone)
    phone.click("#submit")
    phone.wait_for_selector("#attr-households-error:not([hidden])")
    assert phone.inner_text("#attr-households-error").endswith("Hãy nhập một số.")
    phone.fill("#attr-households", "12")
    phone.click("#submit")
    phone.wait_for_selector("#new-code", timeout=30_000)
    code = phone.inner_text("#new-code").strip()
    stored = live_server.python(
        "from sqlalchemy import select\nfrom fieldreport.extensions import db\nfrom fieldreport.models import Report\n"
        f"print(db.session.scalar(select(Report.attributes).where(Report.code == '{code}')))"
    )
    assert "'households': 12.0" in stored
    # The same definitions as Open311's.
    definition = phone.request.get("/open311/v2/services/road_damage.json").json()
    phone.goto("/")
    phone.click(".tile[data-code='road_damage']")
    options = phone.locator("#attr-size option").all_inner_texts()[1:]
    assert options == [v["name"] for v in definition["attributes"][0]["values"]]


# --- photos ---------------------------------------------------------------------------------


def test_photos_are_made_small_sent_with_progress_and_removable(phone, live_server, tmp_path):
    phone.goto("/")
    assert "Tối đa 6 ảnh" in phone.inner_text("#photos-limit")  # said before any upload
    big = big_jpeg(tmp_path, "big.jpg", (4000, 3000), orientation=6)
    other = big_jpeg(tmp_path, "other.jpg", (3000, 2000))
    phone.click(".tile[data-code='road_damage']")
    phone.set_input_files("#photo-files", [str(big), str(other)])
    wait_until(lambda: phone.locator("#previews img").count() == 2)
    # × asks first: "cancel" keeps the photo, "OK" removes it.
    phone.once("dialog", lambda d: d.dismiss())
    phone.click("#previews li:nth-child(2) .remove")
    assert phone.locator("#previews img").count() == 2
    phone.once("dialog", lambda d: d.accept())
    phone.click("#previews li:nth-child(2) .remove")
    assert phone.locator("#previews img").count() == 1
    assert phone.inner_text("#photos-count") == "(1/6 ảnh)"
    locate_me(phone)
    phone.evaluate("""() => { const bar = document.getElementById('upload-progress'); window.__progress = [];
        new MutationObserver(() => window.__progress.push(bar.value)).observe(bar, {attributes: true}); }""")
    sent: list = []
    phone.on("request", lambda r: sent.append(r) if r.method == "POST" and r.url.endswith("/api/v1/reports") else None)
    phone.click("#submit")
    phone.wait_for_selector("#new-code", timeout=30_000)
    code = phone.inner_text("#new-code").strip()
    body = sent[0].post_data_buffer
    assert len(body) < big.stat().st_size / 2  # the 12 MP original never left the phone
    assert phone.evaluate("Math.max(0, ...window.__progress)") == 100
    wait_until(lambda: all(p["ready"] for p in public_report(phone, code)["photos"]))
    [photo] = public_report(phone, code)["photos"]
    # Longest side 2048, and upright: the EXIF orientation 6 was applied by the canvas.
    assert (photo["width"], photo["height"]) == (1536, 2048)


def test_photo_limit_and_heic_placeholder(phone, tmp_path):
    phone.goto("/")
    heic = heic_file(tmp_path)
    phone.set_input_files("#photo-files", str(heic))
    phone.wait_for_selector("#previews .placeholder:has-text('HEIC')")
    assert phone.locator("#previews img").count() == 0  # never a broken image
    jpgs = [str(big_jpeg(tmp_path, f"p{i}.jpg", (800, 600))) for i in range(6)]
    phone.set_input_files("#photo-files", jpgs)
    phone.wait_for_selector("#photos-error:not([hidden])")
    assert "Đã đủ 6 ảnh" in phone.inner_text("#photos-error")
    assert phone.locator("#previews li").count() == 6
    assert phone.is_disabled("#choose-photo") and phone.is_disabled("#take-photo")


# --- me too ---------------------------------------------------------------------------------


def test_me_too_shows_the_report_and_keeps_my_photo_and_note(phone, desk, live_server, tmp_path, shots):
    first = submit_report(
        phone, "pollution", big_jpeg(tmp_path, "smoke.jpg", (1600, 1200)), "Khói đen từ xưởng gỗ mỗi tối."
    )
    wait_until(
        lambda: (r := public_report(phone, first))["status"] == "assigned" and all(p["ready"] for p in r["photos"]),
        timeout=120,
    )
    phone.goto("/")
    phone.click(".tile[data-code='pollution']")
    phone.set_input_files("#photo-files", str(big_jpeg(tmp_path, "mine.jpg", (1600, 1200))))
    locate_me(phone)
    phone.fill("#description", "Tối nay khói rất nặng, tôi chụp thêm.")
    phone.click("#submit")
    phone.wait_for_selector("#metoo:not([hidden])")
    item = phone.locator(f".metoo-item[data-code='{first}']")
    item.locator("img.metoo-thumb").wait_for()
    assert "Khói đen từ xưởng gỗ" in item.inner_text()
    assert "Đã phân công" in item.inner_text()  # status
    assert "UBND" in item.inner_text() or "Sở" in item.inner_text()  # the handling unit
    assert phone.is_checked("#metoo-add")
    shots(phone, "citizen-metoo", full_page=False)
    phone.click(f".metoo-btn[data-code='{first}']")
    phone.wait_for_selector("#metoo-done")
    assert public_report(phone, first)["followers_count"] >= 1
    assert public_report(phone, first)["photos"].__len__() == 1  # the addition is not public
    sign_in(desk, "dispatcher")
    desk.goto(f"/console/reports/{first}")
    additions = desk.locator("#additions")
    assert "Tối nay khói rất nặng" in additions.inner_text()
    wait_until(lambda: (desk.reload() or True) and desk.locator("#additions img").count() == 1)


# --- track lookup ---------------------------------------------------------------------------


def test_track_lookup_with_a_wrong_code_keeps_the_box(phone):
    phone.goto("/track")
    phone.fill("#code", "7K3M9QX2AB")
    phone.click("#lookup-form button[type=submit]")
    phone.wait_for_selector("#code-error")
    assert "Không tìm thấy phản ánh có mã 7K3M9QX2AB" in phone.inner_text("#code-error")
    assert phone.input_value("#code") == "7K3M9QX2AB" and phone.is_visible("#lookup-form button")
    phone.goto("/track/ZZZZZZZZZZ")
    assert phone.is_visible("#code") and phone.is_visible("#code-error")


# --- keyboard and axe -----------------------------------------------------------------------


def test_keyboard_reaches_every_control_in_order(phone):
    # Listen for file choosers from the start: Playwright turns Chromium's chooser interception
    # on asynchronously when the first listener is added, and a chooser opened before that is
    # a native dialog nobody hears (expect_file_chooser right before the key press timed out).
    choosers: list = []
    phone.on("filechooser", lambda chooser: choosers.append(chooser))
    phone.goto("/")
    phone.wait_for_selector("#map.no-tiles .leaflet-overlay-pane path", state="attached")
    assert phone.locator("#map path[tabindex='-1']").count() > 20  # outlines out of the tab order
    stops: list[str] = []
    for _ in range(60):
        phone.keyboard.press("Tab")
        here = phone.evaluate(
            "document.activeElement.id || document.activeElement.className || document.activeElement.tagName"
        )
        stops.append(here)
        if here == "submit":
            break
    assert "take-photo" in stops and "choose-photo" in stops, stops
    assert (
        stops.index("take-photo")
        < stops.index("choose-photo")
        < stops.index("locate")
        < stops.index("description")
        < stops.index("submit")
    )
    assert stops.index("description") < 25, stops  # not 111 presses
    # The tiles are one radio group: arrows move the choice (one Tab stop for all of them).
    phone.focus("input[name=category][value=road_damage]")
    phone.keyboard.press("ArrowRight")
    assert phone.evaluate("document.querySelector('input[name=category]:checked').value") == "traffic_signal"
    # The photo buttons open the file choosers from the keyboard (once the new category's
    # questions have come in and been drawn, so nothing moves the focus under the key press).
    phone.wait_for_load_state("networkidle")
    phone.focus("#choose-photo")
    assert phone.evaluate("document.activeElement.id") == "choose-photo"
    phone.keyboard.press("Enter")
    for _ in range(150):  # the sync API delivers events only while it runs: pump it (30 s at most)
        if choosers:
            break
        phone.wait_for_timeout(200)
    assert choosers, "no file chooser opened from the keyboard"
    chooser = choosers[-1]
    assert chooser.is_multiple() and chooser.element.get_attribute("id") == "photo-files"


@pytest.mark.parametrize("path", ["/", "/track", "/track/ZZZZZZZZZZ", "/?lang=en"])
def test_axe_finds_nothing_serious_on_citizen_pages(phone, path):
    phone.goto(path)
    phone.wait_for_load_state("networkidle")
    if path.startswith("/?") or path == "/":
        phone.click("#submit")  # the form with its errors showing is a page too
        phone.wait_for_selector("#category-error:not([hidden])")
    no_serious_violations(phone)


def test_axe_on_a_report_tracking_page(phone):
    code = submit_report(phone, "noise", None, "Karaoke đến nửa đêm.")
    phone.goto(f"/track/{code}")
    phone.wait_for_selector("#report-body:not([hidden])")
    phone.wait_for_load_state("networkidle")
    no_serious_violations(phone)


def test_axe_on_the_filled_form_and_me_too(phone, tmp_path, shots):
    phone.goto("/")
    phone.click(".tile[data-code='road_damage']")
    phone.set_input_files("#photo-files", [str(big_jpeg(tmp_path, "a.jpg", (900, 700))), str(heic_file(tmp_path))])
    locate_me(phone)
    phone.wait_for_selector("#place.ok")
    phone.wait_for_selector("#previews .placeholder:has-text('HEIC')")
    shots(phone, "citizen-form-filled")
    no_serious_violations(phone)


def test_a_slow_upload_is_not_sent_again_by_the_retry_timer(phone, tmp_path):
    """On 3G an upload outlives the 30 s retry timer; the retry used to send the same
    submission again alongside it (two uploads sharing the bandwidth)."""
    phone.goto("/")
    phone.click(".tile[data-code='fallen_tree']")
    phone.set_input_files("#photo-files", str(big_jpeg(tmp_path, "tree.jpg", (2000, 1500))))
    phone.wait_for_selector("#previews img")
    locate_me(phone)
    posts: list[str] = []
    phone.on(
        "request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/api/v1/reports") else None
    )
    cdp = phone.context.new_cdp_session(phone)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 100, "downloadThroughput": 200_000, "uploadThroughput": 60_000},
    )
    phone.click("#submit")
    phone.wait_for_function("document.getElementById('upload-progress').value > 0")
    phone.evaluate("FRCitizen.flushPending()")  # what the 30 s timer and the 'online' event do
    phone.wait_for_selector("#new-code", timeout=120_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    assert len(posts) == 1


def test_the_photos_position_is_offered_never_taken(phone, live_server, tmp_path):
    """No position from the device yet: the photo's EXIF GPS (private evidence) is read on the
    phone and offered as a button; only the citizen's click makes it the report's place."""
    from tests.api.intake_helpers import image

    path = tmp_path / "gps.jpg"
    path.write_bytes(image(gps=(12.6801, 108.0502), size=(800, 600)))
    phone.goto("/")
    phone.click(".tile[data-code='street_light']")
    phone.set_input_files("#photo-files", str(path))
    phone.wait_for_selector("#use-photo-position:not([hidden])")
    assert phone.input_value("#lat") == "" and phone.input_value("#lon") == ""  # not taken unasked
    phone.click("#use-photo-position")
    assert abs(float(phone.input_value("#lat")) - 12.6801) < 1e-4
    assert abs(float(phone.input_value("#lon")) - 108.0502) < 1e-4
    assert phone.input_value("#location_source") == "exif"
    assert phone.locator("#use-photo-position:not([hidden])").count() == 0
    phone.click("#submit")
    phone.wait_for_selector("#new-code", timeout=30_000)
    code = phone.inner_text("#new-code").strip()
    out = live_server.python(
        "from fieldreport.extensions import db\nfrom fieldreport.models import Report\n"
        f"print(db.session.query(Report.location_source).filter_by(code='{code}').scalar())"
    )
    assert out.strip().splitlines()[-1] == "exif"
