"""Personal data (Decree 13/2023/NĐ-CP): who sees a reporter's identity and what staff read of
signed-in citizens."""
from __future__ import annotations

from sqlalchemy import select

from fieldreport.models import Report
from fieldreport.services import events
from tests import factories as f
from tests.e2e.test_console_pages import as_user

PHONE_USER = "+84911222333"  # a signed-in citizen's username is their phone number


def _signed_in_report(client, db_session):
    f.make_user(db_session, PHONE_USER, "citizen")
    body = {"category": "street_light", "lat": f.BMT[1], "lon": f.BMT[0], "description": "Đèn tắt"}
    resp = client.post("/api/v1/reports", json=body, headers=f.bearer(db_session, PHONE_USER))
    assert resp.status_code == 201, resp.json
    return resp.json["code"]


def test_signed_in_citizens_username_is_not_in_the_history_staff_read(client, db_session):
    code = _signed_in_report(client, db_session)
    # A row written the old way ("<role>:<username>") is not shown as it was stored either.
    report = db_session.scalar(select(Report).where(Report.code == code))
    events.record(report, "note", actor=f"citizen:{PHONE_USER}", note="Đèn vẫn tắt", public=False)
    db_session.commit()
    for who in ("bmt.staff", "dispatcher", "admin"):
        r = client.get(f"/api/v1/staff/reports/{code}", headers=f.bearer(db_session, who))
        if r.status_code == 403:
            continue
        assert r.status_code == 200, r.json
        history = r.json["history"]
        assert history[0]["actor"] == history[-1]["actor"] == "citizen"
        assert PHONE_USER not in r.get_data(as_text=True) and "911222333" not in r.get_data(as_text=True)
    as_user(client, db_session, "dispatcher")
    page = client.get(f"/console/reports/{code}").get_data(as_text=True)
    assert "911222333" not in page and "Người dân" in page
