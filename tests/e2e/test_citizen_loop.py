"""The citizen's loop in Chromium at 390×844: phone sign-in with the code read from the SMS
gateway, a report, the unit's question by Web Push and SMS, the answer on the track page, the
extension's new date and apology, the answer with its after photo; then "my reports" on a
second browser. Local servers stand in for the SMS gateway and the push service."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import _context, wait_until
from tests.e2e.test_browser import BMT, CORPUS_PHOTO, _jpeg, submit_report
from tests.servers import Browser, RecordingServer, vapid_key_file

PHONE, E164 = "0912 345 678", "+84912345678"
QUESTION = "Ổ gà nằm trước số nhà mấy trên đường Lê Duẩn?"
APOLOGY = "Chúng tôi xin lỗi: mưa lớn nên phải chờ nhựa đường thêm hai ngày."
ANSWER = "Đã vá ổ gà và lu lèn mặt đường."


@pytest.fixture()
def before_photo(tmp_path):
    return CORPUS_PHOTO if CORPUS_PHOTO.exists() else _jpeg(tmp_path, "pothole.jpg", (140, 120, 90))


@pytest.fixture()
def after_photo(tmp_path):
    return _jpeg(tmp_path, "repaired.jpg", (60, 60, 60))


@pytest.fixture(scope="module")
def gateway():
    server = RecordingServer(status=200).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def push_service():
    server = RecordingServer(status=201).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_server_env(gateway, push_service, tmp_path_factory):
    return {
        "FIELDREPORT_SMS_PROVIDER": "http",
        "FIELDREPORT_SMS_GATEWAY_URL": gateway.url + "/sms/send",
        "FIELDREPORT_VAPID_PRIVATE_KEY_FILE": vapid_key_file(tmp_path_factory.mktemp("vapid")),
        "FIELDREPORT_PUSH_ALLOWED_ORIGINS": push_service.url,
        "FIELDREPORT_OTP_RESEND_SECONDS": "1",
    }


def new_phone(browser, live_server):
    ctx = _context(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={**BMT, "accuracy": 12},
        permissions=["geolocation"],
    )
    return ctx, ctx.new_page()


def sign_in_by_phone(page, gateway) -> None:
    def codes():
        return [t for t in gateway.texts_to(E164) if t.startswith("Ma xac thuc")]

    sent = len(codes())
    page.goto("/signin")
    page.fill("#phone", PHONE)
    page.click("#send-otp")
    texts = wait_until(lambda: len(codes()) > sent and codes())
    code = re.search(r"\b(\d{6})\b", texts[-1]).group(1)
    page.fill("#otp", code)
    page.click("#check-otp")
    page.wait_for_selector("#signed-in:not([hidden])")
    assert page.inner_text("#who") == E164


def staff_call(page, live_server, path, **kw):
    token = page.request.post("/api/v1/auth/login", data={"username": "bmt.staff", "password": DEMO_PASSWORD}).json()[
        "access_token"
    ]
    resp = page.request.post(f"/api/v1/staff/reports/{path}", headers={"Authorization": f"Bearer {token}"}, **kw)
    assert resp.ok, resp.text()
    return resp.json()


def test_the_citizens_loop(browser, live_server, gateway, push_service, before_photo, after_photo, shots):
    ctx, phone = new_phone(browser, live_server)
    # 1. Sign in with the code the SMS gateway received, then report from the phone.
    sign_in_by_phone(phone, gateway)
    shots(phone, "citizen-signin")
    code = submit_report(phone, "road_damage", before_photo, "Ổ gà lớn giữa đường, nguy hiểm xe máy.")
    token = phone.evaluate("JSON.parse(localStorage.getItem('fr.mine'))[0].token")
    wait_until(lambda: phone.request.get(f"/api/v1/reports/{code}").json()["status"] == "assigned")

    # 2. This phone asks for Web Push (as PushSubscription.toJSON() would give the page).
    device = Browser()
    resp = phone.request.post(
        f"/api/v1/reports/{code}/subscriptions",
        headers={"X-Citizen-Token": token},
        data={"channel": "push", **device.subscription(push_service.url + "/wp/phone-1")},
    )
    assert resp.status == 201 and resp.json()["role"] == "reporter"

    # 3. The unit asks a question: it arrives as a push payload and as an SMS.
    gateway.received.clear()
    staff_call(phone, live_server, f"{code}/request-info", data={"question": QUESTION})
    message = wait_until(
        lambda: next((m for m in map(device.read, push_service.received) if m["kind"] == "info_requested"), None)
    )
    assert QUESTION in message["body"] and message["url"].endswith(f"/track/{code}")
    sms = wait_until(lambda: [t for t in gateway.texts_to(E164) if QUESTION in t])
    assert f"/track/{code}" in sms[0]

    # 4. The citizen reads the question on the track page and answers it there.
    phone.goto(f"/track/{code}")
    phone.wait_for_selector("#info-card:not([hidden])")
    assert phone.inner_text("#question") == QUESTION
    assert phone.locator("#history li[data-type='info_requested']").inner_text().count(QUESTION) == 1
    shots(phone, "citizen-question")
    phone.fill("#info-text", "Trước số nhà 125, cạnh cột điện.")
    phone.click("#send-info")
    phone.wait_for_selector("#status[data-status='assigned']")
    assert phone.is_hidden("#info-card")

    # 5. The unit extends the deadline: the new date and the apology are on the page.
    due = datetime.fromisoformat(staff_call(phone, live_server, f"{code}/accept")["due_at"])
    new_due = due + timedelta(days=2)
    staff_call(
        phone,
        live_server,
        f"{code}/extend",
        data={"new_due_at": new_due.isoformat(), "reason": "thiếu vật tư", "apology": APOLOGY},
    )
    phone.reload()
    phone.wait_for_selector("#status[data-status='in_progress']")
    day = new_due.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")
    assert day in phone.inner_text("#due") and phone.is_visible("#due-extended")
    extended = phone.locator("#history li[data-type='extended']").inner_text()
    assert APOLOGY in extended and day in extended and "thiếu vật tư" not in extended

    # 6. The unit resolves it with an after photo: the answer, then the photo (a placeholder
    #    first while it is processed, filled in without reloading).
    staff_call(
        phone,
        live_server,
        f"{code}/resolve",
        multipart={
            "answer": ANSWER,
            "photos": {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": after_photo.read_bytes()},
        },
    )
    phone.reload()
    phone.wait_for_selector("#status[data-status='resolved']")
    assert ANSWER in phone.inner_text("#answer")
    phone.wait_for_selector("#after-photos img.photo-after", timeout=60_000)
    assert phone.locator("#after-photos .photo-pending").count() == 0
    shots(phone, "citizen-track-answer")
    ctx.close()

    # 7. The same citizen on another phone: signing in brings their reports along.
    ctx2, other = new_phone(browser, live_server)
    sign_in_by_phone(other, gateway)
    other.wait_for_selector(f"#mine a.code:text('{code}')")
    other.goto(f"/track/{code}")
    other.wait_for_selector("#status[data-status='resolved']")
    assert other.is_visible("#rate-card")  # the reporter, proved by the session alone
    assert ctx.external == [] and ctx2.external == []
    ctx2.close()


def test_the_service_worker_shows_a_push_message(browser, live_server):
    ctx = _context(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        permissions=["notifications"],
    )
    page = ctx.new_page()
    page.goto("/")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    cdp = ctx.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    # Playwright delivers CDP events while it runs a call: wait_for_timeout lets them in.

    def live_registration():
        # The newest registration of our scope that is not being deleted (an update of the
        # worker can report a replaced one first; a push sent to it is never shown).
        page.wait_for_timeout(100)
        ours = [r for r in registrations if r["scopeURL"].startswith(live_server.url) and not r.get("isDeleted")]
        return ours[-1] if ours else None

    wait_until(live_registration)
    # What services/notify hands the push service (decrypted by the browser before this point).
    message = {"title": "Phản ánh 7QX2M4KD9A", "body": QUESTION, "url": "/track/7QX2M4KD9A", "tag": "7QX2M4KD9A"}
    sent = []

    def shown_after_push():
        # Deliver (again every 2 s: a push delivered while the worker is being replaced is
        # dropped by Chromium, as a real push service's retry would cover), then look.
        if len(sent) % 10 == 0:
            cdp.send(
                "ServiceWorker.deliverPushMessage",
                {
                    "origin": live_server.url + "/",
                    "data": json.dumps(message),
                    "registrationId": live_registration()["registrationId"],
                },
            )
        sent.append(1)
        return page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.getNotifications())"
            ".then(list => list.map(n => [n.title, n.body, n.data.url]))"
        )

    shown = wait_until(shown_after_push)
    assert shown == [["Phản ánh 7QX2M4KD9A", QUESTION, "/track/7QX2M4KD9A"]]
    ctx.close()
