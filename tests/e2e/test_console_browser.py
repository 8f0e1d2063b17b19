"""The console and dashboard in Chromium as unit staff, a dispatcher and a supervisor use them:
accessibility (axe-core), keyboard, phones at 390 px, pickers, the working-day picker, the
dashboard's periods, ranking and figures (issue 18)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.e2e import a11y
from tests.e2e.conftest import _context
from tests.e2e.test_browser import public_report, sign_in

BMT = (12.667, 108.038)  # Phường Buôn Ma Thuột (24133)
TANLAP = (12.6573, 108.1066)  # Phường Tân Lập (24121), a neighbour


SEED = """\
import json
from fieldreport.extensions import db
from fieldreport.services import routing
from tests import factories as f
def report(category, lat, lon, text):
    r = f.make_report(db.session, category, lon, lat, description=text, location_source="device")
    routing.route_report(r.id)  # the router's own decision, explanation and events
    return r.code
out = {{
    "ward": [report("pavement_encroachment", {bmt[0]}, {bmt[1]}, "Lấn chiếm vỉa hè " + str(i)) for i in range(5)],
    "late": report("road_damage", {bmt[0]}, {bmt[1]}, "Ổ gà trước chợ, đã quá hạn."),
    "tanlap": report("road_damage", {tanlap[0]}, {tanlap[1]}, "Ổ gà ở Tân Lập."),
    "drain": report("flooding", {bmt[0]}, {bmt[1]}, "Cống tắc"),
    "power": report("power_outage", {bmt[0]}, {bmt[1]}, "Mất điện cả khu phố"),
    "triage": report("other", {bmt[0]}, {bmt[1]}, "Biển quảng cáo sắp rơi"),
}}
db.session.commit()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def reports(live_server):
    """A small working day: ward reports (one overdue), a drain, a power cut, one for triage,
    routed by the real router (no worker round trip: the machine is shared and slow)."""
    out = json.loads(live_server.python(SEED.format(bmt=BMT, tanlap=TANLAP)).strip().splitlines()[-1])
    live_server.make_overdue(out["late"], days=3)
    live_server.refresh_indicators()
    return out


@pytest.fixture()
def phone(browser, live_server):
    ctx = _context(browser, live_server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    yield page
    assert ctx.external == []
    ctx.close()


def _axe(page) -> None:
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")  # every form
    found = a11y.violations(page)
    assert not found, f"{page.url}\n{a11y.describe(found)}"


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways: {width}px"


def test_every_console_and_dashboard_page_passes_axe(desk, reports, shots):
    """Finding: 11 unlabelled inputs, 2+3 unnamed selects, contrast 4.42:1 on grey text."""
    desk.goto("/console/login")
    _axe(desk)
    sign_in(desk, "bmt.staff")
    _axe(desk)  # the queue
    desk.goto(f"/console/reports/{reports['late']}")
    _axe(desk)
    desk.goto(f"/console/reports/{reports['ward'][0]}")
    _axe(desk)
    sign_in(desk, "dispatcher")
    desk.goto("/console/triage")
    desk.wait_for_selector(f"tr[data-code='{reports['triage']}']")
    _axe(desk)
    desk.goto(f"/console/reports/{reports['triage']}")
    _axe(desk)
    sign_in(desk, "supervisor")
    desk.goto("/console/dashboard/")
    desk.wait_for_selector("#dash-map .leaflet-overlay-pane canvas", state="attached")
    _axe(desk)
    desk.goto("/console/dashboard/definitions")
    _axe(desk)
    desk.goto("/console/dashboard/?lang=en")
    _axe(desk)


def test_keyboard_alone_accepts_a_report(desk, reports):
    sign_in(desk, "bmt.staff")
    code = reports["ward"][1]
    desk.goto(f"/console/reports/{code}")
    desk.keyboard.press("Tab")
    assert desk.evaluate("document.activeElement.className") == "skip"
    desk.keyboard.press("Enter")
    assert desk.evaluate("document.activeElement.id") == "content"
    for _ in range(400):  # Tab through the page until the accept button has the focus
        desk.keyboard.press("Tab")
        if desk.evaluate("document.activeElement.closest('#form-accept') !== null"):
            break
    else:
        pytest.fail("the accept button is not reachable with Tab")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#report-status[data-status='in_progress']")
    assert f"Đã tiếp nhận phản ánh {code}." in desk.inner_text(".flash.ok")


def test_phone_queue_is_cards_with_maps_and_camera_and_no_sideways_scroll(phone, reports, shots):
    """Findings: on a phone the queue is a squeezed table, no link to a maps app; the
    dashboard scrolls sideways (612 px)."""
    sign_in(phone, "bmt.staff")
    row = phone.locator(f"tr[data-code='{reports['ward'][2]}']")
    assert row.evaluate("r => getComputedStyle(r).display") == "grid"
    assert phone.locator("table.queue thead").evaluate("h => getComputedStyle(h).display") == "none"
    assert row.locator("a.maps-link").get_attribute("href").startswith("geo:12.667")
    _no_sideways_scroll(phone)
    shots(phone, "console-queue-phone")
    phone.goto(f"/console/reports/{reports['ward'][2]}")
    _no_sideways_scroll(phone)
    assert phone.locator("#open-geo").get_attribute("href").startswith("geo:12.667000,108.038000")
    phone.click("details[data-action='resolve'] summary")
    assert phone.locator("#resolve-camera").get_attribute("capture") == "environment"
    shots(phone, "console-detail-phone")
    sign_in(phone, "supervisor")
    phone.goto("/console/dashboard/")
    phone.wait_for_selector("#dash-map .leaflet-overlay-pane canvas", state="attached")
    _no_sideways_scroll(phone)
    shots(phone, "dashboard-phone")


def test_dispatcher_finds_a_unit_by_name_in_vietnamese_groups(desk, reports, shots):
    """Findings: group labels `commune`, `contractor`, `department`; by code, cut off, no
    suggestion; 111 units with no search."""
    sign_in(desk, "dispatcher")
    desk.goto("/console/triage")
    row = desk.locator(f"tr[data-code='{reports['triage']}']")
    groups = row.locator("optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert groups[0] == "Gợi ý" and "UBND xã, phường" in groups and "Nhà thầu dịch vụ đô thị" in groups
    assert not {"commune", "contractor", "department", "utility"} & set(groups)
    suggested = row.locator("optgroup.suggested option").all_inner_texts()
    assert any("UBND Phường Buôn Ma Thuột" in s and "địa bàn" in s for s in suggested)
    select = row.locator("select[name=unit]")
    box = select.bounding_box()
    longest = select.evaluate("s => Math.max(...[...s.options].map(o => o.text.length))")
    assert box["width"] >= 280 and longest > 40  # full names, in a box wide enough to read them
    row.locator("input.unit-search").fill("cap thoat nuoc")  # typed without Vietnamese marks
    assert select.input_value() == "WATER-66"
    visible = select.evaluate("s => [...s.options].filter(o => !o.hidden && o.value).map(o => o.value)")
    assert visible == ["WATER-66"]
    shots(desk, "console-triage")
    row.locator("button[type=submit]").click()
    desk.wait_for_selector(".flash.ok")
    assert "Đã phân công phản ánh" in desk.inner_text(".flash.ok")
    assert "Công ty Cấp thoát nước Đắk Lắk" in desk.inner_text(".flash.ok")


def test_due_picker_refuses_a_sunday_and_offers_the_next_working_day(desk, reports, live_server):
    """Finding: the extension date is free text (Sunday 20/12/2026 went through)."""
    sign_in(desk, "bmt.staff")
    desk.goto(f"/console/reports/{reports['ward'][0]}")
    desk.click("details[data-action='extend'] summary")
    picker = desk.locator("#extend-day")
    assert picker.get_attribute("type") == "date"
    first = date.fromisoformat(picker.get_attribute("min"))
    sunday = first + timedelta(days=(6 - first.weekday()) % 7)
    picker.fill(sunday.isoformat())
    msg = desk.inner_text("#extend-day-msg")
    assert f"{sunday:%d/%m/%Y} là ngày nghỉ cuối tuần, không phải ngày làm việc" in msg
    assert not picker.evaluate("i => i.checkValidity()")
    desk.click("#extend-day-use-next")
    assert date.fromisoformat(picker.input_value()) > sunday
    assert picker.evaluate("i => i.checkValidity()")
    desk.fill("#extend-reason", "Chờ vật tư")
    desk.fill("#extend-apology", "Xin lỗi vì sự chậm trễ.")
    desk.click("#form-extend button[type=submit]")
    desk.wait_for_selector(".flash.ok")
    assert "17:00" in desk.inner_text(".flash.ok")  # the close of office of that day


def test_overdue_report_offers_no_extension_and_a_refusal_keeps_the_text(desk, reports, shots):
    """Finding: "Gia hạn" offered on an overdue report, refused after submit, text lost."""
    sign_in(desk, "bmt.staff")
    desk.goto(f"/console/reports/{reports['late']}")
    assert desk.locator("details[data-action='extend']").count() == 0
    desk.click("details[data-action='resolve'] summary")
    desk.fill("#resolve-answer", "Đã vá xong ổ gà.")
    desk.evaluate("document.getElementById('form-resolve').noValidate = true")
    desk.click("#form-resolve button[type=submit]")
    desk.wait_for_selector("#action-error")
    assert "ảnh" in desk.inner_text("#action-error")
    assert desk.input_value("#resolve-answer") == "Đã vá xong ổ gà."
    shots(desk, "console-detail")


def test_dashboard_answers_which_units_are_late_and_whether_it_improves(desk, reports, live_server, shots):
    """Findings: ranking best first in a scroll box (late units at 91–98), 1 report ranks like
    many, utilities only after drilling down, no breakdown/definition of the on-time rate, no
    change against the previous period, handling chart by code, every other bar."""
    sign_in(desk, "supervisor")
    desk.goto("/console/dashboard/")
    desk.wait_for_selector("#dash-map .leaflet-overlay-pane canvas", state="attached")
    kinds = desk.locator(".ranking-group").evaluate_all("gs => gs.map(g => g.dataset.kind)")
    assert kinds[0] == "commune" and {"utility", "department"} <= set(kinds)
    ranking = desk.locator("#ranking-card")
    assert ranking.evaluate("c => c.scrollHeight <= c.clientHeight + 1")  # nothing hidden in a box
    communes = desk.locator("#ranking-commune tbody tr")
    first = communes.first
    assert first.get_attribute("data-unit") == "UBND-24133"  # the ward with the late report
    ranked = desk.locator("#ranking-commune tbody tr[data-rank]:not([data-rank=''])")
    rates = ranked.evaluate_all("rs => rs.map(r => r.dataset.rank)")
    assert rates == sorted(rates, key=int, reverse=True)  # worst (highest rank number) first
    small = desk.locator("#ranking-commune tr.small-unit")
    assert small.count() >= 1 and "chưa xếp hạng" in small.first.inner_text()  # Tân Lập: 1 report
    assert desk.locator("#ranking-utility tr[data-unit='PC-66']").count() == 1
    parts = {
        p: int(desk.inner_text(f"#on-time-parts [data-part='{p}']"))
        for p in ("answered_on_time", "open_not_due", "late", "total")
    }
    assert parts["answered_on_time"] + parts["open_not_due"] + parts["late"] == parts["total"]
    assert parts["open_not_due"] >= 1 and parts["late"] >= 1
    assert "chưa đến hạn được tính là đúng hạn" in desk.inner_text("#kpi-on-time .def")
    for kpi in ("on-time", "late", "backlog", "resolved", "handling", "satisfaction"):
        assert desk.locator(f"#kpi-{kpi} .delta").count() == 1
        assert desk.locator(f"#kpi-{kpi} .def").inner_text().strip()
    assert desk.locator("#kpi-backlog svg.spark").count() == 1
    labels = desk.evaluate("Chart.getChart('chart-handling').data.labels")
    ticks = desk.evaluate("Chart.getChart('chart-handling').scales.y.ticks.length")
    assert ticks == len(labels) and all(not re.fullmatch(r"[A-Z0-9-]+", x) for x in labels)
    assert desk.locator("#definitions-link").count() == 1
    shots(desk, "dashboard")


def test_dashboard_custom_period_from_the_dates_and_plain_errors(desk, reports):
    """Findings: From/To silently ignored unless period=custom; 31/02 answers "Chỉ dùng 'to'
    với period=custom."."""
    sign_in(desk, "supervisor")
    desk.goto("/console/dashboard/")
    today = date.today()
    desk.fill("#d-from", (today - timedelta(days=6)).isoformat())
    assert desk.input_value("#d-period") == "custom"  # the menu follows the dates
    desk.fill("#d-to", today.isoformat())
    desk.click("#dash-filters button[type=submit]")
    desk.wait_for_selector("#period-label")
    assert f"{today - timedelta(days=6):%d/%m/%Y} – {today:%d/%m/%Y}" in desk.inner_text("#period-label")
    desk.goto(f"/console/dashboard/?period=month&from={today - timedelta(days=6):%d/%m/%Y}&to={today:%d/%m/%Y}")
    assert f"{today - timedelta(days=6):%d/%m/%Y} – {today:%d/%m/%Y}" in desk.inner_text("#period-label")
    desk.goto("/console/dashboard/?period=custom&from=01/02/2026&to=31/02/2026")
    error = desk.inner_text("#period-error")
    assert "31/02/2026" in error and "không phải là một ngày có thật" in error
    assert "period=custom" not in error and "'to'" not in error
    assert desk.locator("#kpis").count() == 1  # the month is still shown under the message


def test_citizen_account_on_the_console_login(desk):
    desk.goto("/console/login")
    desk.fill("#username", "citizen")
    desk.fill("#password", DEMO_PASSWORD)
    desk.click("#login-form button[type=submit]")
    text = desk.inner_text("#login-error")
    assert "ứng dụng người dân" in text and "Sai tên đăng nhập" not in text


def test_history_and_routing_in_words(desk, reports):
    """Findings: `system:router`, `staff:bmt.staff`, `device`, `commune default`, Leaflet's
    "Zoom in", a unit named "… (demo)"."""
    sign_in(desk, "bmt.staff")
    code = reports["ward"][1]
    desk.goto(f"/console/reports/{code}")
    body = desk.inner_text("body")
    for word in ("system:router", "staff:bmt.staff", "device", "commune default", "n/a", "P90", "(demo)"):
        assert word not in body, word
    assert "Hệ thống (phân công tự động)" in desk.inner_text("#history")
    assert desk.locator(".leaflet-control-zoom-in").get_attribute("title") == "Phóng to"
    assert "Mặc định: UBND xã, phường sở tại" in desk.inner_text("#routing")
    assert public_report(desk, code)["status"] in ("in_progress", "assigned")
