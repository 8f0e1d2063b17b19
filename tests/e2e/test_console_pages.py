"""Console and dashboard through the test client: sign-in, CSRF, roles, actions, exports."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import g
from sqlalchemy import select

from fieldreport.models import Report
from fieldreport.services import deadlines
from fieldreport.services.indicators import rollups
from tests import factories as f
from tests.conftest import DEMO_PASSWORD


def csrf(client, path: str = "/console/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def as_user(client, db_session, username: str) -> str:
    """A signed-in console session (made directly: login itself is tested below)."""
    session_id = f.token_for(db_session, username, kind="console")
    with client.session_transaction() as s:
        s["sid"] = session_id
        s["csrf"] = "test-csrf"
    return "test-csrf"


@pytest.fixture()
def bmt_report(db_session):
    report = f.make_report(db_session, "road_damage", *f.BMT)
    f.assign(db_session, report, "UBND-24133")
    db_session.commit()
    return report


def test_pages_need_sign_in(client):
    resp = client.get("/console/")
    assert resp.status_code == 302 and "/console/login" in resp.headers["Location"]
    assert client.get("/console/dashboard/").status_code == 302


def test_login_logout_and_wrong_password(client):
    token = csrf(client)
    bad = client.post("/console/login", data={"csrf_token": token, "username": "bmt.staff", "password": "nope"})
    assert bad.status_code == 401
    assert "Sai tên đăng nhập" in bad.get_data(as_text=True)
    ok = client.post(
        "/console/login?next=/console/triage",
        data={"csrf_token": token, "username": "bmt.staff", "password": DEMO_PASSWORD},
    )
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/console/triage")
    assert client.get("/console/").status_code == 200
    out = client.post("/console/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert client.get("/console/").status_code == 302  # the token was revoked, not just forgotten


def test_open_redirect_and_citizen_refused(client):
    token = csrf(client)
    resp = client.post(
        "/console/login?next=https://evil.example/",
        data={"csrf_token": token, "username": "bmt.staff", "password": DEMO_PASSWORD},
    )
    assert resp.headers["Location"] == "/console/"
    client.post("/console/logout", data={"csrf_token": token})
    citizen = client.post(
        "/console/login", data={"csrf_token": csrf(client), "username": "citizen", "password": DEMO_PASSWORD}
    )
    assert citizen.status_code == 401


def test_post_without_csrf_is_refused(client, db_session, bmt_report):
    as_user(client, db_session, "bmt.staff")
    resp = client.post(f"/console/reports/{bmt_report.code}/accept", data={"csrf_token": "forged"})
    assert resp.status_code == 302
    db_session.refresh(bmt_report)
    assert bmt_report.status == "assigned"


def test_staff_queue_detail_and_accept(client, db_session, bmt_report):
    token = as_user(client, db_session, "bmt.staff")
    assert bmt_report.code in client.get("/console/").get_data(as_text=True)
    page = client.get(f"/console/reports/{bmt_report.code}").get_data(as_text=True)
    assert 'id="form-accept"' in page and 'data-action="resolve"' in page
    resp = client.post(f"/console/reports/{bmt_report.code}/accept", data={"csrf_token": token})
    assert resp.status_code == 303
    db_session.refresh(bmt_report)
    assert bmt_report.status == "in_progress"


def test_other_units_report_is_forbidden(client, db_session, bmt_report):
    as_user(client, db_session, "tanlap.staff")
    resp = client.get(f"/console/reports/{bmt_report.code}")
    assert resp.status_code == 403
    assert "thuộc đơn vị khác" in resp.get_data(as_text=True)  # an HTML page, not JSON
    assert bmt_report.code not in client.get("/console/").get_data(as_text=True)


def test_extend_reads_dd_mm_yyyy_and_resolve_needs_a_photo(client, db_session, bmt_report):
    token = as_user(client, db_session, "bmt.staff")
    new_due = deadlines.calendar().add_working_days(bmt_report.due_at, 3).date()  # a working day
    resp = client.post(
        f"/console/reports/{bmt_report.code}/extend",
        data={
            "csrf_token": token,
            "new_due_at": new_due.strftime("%d/%m/%Y") + " 16:30",
            "reason": "Chờ vật tư",
            "apology": "Xin lỗi, chúng tôi cần thêm thời gian.",
        },
    )
    assert resp.status_code == 303
    db_session.refresh(bmt_report)
    local = bmt_report.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh"))
    assert (local.date(), local.hour, local.minute) == (new_due, 16, 30)
    resp = client.post(
        f"/console/reports/{bmt_report.code}/resolve",
        data={"csrf_token": token, "answer": "Đã xử lý"},
        follow_redirects=True,
    )
    assert "ảnh" in resp.get_data(as_text=True).lower()  # the workflow's own message, as a page
    db_session.refresh(bmt_report)
    assert bmt_report.status == "assigned"


def test_dispatcher_assigns_from_triage(client, db_session):
    report = f.make_report(db_session, "other", *f.BMT)
    f.assign(db_session, report, "IOC-66", status="submitted")
    db_session.commit()
    token = as_user(client, db_session, "dispatcher")
    assert report.code in client.get("/console/triage").get_data(as_text=True)
    resp = client.post(
        f"/console/reports/{report.code}/assign", data={"csrf_token": token, "unit": "SXD", "back": "/console/triage"}
    )
    assert resp.status_code == 303 and resp.headers["Location"] == "/console/triage"
    db_session.refresh(report)
    assert report.status == "assigned"
    assert db_session.scalar(select(Report.unit_id).where(Report.id == report.id)) == f.unit(db_session, "SXD").id


def test_staff_cannot_open_the_dashboard(client, db_session):
    as_user(client, db_session, "bmt.staff")
    resp = client.get("/console/dashboard/")
    assert resp.status_code == 403 and resp.mimetype == "text/html"


def test_dashboard_and_exports(client, db_session, bmt_report):
    as_user(client, db_session, "supervisor")
    # Vietnamese headers by default (the test's app context keeps the language on g: forget it).
    resp = client.get("/console/dashboard/export.csv?period=month")
    assert resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Nhóm", "Mã", "Tên"]
    g.pop("lang", None)
    page = client.get("/console/dashboard/?period=month&lang=en").get_data(as_text=True)
    assert 'id="kpis"' in page and "On-time rate" in page
    assert 'href="/console/dashboard/indicators.md"' in page  # the rules and their legal sources
    rules = client.get("/console/dashboard/indicators.md")
    assert rules.status_code == 200 and "QĐ 766/QĐ-TTg" in rules.get_data(as_text=True)
    assert any(r[0] == "unit" and r[1] == "UBND-24133" for r in rows)
    # Where the reports came from: the table by channel, on the page and in the export.
    assert 'id="by-channel"' in page and 'data-channel="hotline"' not in page  # no facts yet
    bmt_report.channel = "hotline"  # taken by an operator
    db_session.flush()
    rollups.refresh()
    g.pop("lang", None)
    resp = client.get("/console/dashboard/export.csv?period=month&lang=vi")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert any(r[:3] == ["channel", "hotline", "Đường dây nóng"] and r[3] == "1" for r in rows), [
        r[:4] for r in rows if r[0] != "unit"
    ]
    g.pop("lang", None)
    page = client.get("/console/dashboard/?period=month&lang=en").get_data(as_text=True)
    assert 'data-channel="hotline"' in page and "Hotline" in page
    xlsx = client.get("/console/dashboard/export.xlsx?period=month")
    assert xlsx.data[:2] == b"PK"
    assert client.get("/console/dashboard/export.pdf").status_code == 404


def test_dashboard_outside_subtree_says_so(client, db_session):
    as_user(client, db_session, "sxd.supervisor")
    page = client.get("/console/dashboard/?unit=UBND-24133").get_data(as_text=True)
    assert 'class="flash error' in page and "phạm vi" in page


# -- issue 18: a working day in the console -------------------------------------------------


def _overdue(db_session, report):
    from datetime import timedelta

    from fieldreport.models.base import utcnow

    report.due_at = report.indicator_due_at = utcnow() - timedelta(hours=2)
    db_session.commit()


def test_extend_is_not_offered_on_an_overdue_report(client, db_session, bmt_report):
    """Finding: "Gia hạn" is offered on an overdue report, then refused after submit."""
    as_user(client, db_session, "bmt.staff")
    assert 'data-action="extend"' in client.get(f"/console/reports/{bmt_report.code}").get_data(as_text=True)
    _overdue(db_session, bmt_report)
    page = client.get(f"/console/reports/{bmt_report.code}").get_data(as_text=True)
    assert 'data-action="extend"' not in page and 'data-action="resolve"' in page


def test_a_refused_action_keeps_what_was_typed(client, db_session, bmt_report):
    """Finding: a refused submit loses the typed text (it redirected to a blank form)."""
    token = as_user(client, db_session, "bmt.staff")
    answer = "Đã vá ổ gà, đường thông thoáng — chưa kèm ảnh."
    resp = client.post(f"/console/reports/{bmt_report.code}/resolve", data={"csrf_token": token, "answer": answer})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert re.search(r'<details data-action="resolve" open>', html)
    assert f">{answer}</textarea>" in html and 'id="action-error"' in html


def test_extension_picker_refuses_a_sunday_with_a_plain_message(client, db_session, bmt_report):
    """Finding: the extension date is free text and Sunday 20/12/2026 was accepted."""
    from datetime import timedelta

    token = as_user(client, db_session, "bmt.staff")
    page = client.get(f"/console/reports/{bmt_report.code}").get_data(as_text=True)
    picker = re.search(r'<input type="date" id="extend-day"[^>]*>', page).group(0)
    due = bmt_report.due_at.astimezone(deadlines.calendar().add_working_days(bmt_report.due_at, 1).tzinfo)
    sunday = (due + timedelta(days=6 - due.weekday() or 7)).date()
    assert sunday.isoformat() in re.search(r'data-days-off="([^"]*)"', picker).group(1)
    resp = client.post(
        f"/console/reports/{bmt_report.code}/extend",
        data={
            "csrf_token": token,
            "new_due_at": sunday.isoformat(),
            "reason": "Chờ vật tư",
            "apology": "Xin lỗi, chúng tôi cần thêm thời gian.",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f"Ngày {sunday:%d/%m/%Y} là Chủ nhật, không phải ngày làm việc" in html
    assert ">Chờ vật tư</textarea>" in html  # kept
    monday = deadlines.calendar().add_working_days(
        deadlines.calendar().add_working_days(bmt_report.due_at, 1), 0 + 1
    )  # any later working day
    resp = client.post(
        f"/console/reports/{bmt_report.code}/extend",
        data={
            "csrf_token": token,
            "new_due_at": monday.date().isoformat(),
            "reason": "Chờ vật tư",
            "apology": "Xin lỗi.",
        },
        follow_redirects=True,
    )
    db_session.refresh(bmt_report)
    local = bmt_report.due_at.astimezone(monday.tzinfo)
    assert (local.date(), local.hour, local.minute) == (monday.date(), 17, 0)  # close of office
    assert f"Đã gia hạn phản ánh {bmt_report.code} đến {local:%d/%m/%Y} 17:00" in resp.get_data(as_text=True)


def test_after_an_action_a_message_in_words_and_the_next_report(client, db_session, bmt_report):
    """Finding: after an action the message reads "Đã thực hiện. Tiếp nhận", no next report."""
    other = f.make_report(db_session, "road_damage", *f.BMT)
    f.assign(db_session, other, "UBND-24133")
    db_session.commit()
    token = as_user(client, db_session, "bmt.staff")
    page = client.post(
        f"/console/reports/{bmt_report.code}/accept", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    flash = re.search(r'<p class="flash ok"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert f"Đã tiếp nhận phản ánh {bmt_report.code}." in flash and "Đã thực hiện" not in flash
    nxt = re.search(r'id="next-report" href="/console/reports/(\w+)"', page)
    assert nxt and nxt.group(1) != bmt_report.code


def test_transfer_picker_groups_units_by_kind_by_name_with_suggestions(client, db_session):
    """Findings: the transfer list is 111 units by code with no search; English group labels."""
    drain = f.make_report(db_session, "flooding", *f.BMT)
    f.assign(db_session, drain, "UBND-24133")  # the ward has it; the water company owns drains
    db_session.commit()
    as_user(client, db_session, "bmt.staff")
    html = client.get(f"/console/reports/{drain.code}").get_data(as_text=True)
    form = html[html.index('id="form-transfer"') :]
    form = form[: form.index("</form>")]
    assert 'type="search"' in form and 'for="transfer-unit"' in form
    groups = re.findall(r'<optgroup label="([^"]+)"', form)
    assert groups[0] == "Gợi ý" and "Sở, ban, ngành" in groups and "Doanh nghiệp điện, nước" in groups
    assert not {"commune", "contractor", "department", "utility"} & set(groups)
    assert ">Sở Xây dựng</option>" in form and "SXD ·" not in form
    suggested = form[form.index('label="Gợi ý"') : form.index("</optgroup>")]
    assert 'value="WATER-66"' in suggested and "phụ trách lĩnh vực này" in suggested
    assert "UBND-24133" not in suggested  # never the unit that holds it


def test_dispatcher_sees_why_a_report_was_returned(client, db_session, bmt_report):
    """Finding: a report returned by a unit does not say why it was returned."""
    token = as_user(client, db_session, "bmt.staff")
    client.post(
        f"/console/reports/{bmt_report.code}/return",
        data={"csrf_token": token, "reason": "Đường tỉnh lộ, thuộc Sở Xây dựng"},
    )
    as_user(client, db_session, "dispatcher")
    triage = client.get("/console/triage").get_data(as_text=True)
    row = triage[triage.index(f'data-code="{bmt_report.code}"') :]
    row = row[: row.index("</tr>")]
    assert "Trả về từ UBND Phường Buôn Ma Thuột" in row and "Đường tỉnh lộ, thuộc Sở Xây dựng" in row
    assert re.search(r'<optgroup label="Gợi ý"[^>]*>\s*<option value="UBND-24133"', row)
    detail = client.get(f"/console/reports/{bmt_report.code}").get_data(as_text=True)
    assert 'id="returned-reason"' in detail and "Đường tỉnh lộ" in detail


def test_no_internal_words_on_the_vietnamese_console(client, db_session, bmt_report):
    """Findings: `device`, `commune default`, `system:router`, `staff:bmt.staff`, "(demo)"."""
    token = as_user(client, db_session, "bmt.staff")
    client.post(f"/console/reports/{bmt_report.code}/accept", data={"csrf_token": token})
    bmt_report.routing = {"reason": "rule", "unit_code": "UBND-24133", "rule_note": "Mặc định: UBND xã, phường sở tại"}
    db_session.commit()
    html = client.get(f"/console/reports/{bmt_report.code}").get_data(as_text=True)
    history = html[html.index('id="history"') : html.index("</ol>", html.index('id="history"'))]
    for word in ("system:router", "staff:bmt.staff", "system", "staff:"):
        assert word not in history
    assert "Hệ thống (phân công tự động)" in history and "UBND Phường Buôn Ma Thuột" in history
    assert ("· device" not in html and "vị trí GPS của điện thoại" in html) or "theo" in html
    assert "commune default" not in html and "(demo)" not in html
    from flask import g

    g.pop("lang", None)  # the test client shares one app context: forget the page's language
    en = client.get(f"/console/reports/{bmt_report.code}?lang=en").get_data(as_text=True)
    assert "System (automatic routing)" in en


def test_citizen_account_is_told_to_use_the_citizen_app(client):
    """Finding: the `citizen` demo account answers "wrong username or password"."""
    resp = client.post(
        "/console/login", data={"csrf_token": csrf(client), "username": "citizen", "password": DEMO_PASSWORD}
    )
    error = re.search(r'id="login-error"[^>]*>(.*?)</p>', resp.get_data(as_text=True), re.S).group(1)
    assert resp.status_code == 401 and "Sai tên đăng nhập" not in error
    assert "ứng dụng người dân" in error and 'id="citizen-app"' in error


def test_open_in_maps_links_carry_the_coordinates(client, db_session, bmt_report):
    """Finding: no link to open the place in a maps app."""
    as_user(client, db_session, "bmt.staff")
    html = client.get(f"/console/reports/{bmt_report.code}").get_data(as_text=True)
    lon, lat = f.BMT
    assert f'href="geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}' in html
    assert f"query={lat:.6f},{lon:.6f}" in html
    queue = client.get("/console/").get_data(as_text=True)
    assert f'href="geo:{lat:.6f},{lon:.6f}' in queue


def test_extension_picker_knows_the_reports_provinces_own_days_off(client, db_session):
    """Finding (session 5): the picker offered the national calendar while the workflow checks
    the report's province's, so a province's own day off was offered, then refused."""
    from datetime import date, timedelta

    from fieldreport.models import CalendarDay

    report = f.make_report(db_session, "road_damage", *f.BMT, province_code="66")
    f.assign(db_session, report, "UBND-24133")
    day = date.today() + timedelta(days=30)
    while day.weekday() >= 5 or not deadlines.calendar().is_working_day(day):
        day += timedelta(days=1)
    other = day + timedelta(days=1)
    while other.weekday() >= 5:
        other += timedelta(days=1)
    db_session.add_all(
        [CalendarDay(day=day, province_code="66", kind="off"), CalendarDay(day=other, province_code="56", kind="off")]
    )
    db_session.commit()
    g.pop("work_calendars", None)
    as_user(client, db_session, "bmt.staff")
    page = client.get(f"/console/reports/{report.code}").get_data(as_text=True)
    picker = re.search(r'<input type="date" id="extend-day"[^>]*>', page).group(0)
    offered_off = re.search(r'data-days-off="([^"]*)"', picker).group(1)
    assert day.isoformat() in offered_off  # Đắk Lắk's own day off
    assert other.isoformat() not in offered_off  # Khánh Hòa's is not this report's
