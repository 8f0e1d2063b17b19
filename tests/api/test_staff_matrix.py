"""Authorization matrix: every staff endpoint × every role, with the expected status.

The report lives in UBND-24133 (Phường Buôn Ma Thuột). "supervisor" heads the province
(UBND-66, the whole tree); "sxd.supervisor" heads Sở Xây dựng, outside that ward's branch.
A refused request must change nothing.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fieldreport.models import Event
from fieldreport.models.base import utcnow
from tests import factories as f

ROLES = {
    "anonymous": None,
    "citizen": "citizen",
    "staff_own": "bmt.staff",
    "staff_other": "tanlap.staff",
    "dispatcher": "dispatcher",
    "supervisor_in": "supervisor",
    "supervisor_out": "sxd.supervisor",
    "admin": "admin",
}
ORDER = list(ROLES)


def row(*codes):
    """Expected statuses in ROLES order."""
    return dict(zip(ORDER, codes))


READ_ALL = row(401, 403, 200, 200, 200, 200, 200, 200)
DETAIL = row(401, 403, 200, 403, 200, 200, 403, 200)
UNIT_ACTION = row(401, 403, 200, 403, 403, 403, 403, 200)
DISPATCH = row(401, 403, 403, 403, 200, 403, 403, 200)
SUPERVISE = row(401, 403, 403, 403, 403, 200, 403, 200)
TRIAGE = row(401, 403, 403, 403, 200, 403, 403, 200)
ADMIN = row(401, 403, 403, 403, 403, 403, 403, 200)


def _resolved(session, report):
    report.status, report.resolved_at = "resolved", utcnow()
    session.flush()


def _parent(session, report):
    """A report of the same unit: a duplicate may only point at one the user may act on."""
    parent = f.make_report(session, "road_damage", *f.BMT)
    if report.unit_id is not None:
        parent.unit_id, parent.status = report.unit_id, "assigned"
        session.flush()
    return {"duplicate_of": parent.code}


# name → (method, path under /api/v1 with {code}, body or body factory, setup, expected)
ENDPOINTS = {
    "queue": ("get", "/staff/reports", None, None, READ_ALL),
    "units": ("get", "/staff/units", None, None, READ_ALL),
    "detail": ("get", "/staff/reports/{code}", None, None, DETAIL),
    "accept": ("post", "/staff/reports/{code}/accept", {}, None, UNIT_ACTION),
    "transfer": ("post", "/staff/reports/{code}/transfer", {"unit": "SXD", "reason": "r"}, None, UNIT_ACTION),
    "return": ("post", "/staff/reports/{code}/return", {"reason": "r"}, None, UNIT_ACTION),
    "request-info": ("post", "/staff/reports/{code}/request-info", {"question": "q"}, None, UNIT_ACTION),
    "extend": (
        "post",
        "/staff/reports/{code}/extend",
        lambda s, r: {"new_due_at": (r.due_at + timedelta(days=2)).isoformat(), "reason": "r", "apology": "a"},
        None,
        UNIT_ACTION,
    ),
    "resolve": ("multipart", "/staff/reports/{code}/resolve", None, None, UNIT_ACTION),
    "reject": ("post", "/staff/reports/{code}/reject", {"reason": "unclear"}, None, UNIT_ACTION),
    "duplicate": ("post", "/staff/reports/{code}/duplicate", _parent, None, UNIT_ACTION),
    "assign": ("post", "/staff/reports/{code}/assign", {"unit": "UBND-24121"}, None, DISPATCH),
    "reassign": ("post", "/staff/reports/{code}/reassign", {"unit": "UBND-24121", "reason": "r"}, None, SUPERVISE),
    "reopen": ("post", "/staff/reports/{code}/reopen", {"reason": "r"}, _resolved, SUPERVISE),
    "triage": ("get", "/staff/triage", None, None, TRIAGE),
    "failed-jobs": ("get", "/admin/failed-jobs", None, None, ADMIN),
}

CASES = [(name, role) for name in ENDPOINTS for role in ORDER]


@pytest.mark.parametrize("endpoint,role", CASES, ids=[f"{e}-{r}" for e, r in CASES])
def test_authorization_matrix(client, db_session, endpoint, role):
    method, path, body, setup, expected = ENDPOINTS[endpoint]
    report = f.assign(db_session, f.make_report(db_session, "road_damage", *f.BMT), "UBND-24133")
    if setup:
        setup(db_session, report)
    if callable(body):
        body = body(db_session, report)
    headers = f.bearer(db_session, ROLES[role]) if ROLES[role] else {}
    url = "/api/v1" + path.format(code=report.code)
    before = db_session.scalar(select(func.count()).select_from(Event).where(Event.report_id == report.id))
    if method == "get":
        r = client.get(url, headers=headers)
    elif method == "multipart":
        r = client.post(
            url,
            headers=headers,
            content_type="multipart/form-data",
            data={"answer": "done", "photos": [(io.BytesIO(f.jpeg()), "after.jpg")]},
        )
    else:
        r = client.post(url, json=body, headers=headers)
    assert r.status_code == expected[role], r.json
    after = db_session.scalar(select(func.count()).select_from(Event).where(Event.report_id == report.id))
    if r.status_code >= 400:
        assert r.mimetype == "application/problem+json" and r.json["code"]
        assert after == before  # refused: nothing written
    elif method != "get":
        assert after > before
