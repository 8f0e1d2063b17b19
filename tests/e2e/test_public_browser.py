"""The public pages in Chromium: clusters drawn from the server, a report's page, the scorecard,
and no serious or critical axe-core violation on any of them."""

from __future__ import annotations

import pytest

from tests.e2e import a11y
from tests.e2e.conftest import wait_until

BMT = (12.667, 108.038)


@pytest.fixture()
def desk(browser, live_server):
    ctx = browser.new_context(
        base_url=live_server.url,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        viewport={"width": 1280, "height": 900},
    )
    page = ctx.new_page()
    yield page
    ctx.close()


def _submit(page, lat: float, lon: float) -> str:
    r = page.request.post(
        "/api/v1/reports",
        data={"category": "street_light", "lat": lat, "lon": lon, "description": "Đèn đường không sáng"},
    )
    assert r.status == 201, r.text()
    return r.json()["code"]


def test_public_map_report_and_scorecard_are_accessible(desk, live_server):
    codes = [_submit(desk, BMT[0] + i * 0.0004, BMT[1]) for i in range(3)]
    wait_until(lambda: desk.request.get(f"/api/v1/reports/{codes[-1]}").json()["unit"])

    desk.goto("/public/")
    desk.wait_for_selector(".cluster-icon, .leaflet-marker-icon")
    assert desk.locator(".public-list li").count() >= 3
    assert not (found := a11y.violations(desk)), a11y.describe(found)

    desk.click(f"text={codes[0]}")
    desk.wait_for_url(f"**/public/reports/{codes[0]}")
    assert "Đèn đường không sáng" in desk.content()
    assert not (found := a11y.violations(desk)), a11y.describe(found)

    desk.goto("/public/scorecard")
    assert desk.locator("#sum-received").count() == 1
    assert not (found := a11y.violations(desk)), a11y.describe(found)

    desk.goto("/public/open-data?lang=en")
    assert "CC BY 4.0" in desk.content()
    assert not (found := a11y.violations(desk)), a11y.describe(found)
