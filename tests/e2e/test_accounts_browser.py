"""The console's account pages in Chromium: an administrator creates and deactivates an account
with the keyboard alone, anyone changes their own password; axe-core finds no serious or
critical violation on any of these pages (issue 15)."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.e2e import a11y
from tests.e2e.test_browser import sign_in


def _axe(page) -> None:
    found = a11y.violations(page)
    assert not found, f"{page.url}\n{a11y.describe(found)}"


def _tab_to(page, selector: str, most: int = 200) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} is not reachable with Tab")


def test_an_admin_creates_and_deactivates_an_account_with_the_keyboard(desk, live_server):
    sign_in(desk, "admin")
    _tab_to(desk, "#nav-accounts")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#accounts")
    assert "bmt.staff" in desk.inner_text("#accounts") and "citizen" not in desk.inner_text("#accounts tbody")
    _axe(desk)
    _tab_to(desk, "#n-username")
    desk.keyboard.type("kb.officer")
    desk.keyboard.press("Tab")
    desk.keyboard.type("Lê Bàn Phím")
    _tab_to(desk, "#n-unit", 3)
    desk.keyboard.press("ArrowDown")  # the first unit of the list
    _tab_to(desk, "#n-password", 3)
    desk.keyboard.type("keyboard-only-password")
    desk.keyboard.press("Tab")
    desk.keyboard.type("cán bộ mới")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#account-facts")
    assert "Đã tạo tài khoản kb.officer." in desk.inner_text(".flash.ok")
    assert "Đang hoạt động" in desk.inner_text("#account-state")
    assert "cán bộ mới" in desk.inner_text("#account-acts")
    _axe(desk)
    _tab_to(desk, "#a-reason")
    desk.keyboard.type("chuyển công tác")
    desk.keyboard.press("Enter")
    desk.wait_for_selector(".flash.ok")
    assert "Đã khoá tài khoản kb.officer." in desk.inner_text(".flash.ok")
    assert "Đã khoá" in desk.inner_text("#account-state")
    assert "chuyển công tác" in desk.inner_text("#account-acts")
    _axe(desk)
    r = desk.request.post("/api/v1/auth/login", data={"username": "kb.officer", "password": "keyboard-only-password"})
    assert r.status == 401  # deactivated: no sign-in
    # The admin's own page offers neither deactivation nor a reset.
    desk.goto("/console/accounts/")
    desk.click("#accounts a:text-is('admin')")
    desk.wait_for_selector("#account-facts")
    assert desk.query_selector("#active-form") is None and desk.query_selector("#reset-form") is None


def test_anyone_changes_their_own_password_in_the_console(desk, live_server):
    sign_in(desk, "sxd.supervisor")
    _tab_to(desk, "#nav-password")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#password-form")
    _axe(desk)
    desk.keyboard.type("not-my-password")  # the current password field has the focus
    desk.keyboard.press("Tab")
    desk.keyboard.type("a-new-console-password")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#password-error")
    assert "Mật khẩu hiện tại không đúng." in desk.inner_text("#password-error")
    _axe(desk)  # with the error shown
    desk.fill("#current-password", DEMO_PASSWORD)
    desk.fill("#new-password", "a-new-console-password")
    desk.focus("#new-password")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#login-form")
    assert "Đã đổi mật khẩu" in desk.inner_text(".flash.ok")
    _axe(desk)
    desk.goto("/console/password")
    assert "/console/login" in desk.url  # every session ended, this one too
    desk.fill("#username", "sxd.supervisor")
    desk.fill("#password", DEMO_PASSWORD)
    desk.click("#login-form button[type=submit]")
    desk.wait_for_selector("#login-error")  # the old password no longer opens it
    desk.fill("#password", "a-new-console-password")
    desk.click("#login-form button[type=submit]")
    desk.wait_for_selector("#who")
