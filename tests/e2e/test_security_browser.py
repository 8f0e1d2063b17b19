"""Security in Chromium: every page under its Content-Security-Policy with no violation, the
headers on every page, and a commune name from a hostile boundary file shown as text on
every map (tooltips and popups), never run as HTML."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import DEMO_PASSWORD, wait_until

BMT = (12.667, 108.038)
HOSTILE = '<img src=x onerror="window.__xss=(window.__xss||0)+1">Phường BMT'
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture(scope="module")
def hostile_commune(live_server):
    """Every commune named as a hostile boundary file could name it (whichever one the mouse
    finds on the map), before any page has loaded (and cached) the communes layer."""
    live_server.python(
        "from sqlalchemy import text\nfrom fieldreport.extensions import db\n"
        'db.session.execute(text("UPDATE areas SET name = :n || code, full_name = :n || code '
        f"WHERE level = 'commune'\"), {{'n': {HOSTILE!r}}})\n"
        "db.session.commit()"
    )
    return HOSTILE


@pytest.fixture()
def page(browser, live_server, hostile_commune):
    ctx = browser.new_context(
        base_url=live_server.url,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        viewport={"width": 1280, "height": 900},
    )
    ctx.add_init_script(WATCH)
    p = ctx.new_page()
    p.console_messages = []
    p.on("console", lambda m: p.console_messages.append(m.text) if "Content Security Policy" in m.text else None)
    yield p
    ctx.close()


def _submit(page) -> str:
    r = page.request.post(
        "/api/v1/reports",
        data={"category": "street_light", "lat": BMT[0], "lon": BMT[1], "description": "Đèn đường không sáng"},
    )
    assert r.status == 201, r.text()
    return r.json()["code"]


def _sign_in(page, username: str) -> None:
    page.goto("/console/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _visit(page, path: str) -> list[str]:
    """Load the page, let its scripts, map and charts run; the CSP violations it caused."""
    resp = page.goto(path)
    assert resp is not None and resp.status < 400, (path, resp and resp.status)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    found = page.evaluate("window.__csp") + page.console_messages
    page.console_messages.clear()
    return found


def test_every_page_sends_the_security_headers_and_breaks_no_rule_of_its_csp(page, live_server):
    code = _submit(page)
    wait_until(lambda: page.request.get(f"/api/v1/reports/{code}").json()["unit"])
    anonymous = [
        "/",
        "/track",
        f"/track/{code}",
        "/signin",
        "/public/",
        f"/public/reports/{code}",
        "/public/scorecard",
        "/public/open-data",
        "/console/login",
        "/api/v1/docs",
    ]
    staff = ["/console/", "/console/triage", f"/console/reports/{code}", "/console/dashboard/"]
    violations = {}
    for path in anonymous:
        if found := _visit(page, path):
            violations[path] = found
        headers = page.request.get(path).headers
        csp = headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        tiles = urlsplit(live_server.tiles.template)
        assert f"{tiles.scheme}://{tiles.netloc}" in csp.split("img-src")[1].split(";")[0]  # the tile server
        assert headers.get("x-content-type-options") == "nosniff" and headers.get("x-frame-options") == "DENY"
        assert headers.get("referrer-policy") == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in headers  # plain http here; HTTPS gets it
    assert page.locator("#swagger-ui-container .opblock").count() > 0  # swagger-ui ran under the CSP
    _sign_in(page, "admin")
    for path in staff:
        if found := _visit(page, path):
            violations[path] = found
    assert page.locator(".leaflet-tile-loaded").count() > 0 or page.locator("canvas").count() > 0
    assert not violations, violations
    https = page.request.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers
    assert https.get("strict-transport-security", "").startswith("max-age=31536000")


def test_a_hostile_commune_name_is_text_on_every_map(page):
    """The name is markup that would run script as HTML; tooltips and popups show it as text."""
    _sign_in(page, "admin")
    page.goto("/console/dashboard/")
    page.wait_for_selector("#dash-map canvas", state="attached")
    page.wait_for_load_state("networkidle")
    box = page.locator("#dash-map").bounding_box()
    tooltip = popup = None
    steps = 40  # the map draws on a canvas: find the commune by moving over it
    for i in range(1, steps):
        for j in range(1, steps):
            x, y = box["x"] + box["width"] * i / steps, box["y"] + box["height"] * j / steps
            page.mouse.move(x, y)
            texts = page.evaluate("Array.from(document.querySelectorAll('.leaflet-tooltip'), e => e.innerText)")
            if any("Phường BMT" in t for t in texts):
                tooltip = next(t for t in texts if "Phường BMT" in t)
                page.mouse.click(x, y)
                page.wait_for_selector(".leaflet-popup-content")
                popup = page.locator(".leaflet-popup-content").first.inner_text()
                break
        if tooltip:
            break
    assert tooltip is not None and "<img src=x" in tooltip, tooltip  # the markup, as text
    assert popup is not None and "<img src=x" in popup, popup
    page.wait_for_timeout(300)
    assert page.locator(".leaflet-tooltip img, .leaflet-popup img").count() == 0
    assert page.evaluate("window.__xss") is None  # no handler ran
    assert not page.evaluate("window.__csp")  # and none was even tried (the CSP would block it)
