"""End-to-end in Chromium: citizen → routing worker → staff console → rating → dashboard.

One live stack per module (gunicorn + RQ worker + PostGIS + Redis + S3). The scenario test
walks one report through its whole life; the smaller tests check the pieces around it
(offline retry, "me too", dispatcher triage, sign-in and language).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.conftest import DEMO_PASSWORD, PHOTOS
from tests.e2e.conftest import PHONE_AT, wait_until

BMT = PHONE_AT  # Phường Buôn Ma Thuột (24133)
CORPUS_PHOTO = PHOTOS / "jpeg_noexif_fixmystreet_pothole_gray.jpg"


def _jpeg(tmp_path: Path, name: str, colour: tuple[int, int, int]) -> Path:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (800, 600), colour)
    ImageDraw.Draw(img).rectangle((200, 150, 600, 450), fill=(90, 90, 90))
    path = tmp_path / name
    img.save(path, "JPEG", quality=85)
    return path


@pytest.fixture()
def before_photo(tmp_path) -> Path:
    return CORPUS_PHOTO if CORPUS_PHOTO.exists() else _jpeg(tmp_path, "pothole.jpg", (140, 120, 90))


@pytest.fixture()
def after_photo(tmp_path) -> Path:
    return _jpeg(tmp_path, "repaired.jpg", (60, 60, 60))


def sign_in(page, username: str) -> None:
    page.goto("/console/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#who")


def public_report(page, code: str) -> dict:
    resp = page.request.get(f"/api/v1/reports/{code}")
    assert resp.ok, resp.text()
    return resp.json()


def submit_report(page, category: str, photo: Path | None, text: str) -> str:
    page.goto("/")
    page.click(f".tile[data-code='{category}']")
    if photo is not None:
        page.set_input_files("#photo-files", str(photo))
        page.wait_for_selector("#previews img")
    page.click("#locate")
    page.wait_for_function("document.getElementById('lat').value !== ''")
    page.fill("#description", text)
    page.click("#submit")
    page.wait_for_selector("#new-code", timeout=20_000)
    return page.inner_text("#new-code").strip()


def test_citizen_page_map_and_docs_need_no_cdn(phone, shots):
    phone.goto("/")
    phone.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    assert phone.locator(".leaflet-overlay-pane path").count() > 20  # communes, not tiles
    assert phone.locator("input[name=category]").count() > 10
    # The tile server is out of reach (blocked): the map fell back to our commune boundaries.
    phone.wait_for_selector("#map.no-tiles")
    assert phone.context.blocked_tiles
    phone.goto("/api/v1/docs")
    phone.wait_for_selector(".swagger-ui .info")


def test_full_scenario(phone, desk, live_server, before_photo, after_photo, shots):
    # 1. A citizen reports a pothole from the phone, with a photo and the GPS position.
    phone.goto("/")
    phone.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    shots(phone, "citizen-form")
    code = submit_report(phone, "road_damage", before_photo, "Ổ gà lớn giữa đường, nguy hiểm xe máy.")
    assert re.fullmatch(r"[0-9A-Z]{10}", code)
    shots(phone, "citizen-submitted")

    # 2. The routing worker hands it to the ward that contains the point.
    routed = wait_until(lambda: (r := public_report(phone, code))["status"] == "assigned" and r)
    assert "Buôn Ma Thuột" in routed["unit"]["name"]
    wait_until(lambda: all(p["ready"] for p in public_report(phone, code)["photos"]))

    # 3. The ward's staff sees it in the queue, opens it, accepts and resolves it with a photo.
    sign_in(desk, "bmt.staff")
    row = desk.locator(f"tr[data-code='{code}']")
    assert row.count() == 1
    row.locator("a.code").click()
    desk.wait_for_selector("#report-code")
    assert desk.inner_text("#report-status").strip() == "Đã phân công"
    desk.wait_for_selector("#map .leaflet-overlay-pane path", state="attached")
    assert desk.locator("#photos img").count() == 1
    assert desk.locator("#photos a.original").count() == 0  # original photo: not for ward staff
    assert desk.locator("#routing").inner_text().count("24133") >= 1
    desk.click("#form-accept button")
    desk.wait_for_selector("#report-status[data-status='in_progress']")
    desk.click("details[data-action='resolve'] summary")
    desk.fill("#form-resolve textarea[name=answer]", "Đã vá ổ gà, thông xe bình thường.")
    desk.set_input_files("#resolve-files", str(after_photo))
    desk.click("#form-resolve button[type=submit]")
    desk.wait_for_selector("#report-status[data-status='resolved']")
    assert desk.locator("#history li[data-type='resolved']").count() == 1

    # 4. The citizen sees the answer and both photos, and rates the result.
    wait_until(lambda: all(p["ready"] for p in public_report(phone, code)["photos"]))
    phone.goto(f"/track/{code}")
    phone.wait_for_selector("#status[data-status='resolved']")
    assert "Đã vá ổ gà" in phone.inner_text("#answer")
    assert phone.locator("#after-photos img.photo-after").count() == 1  # with the answer
    assert phone.locator("#history li").count() >= 3
    phone.click(".stars label:nth-child(5)")
    shots(phone, "citizen-track")
    phone.click("#send-rating")
    phone.wait_for_selector("#status[data-status='closed']")
    assert public_report(phone, code)["rating"] == 5

    # 5. The supervisor's dashboard counts it: resolved on time, rated 5.
    live_server.refresh_indicators()
    sign_in(desk, "supervisor")
    desk.goto("/console/dashboard?unit=UBND-24133")
    desk.wait_for_selector("#kpis")
    assert desk.inner_text("#kpi-resolved .value").strip() == "1"
    assert desk.inner_text("#kpi-on-time .value").strip() == "100,00%"
    assert desk.inner_text("#kpi-satisfaction .value").strip() == "100,00%"
    desk.goto("/console/dashboard")
    desk.wait_for_selector("#dash-map .leaflet-overlay-pane", state="attached")
    assert desk.locator(".ranking-group[data-kind='commune'] tr[data-unit='UBND-24133']").count() == 1
    assert desk.evaluate("FRDashboardData.areas['24133'].reports") == 1
    with desk.expect_download() as dl:
        desk.click("#export-csv")
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert "UBND-24133" in text and "Tỷ lệ đúng hạn (%)" in text  # Vietnamese headers by default
    with desk.expect_download() as dl:
        desk.click("#export-xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))
    assert any(row[1] == "UBND-24133" for row in wb.active.iter_rows(values_only=True))


def test_offline_submission_is_kept_and_sent_when_back_online(phone, before_photo):
    phone.goto("/")
    assert phone.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    phone.reload()  # now controlled by the service worker, which has cached the page shell
    phone.context.set_offline(True)
    phone.reload()  # the form still opens with no network at all
    phone.wait_for_selector("#report-form")
    assert phone.is_visible("#offline")
    phone.context.set_offline(False)
    phone.reload()
    phone.click(".tile[data-code='rubbish']")
    phone.set_input_files("#photo-files", str(before_photo))
    phone.click("#locate")
    phone.wait_for_function("document.getElementById('lat').value !== ''")
    phone.fill("#description", "Rác tồn đọng hai ngày.")
    phone.context.set_offline(True)
    phone.click("#submit")
    phone.wait_for_selector("#saved-offline")
    assert phone.inner_text("#pending-count") == "1"
    key = phone.evaluate("FRCitizen.pending().then(l => l[0].key)")
    phone.context.set_offline(False)  # the page's 'online' handler sends it
    phone.wait_for_selector("#new-code", timeout=20_000)
    code = phone.inner_text("#new-code").strip()
    assert phone.evaluate("FRCitizen.pending().then(l => l.length)") == 0
    # The same Idempotency-Key again (a retry after a lost answer) gives the same report.
    replay = phone.evaluate(
        """async ([key]) => {
        const fd = new FormData();
        fd.append('category', 'rubbish'); fd.append('lat', '12.667'); fd.append('lon', '108.038');
        const r = await fetch('/api/v1/reports', {method: 'POST', body: fd, headers: {'Idempotency-Key': key}});
        return [r.status, (await r.json()).code];
    }""",
        [key],
    )
    assert replay[0] == 409  # same key, different body: refused, never a second report
    assert public_report(phone, code)["status"] in ("submitted", "assigned")


def test_me_too_instead_of_a_duplicate(phone, before_photo):
    first = submit_report(phone, "illegal_dumping", before_photo, "Đổ xà bần trái phép.")
    phone.goto("/")
    phone.click(".tile[data-code='illegal_dumping']")
    phone.set_input_files("#photo-files", str(before_photo))
    phone.click("#locate")
    phone.wait_for_function("document.getElementById('lat').value !== ''")
    phone.click("#submit")
    phone.wait_for_selector("#metoo:not([hidden])")
    assert phone.locator(f"#metoo-list a:has-text('{first}')").count() == 1
    phone.click(f".metoo-btn[data-code='{first}']")
    phone.wait_for_selector("#metoo-done")
    assert public_report(phone, first)["followers_count"] >= 1


def test_dispatcher_triages_other_category(phone, desk, shots):
    code = submit_report(phone, "other", None, "Biển báo bị che khuất.")
    sign_in(desk, "dispatcher")

    def in_triage():
        desk.goto("/console/triage")
        return desk.locator(f"tr[data-code='{code}']").count() == 1

    wait_until(in_triage)
    row = desk.locator(f"tr[data-code='{code}']")
    row.locator("select[name=unit]").select_option("SXD")
    row.locator("button[type=submit]").click()
    desk.wait_for_selector(".flash.ok")
    assert desk.locator(f"tr[data-code='{code}']").count() == 0
    assert public_report(phone, code)["status"] == "assigned"
    desk.goto(f"/console/reports/{code}")
    assert desk.inner_text("#report-unit") == "Sở Xây dựng"
    assert desk.locator("#reporter").count() == 1  # the dispatcher sees the reporter block


def test_sign_in_errors_language_and_csrf(desk):
    desk.goto("/console/")
    assert "/console/login" in desk.url
    desk.fill("#username", "bmt.staff")
    desk.fill("#password", "wrong")
    desk.click("#login-form button[type=submit]")
    assert "Sai tên đăng nhập" in desk.inner_text("#login-error")
    desk.goto("/console/login?lang=en")
    assert desk.inner_text("h1") == "Sign in"
    sign_in(desk, "bmt.staff")
    assert "Queue" in desk.inner_text("nav")  # the language choice is remembered
    resp = desk.request.post("/console/reports/AAAAAAAAAA/accept", form={"csrf_token": "forged"}, max_redirects=0)
    assert resp.status in (302, 303)
    desk.goto("/console/")
    assert "form expired" in desk.inner_text("body")


def test_overdue_marked_in_queue_filter_and_map(phone, desk, live_server, before_photo, shots):
    code = submit_report(phone, "pavement_encroachment", before_photo, "Quán lấn chiếm hết vỉa hè.")
    wait_until(lambda: public_report(phone, code)["status"] == "assigned")
    # Time passes: the ward let the due time slip by two days.
    live_server.make_overdue(code, days=2)
    sign_in(desk, "bmt.staff")
    row = desk.locator(f"tr[data-code='{code}']")
    assert "overdue" in row.get_attribute("class")
    assert row.locator(".badge.overdue").count() == 1
    shots(desk, "console-queue")
    desk.check("#f-overdue")
    desk.click("#filters button[type=submit]")
    desk.wait_for_url("**overdue=1**")
    assert desk.locator("table.queue tbody tr[data-code]").count() == 1
    live_server.refresh_indicators()
    sign_in(desk, "supervisor")
    desk.wait_for_selector("#dash-map .leaflet-overlay-pane", state="attached")
    assert code in desk.evaluate("FRDashboardData.overdue.map(p => p.code)")
    assert desk.inner_text("#kpi-late .sub").strip() == "1"  # the indicators saw it too


def test_ask_citizen_then_reopen(phone, desk, after_photo):
    code = submit_report(phone, "flooding", None, "Cống bị tắc, nước tràn ra đường.")
    wait_until(lambda: public_report(phone, code)["status"] == "assigned")
    assert public_report(phone, code)["unit"]["name"].startswith("Công ty Cấp thoát nước")
    desk.context.clear_cookies()
    desk.goto("/console/login")
    desk.fill("#username", "admin")  # the water company has no demo staff: admin acts for it
    desk.fill("#password", DEMO_PASSWORD)
    desk.click("#login-form button[type=submit]")
    desk.goto(f"/console/reports/{code}")
    desk.click("details[data-action='request_info'] summary")
    desk.fill("#form-request_info textarea[name=question]", "Cống ở phía nào của ngã tư?")
    desk.click("#form-request_info button[type=submit]")
    desk.wait_for_selector("#report-status[data-status='awaiting_info']")

    phone.goto(f"/track/{code}")
    phone.wait_for_selector("#info-card:not([hidden])")
    phone.fill("#info-text", "Phía đông, trước số nhà 12.")
    phone.click("#info-form button[type=submit]")
    phone.wait_for_selector("#status[data-status='assigned']")

    desk.goto(f"/console/reports/{code}")
    desk.click("details[data-action='resolve'] summary")
    desk.fill("#form-resolve textarea[name=answer]", "Đã nạo vét cống.")
    desk.set_input_files("#resolve-files", str(after_photo))
    desk.click("#form-resolve button[type=submit]")
    desk.wait_for_selector("#report-status[data-status='resolved']")

    phone.goto(f"/track/{code}")
    phone.wait_for_selector("#reopen-card:not([hidden])")
    phone.fill("#reopen-reason", "Mưa xong vẫn ngập.")
    phone.click("#reopen-form button[type=submit]")
    phone.wait_for_selector("#status[data-status='reopened'], #status[data-status='assigned']")
    wait_until(lambda: public_report(phone, code)["unit"]["name"].startswith("Công ty Cấp thoát nước"))
