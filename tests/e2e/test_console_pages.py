"""Console and dashboard through the test client: sign-in, CSRF, roles, actions, exports."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from fieldreport.models import Report
from tests import factories as f
from tests.conftest import DEMO_PASSWORD


def csrf(client, path: str = "/console/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def as_user(client, db_session, username: str) -> str:
    """A signed-in console session (token made directly: login itself is tested below)."""
    token = f.token_for(db_session, username)
    with client.session_transaction() as s:
        s["staff_token"] = token
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
    bad = client.post("/console/login", data={"csrf_token": token, "username": "bmt.staff",
                                              "password": "nope"})
    assert bad.status_code == 401
    assert "Sai tên đăng nhập" in bad.get_data(as_text=True)
    ok = client.post("/console/login?next=/console/triage", data={
        "csrf_token": token, "username": "bmt.staff", "password": DEMO_PASSWORD})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/console/triage")
    assert client.get("/console/").status_code == 200
    out = client.post("/console/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert client.get("/console/").status_code == 302  # the token was revoked, not just forgotten


def test_open_redirect_and_citizen_refused(client):
    token = csrf(client)
    resp = client.post("/console/login?next=https://evil.example/", data={
        "csrf_token": token, "username": "bmt.staff", "password": DEMO_PASSWORD})
    assert resp.headers["Location"] == "/console/"
    client.post("/console/logout", data={"csrf_token": token})
    citizen = client.post("/console/login", data={"csrf_token": csrf(client), "username": "citizen",
                                                  "password": DEMO_PASSWORD})
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
    later = bmt_report.due_at.astimezone().replace(microsecond=0)
    new_due = (later.date().replace(day=1).replace(month=later.month % 12 + 1,
                                                   year=later.year + (later.month == 12)))
    resp = client.post(f"/console/reports/{bmt_report.code}/extend", data={
        "csrf_token": token, "new_due_at": new_due.strftime("%d/%m/%Y") + " 16:30",
        "reason": "Chờ vật tư", "apology": "Xin lỗi, chúng tôi cần thêm thời gian."})
    assert resp.status_code == 303
    db_session.refresh(bmt_report)
    local = bmt_report.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh"))
    assert (local.day, local.month, local.hour, local.minute) == (1, new_due.month, 16, 30)
    resp = client.post(f"/console/reports/{bmt_report.code}/resolve",
                       data={"csrf_token": token, "answer": "Đã xử lý"}, follow_redirects=True)
    assert "ảnh" in resp.get_data(as_text=True).lower()  # the workflow's own message, as a page
    db_session.refresh(bmt_report)
    assert bmt_report.status == "assigned"


def test_dispatcher_assigns_from_triage(client, db_session):
    report = f.make_report(db_session, "other", *f.BMT)
    f.assign(db_session, report, "IOC-66", status="submitted")
    db_session.commit()
    token = as_user(client, db_session, "dispatcher")
    assert report.code in client.get("/console/triage").get_data(as_text=True)
    resp = client.post(f"/console/reports/{report.code}/assign",
                       data={"csrf_token": token, "unit": "SXD", "back": "/console/triage"})
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
    page = client.get("/console/dashboard/?period=month&lang=en").get_data(as_text=True)
    assert 'id="kpis"' in page and "On-time rate" in page
    resp = client.get("/console/dashboard/export.csv?period=month")
    assert resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["group", "code", "name"]
    assert any(r[0] == "unit" and r[1] == "UBND-24133" for r in rows)
    xlsx = client.get("/console/dashboard/export.xlsx?period=month")
    assert xlsx.data[:2] == b"PK"
    assert client.get("/console/dashboard/export.pdf").status_code == 404


def test_dashboard_outside_subtree_says_so(client, db_session):
    as_user(client, db_session, "sxd.supervisor")
    page = client.get("/console/dashboard/?unit=UBND-24133").get_data(as_text=True)
    assert 'class="flash error"' in page
