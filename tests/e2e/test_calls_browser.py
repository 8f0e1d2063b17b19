"""A hotline operator records calls in Chromium with the keyboard alone (issue 19): sign-in,
caller, place by name (listbox), category and its question, description, the open report
nearby, Ctrl+Enter; the SMS gateway (a local server) receives the code and the photo link;
axe-core finds nothing serious or critical on the page."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.e2e import a11y
from tests.e2e.conftest import wait_until
from tests.e2e.test_browser import public_report
from tests.servers import RecordingServer

TANLAP = (12.6573, 108.1066)  # Phường Tân Lập (24121)
CALLER = "+84912345678"

SEED = """\
import json
from fieldreport.extensions import db
from fieldreport.services import routing
from tests import factories as f
r = f.make_report(db.session, "road_damage", {lon}, {lat}, description="Ổ gà lớn ở Tân Lập", location_source="device")
routing.route_report(r.id)
db.session.commit()
print(json.dumps({{"code": r.code}}))
"""


STORED = """\
import json
from sqlalchemy import select
from fieldreport.extensions import db
from fieldreport.models import Event, Report
r = db.session.scalar(select(Report).where(Report.code == "{code}"))
ev = db.session.scalar(select(Event).where(Event.report_id == r.id, Event.type == "submitted"))
print(json.dumps({{"channel": r.channel, "attributes": r.attributes, "phone": r.reporter_phone,
                  "name": r.reporter_name, "address": r.address_hint, "actor": ev.actor}}))
"""


@pytest.fixture(scope="module")
def gateway():
    server = RecordingServer(status=200).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_server_env(gateway):
    return {
        "FIELDREPORT_SMS_PROVIDER": "http",
        "FIELDREPORT_SMS_GATEWAY_URL": gateway.url + "/sms/send",
        "FIELDREPORT_PUBLIC_BASE_URL": "https://phananh.example.vn",
    }


@pytest.fixture(scope="module")
def existing(live_server):
    """An open pothole report at Tân Lập: the one a repeat call is about."""
    return json.loads(live_server.python(SEED.format(lat=TANLAP[0], lon=TANLAP[1])).strip().splitlines()[-1])["code"]


def focused(page) -> str:
    return page.evaluate("document.activeElement ? document.activeElement.id : ''")


def tab_to(page, element_id: str, limit: int = 40) -> None:
    for _ in range(limit):
        if focused(page) == element_id:
            return
        page.keyboard.press("Tab")
    pytest.fail(f"#{element_id} is not reachable with Tab (focus is on #{focused(page)})")


def choose_with_arrows(page, element_id: str, value: str, limit: int = 40) -> None:
    for _ in range(limit):
        if page.evaluate(f"document.getElementById('{element_id}').value") == value:
            return
        page.keyboard.press("ArrowDown")
    pytest.fail(f"#{element_id} never reached {value!r} with the arrow keys")


def keyboard_sign_in(page, username: str) -> None:
    page.goto("/console/login")
    assert focused(page) == "username"  # autofocus
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#who")


def test_an_operator_records_a_call_with_the_keyboard_alone(desk, live_server, gateway, existing, shots):
    keyboard_sign_in(desk, "hotline")
    assert desk.url.endswith("/console/calls/")
    desk.wait_for_function("window.FRCalls !== undefined")
    assert focused(desk) == "phone"  # the first thing a caller is asked
    desk.keyboard.type("0912 345 678")
    desk.keyboard.press("Tab")
    desk.keyboard.type("Trần Văn Gọi")
    desk.keyboard.press("Tab")
    assert focused(desk) == "place"
    desk.keyboard.type("tan lap")  # no accents: the operator types fast
    desk.wait_for_selector("#place-results [role=option][aria-selected=true]")
    assert desk.get_attribute("#place", "aria-expanded") == "true"
    assert "Tân Lập" in desk.inner_text("#place-results")
    violations = a11y.violations(desk)  # with the listbox open
    assert violations == [], a11y.describe(violations)
    desk.keyboard.press("Enter")  # chooses the place, does not send the form
    desk.wait_for_function("document.getElementById('place-chosen').textContent.includes('Tân Lập')")
    assert desk.input_value("#lat") != "" and "/console/calls/" in desk.url
    tab_to(desk, "address_hint")
    desk.keyboard.type("Ngã ba trước chợ")
    tab_to(desk, "category")
    choose_with_arrows(desk, "category", "road_damage")
    desk.wait_for_selector("#attr-size")
    desk.keyboard.press("Tab")
    assert focused(desk) == "attr-size"  # the category's question comes next
    choose_with_arrows(desk, "attr-size", "large")
    desk.keyboard.press("Tab")
    assert focused(desk) == "description"
    desk.keyboard.type("Ổ gà mới, nước đọng")
    # The open report of the same category nearby is listed while the operator types.
    desk.wait_for_selector(f"#nearby [data-code='{existing}']")
    desk.keyboard.press("Tab")
    assert focused(desk) == "photo_link"
    desk.keyboard.press("Space")
    assert desk.is_checked("#photo_link")
    violations = a11y.violations(desk)
    assert violations == [], a11y.describe(violations)
    shots(desk, "console-call")
    desk.keyboard.press("Control+Enter")
    desk.wait_for_selector(".flash.ok")
    message = desk.inner_text(".flash.ok")
    code = re.search(r"Đã ghi nhận phản ánh ([0-9A-Z]{10})\.", message).group(1)
    assert CALLER in message
    assert focused(desk) == "phone"  # ready for the next call
    violations = a11y.violations(desk)
    assert violations == [], a11y.describe(violations)

    sms = wait_until(lambda: [t for t in gateway.texts_to(CALLER) if code in t], timeout=60)[0]
    assert f"https://phananh.example.vn/track/{code}" in sms
    assert re.search(rf"https://phananh\.example\.vn/r/{code}/photos\?t=\d+\.[0-9a-f]{{32}}", sms), sms
    public = public_report(desk, code)
    assert public["category"]["code"] == "road_damage" and public["area"]["name"].endswith("Tân Lập")
    assert "hotline" not in json.dumps(public, ensure_ascii=False)  # the operator is never shown
    stored = json.loads(live_server.python(STORED.format(code=code)).strip().splitlines()[-1])
    assert stored == {
        "channel": "hotline",
        "attributes": {"size": "large"},
        "phone": CALLER,
        "name": "Trần Văn Gọi",
        "address": "Ngã ba trước chợ",
        "actor": "operator:hotline",
    }


def test_a_repeat_call_becomes_a_supporter_with_the_keyboard(desk, live_server, gateway, existing):
    keyboard_sign_in(desk, "hotline")
    desk.wait_for_function("window.FRCalls !== undefined")
    desk.keyboard.type("0987 654 321")
    desk.keyboard.press("Tab")
    desk.keyboard.press("Tab")
    desk.keyboard.type("tan lap")
    desk.wait_for_selector("#place-results [role=option][aria-selected=true]")
    desk.keyboard.press("Enter")
    tab_to(desk, "category")
    choose_with_arrows(desk, "category", "road_damage")
    desk.wait_for_selector(f"#nearby button[data-code='{existing}']")
    before = public_report(desk, existing).get("followers_count", 0)
    tab_to(desk, "description")
    desk.keyboard.type("Vẫn chưa sửa")
    for _ in range(20):  # on to that nearby report's button (the first call's report is listed too)
        desk.keyboard.press("Tab")
        if desk.evaluate(f"document.activeElement.dataset.code === '{existing}'"):
            break
    else:
        pytest.fail("the nearby report's support button is not reachable with Tab")
    desk.keyboard.press("Enter")
    desk.wait_for_selector(".flash.ok")
    assert existing in desk.inner_text(".flash.ok")
    assert public_report(desk, existing).get("followers_count", 0) == before + 1
    wait_until(lambda: [t for t in gateway.texts_to("+84987654321") if existing in t], timeout=60)
