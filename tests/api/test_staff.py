"""Staff workflow over HTTP: queue, detail, each action, its events and illegal transitions."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from fieldreport.models import Category, Event, Follower, Notification, Outbox, Photo
from fieldreport.models.base import utcnow
from fieldreport.services import deadlines, routing, workflow
from fieldreport.worktime import TZ
from tests import factories as f


@pytest.fixture()
def as_(db_session):
    """as_("bmt.staff") → headers with a bearer token of that demo user."""
    return lambda username: f.bearer(db_session, username)


@pytest.fixture()
def routed(db_session):
    """A road-damage report at the Buôn Ma Thuột centre, routed to UBND-24133."""
    report = f.make_report(
        db_session,
        "road_damage",
        *f.BMT,
        reporter_name="Trần Thị B",
        reporter_phone="0905000111",
        reporter_email="b@example.org",
    )
    assert routing.route_report(report.id) == "assigned"
    return report


def post(client, code, action, headers, **body):
    return client.post(f"/api/v1/staff/reports/{code}/{action}", json=body, headers=headers)


def events_of(session, report, type_=None):
    q = select(Event).where(Event.report_id == report.id).order_by(Event.id)
    rows = session.scalars(q).all()
    return [e for e in rows if type_ is None or e.type == type_]


def test_queue_shows_own_unit_sorted_by_due_with_filters(client, db_session, routed, as_):
    later = f.make_report(db_session, "rubbish", *f.BMT)  # → URENCO-BMT
    urgent = f.make_report(db_session, "fallen_tree", 108.05, 12.68)
    for r in (later, urgent):
        routing.route_report(r.id)
    staff = as_("bmt.staff")
    page = client.get("/api/v1/staff/reports", headers=staff).json
    codes = [i["code"] for i in page["items"]]
    assert routed.code in codes and later.code not in codes
    dues = [i["due_at"] for i in page["items"]]
    assert dues == sorted(dues)
    assert client.get("/api/v1/staff/reports?category=rubbish", headers=staff).json["total"] == 0
    assert routed.code in [
        i["code"] for i in client.get("/api/v1/staff/reports?area=24133&status=assigned", headers=staff).json["items"]
    ]
    assert routed.code not in [
        i["code"] for i in client.get("/api/v1/staff/reports?overdue=true", headers=staff).json["items"]
    ]  # due in days
    assert client.get("/api/v1/staff/reports?unit=URENCO-BMT", headers=staff).status_code == 403
    assert client.get("/api/v1/staff/reports?status=bogus", headers=staff).status_code == 422
    # The dispatcher sees every unit; a page holds at most page_size rows.
    p = client.get("/api/v1/staff/reports?page_size=1", headers=as_("dispatcher")).json
    assert len(p["items"]) == 1 and p["total"] >= 3


def test_overdue_filter(client, db_session, routed, as_):
    routed.due_at = utcnow() - timedelta(hours=1)
    db_session.flush()
    items = client.get("/api/v1/staff/reports?overdue=true", headers=as_("bmt.staff")).json["items"]
    assert [i["code"] for i in items] == [routed.code] and items[0]["overdue"] is True


def test_detail_explains_routing_and_hides_contact_from_staff(client, routed, as_):
    d = client.get(f"/api/v1/staff/reports/{routed.code}", headers=as_("bmt.staff")).json
    assert d["routing"]["area_code"] == "24133" and d["routing"]["method"] == "contains"
    assert d["routing"]["rule_note"] == "Mặc định: UBND xã, phường sở tại" and d["routing"]["reason"] == "rule"
    assert [h["type"] for h in d["history"]] == ["assigned"]
    assert d["history"][0]["actor"] == "system:router" and d["history"][0]["to_unit"] == "UBND-24133"
    assert d["reporter"] is None
    assert "accept" in d["actions"] and "assign" not in d["actions"]
    d = client.get(f"/api/v1/staff/reports/{routed.code}", headers=as_("dispatcher")).json
    # The dispatcher sees it masked; the clear identity is a reveal with a reason (test_personal_data).
    assert d["reporter"] == {"name": "T. T. B.", "phone": "09xx xxx 111", "email": "b•••@e•••.org", "masked": True}
    assert client.get("/api/v1/staff/reports/ZZZZZZZZZZ", headers=as_("admin")).status_code == 404


def test_assignment_sets_the_three_due_times(db_session, routed):
    cat = f.category(db_session, "road_damage")
    assert routed.assigned_at is not None
    assert routed.due_at == routed.indicator_due_at == deadlines.due_for(cat, routed.assigned_at)
    assert routed.citizen_due_at == deadlines.due_for(cat, routed.created_at)


def test_accept_then_illegal_second_accept(client, db_session, routed, as_):
    r = post(client, routed.code, "accept", as_("bmt.staff"))
    assert r.status_code == 200 and r.json["status"] == "in_progress"
    assert routed.accepted_at is not None and routed.first_response_at is not None
    r = post(client, routed.code, "accept", as_("bmt.staff"))
    assert r.status_code == 409 and r.json["code"] == "illegal_transition"
    assert "in_progress" in r.json["title"]
    assert len(events_of(db_session, routed, "accepted")) == 1


def test_transfer_gives_the_new_unit_its_own_due_and_keeps_the_citizen_clock(client, db_session, routed, as_):
    citizen_due = routed.citizen_due_at
    routed.due_at = routed.indicator_due_at = utcnow() + timedelta(minutes=5)
    db_session.flush()
    r = post(client, routed.code, "transfer", as_("bmt.staff"), unit="SXD")
    assert r.status_code == 422  # reason is required
    r = post(client, routed.code, "transfer", as_("bmt.staff"), unit="SXD", reason="Đường tỉnh, thuộc Sở")
    assert r.status_code == 200, r.json
    assert r.json["unit"]["code"] == "SXD" and r.json["status"] == "assigned"
    assert r.json["transfer_count"] == 1
    assert routed.indicator_due_at > utcnow() + timedelta(hours=1)  # reset for SXD
    assert routed.citizen_due_at == citizen_due
    ev = events_of(db_session, routed, "transferred")[0]
    assert ev.reason == "Đường tỉnh, thuộc Sở" and ev.actor == "staff:bmt.staff"
    # Now it belongs to SXD: the ward's staff may no longer act on it.
    assert post(client, routed.code, "accept", as_("bmt.staff")).status_code == 403
    r = post(client, routed.code, "transfer", as_("admin"), unit="SXD", reason="x")
    assert r.status_code == 422 and r.json["code"] == "same_unit"


def test_return_goes_to_triage_and_the_dispatcher_assigns(client, db_session, routed, as_):
    r = post(client, routed.code, "return", as_("bmt.staff"), reason="Không thuộc thẩm quyền")
    assert r.status_code == 200 and r.json["status"] == "submitted" and r.json["unit"]["code"] == "IOC-66"
    triage = client.get("/api/v1/staff/triage", headers=as_("dispatcher")).json
    assert routed.code in [i["code"] for i in triage["items"]]
    assert post(client, routed.code, "return", as_("dispatcher"), reason="x").status_code == 409
    r = post(client, routed.code, "assign", as_("dispatcher"), unit="UBND-24121")
    assert r.status_code == 200 and r.json["status"] == "assigned"
    assert routed.manually_triaged and r.json["unit"]["code"] == "UBND-24121"
    assert [e.type for e in events_of(db_session, routed)] == ["assigned", "returned", "assigned"]


def test_request_info_pauses_and_the_answer_pushes_the_due(client, db_session, routed, as_):
    r = post(client, routed.code, "request-info", as_("bmt.staff"), question="Số nhà cụ thể?")
    assert r.status_code == 200 and r.json["status"] == "awaiting_info" and r.json["paused_at"]
    # Pretend the question waited a day.
    cal = deadlines.calendar()
    routed.paused_at = utcnow() - timedelta(days=1)
    db_session.flush()
    due, ind, cit = routed.due_at, routed.indicator_due_at, routed.citizen_due_at
    url = f"/api/v1/reports/{routed.code}/info"
    assert client.post(url, json={"text": "Số 12"}).status_code == 401
    assert client.post(url, json={"text": "Số 12"}, headers={"X-Citizen-Token": "x" * 40}).status_code == 403
    r = client.post(url, json={"text": "Số 12 Lê Duẩn"}, headers={"X-Citizen-Token": routed.citizen_token})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "assigned"
    paused = cal.working_hours_between(utcnow() - timedelta(days=1), utcnow())
    if paused:
        assert routed.due_at > due and routed.citizen_due_at > cit
    expected = cal.add_working_hours(due, paused)
    assert abs((routed.due_at - expected).total_seconds()) < 60
    # The indicator due follows the one rule (deadlines.due_for): a pause moves it only while
    # its clock runs (a day limit's clock starts the next working day), never by extensions.
    category = db_session.get(Category, routed.category_id)
    rule = deadlines.due_for(
        category,
        routed.assigned_at,
        cal,
        urgency=getattr(routed, "urgency", None),
        pauses=[(utcnow() - timedelta(days=1), utcnow())],
    )
    assert ind is not None and abs((routed.indicator_due_at - rule).total_seconds()) < 60
    assert routed.paused_at is None
    ev = events_of(db_session, routed, "info_provided")[0]
    assert ev.actor == "citizen" and ev.data["text"] == "Số 12 Lê Duẩn"
    r = client.post(url, json={"text": "again"}, headers={"X-Citizen-Token": routed.citizen_token})
    assert r.status_code == 409 and r.json["code"] == "illegal_transition"


def test_extend_before_the_due_only(client, db_session, routed, as_):
    indicator = routed.indicator_due_at
    later = deadlines.calendar().add_working_days(routed.due_at, 3)  # a working day's close
    new = later.isoformat()
    r = post(
        client,
        routed.code,
        "extend",
        as_("bmt.staff"),
        new_due_at=new,
        reason="Chờ vật tư",
        apology="Xin lỗi vì sự chậm trễ.",
    )
    assert r.status_code == 200, r.json
    assert routed.due_at == later
    assert routed.indicator_due_at == indicator
    ev = events_of(db_session, routed, "extended")[0]
    assert ev.public and ev.note == "Xin lỗi vì sự chậm trễ." and ev.reason == "Chờ vật tư"
    note = db_session.scalar(select(Notification).where(Notification.event_id == ev.id))
    assert "Xin lỗi" in note.payload["message_vi"]
    r = post(client, routed.code, "extend", as_("bmt.staff"), new_due_at=indicator.isoformat(), reason="x", apology="y")
    assert r.status_code == 422 and r.json["code"] == "due_not_later"
    r = post(client, routed.code, "extend", as_("bmt.staff"), new_due_at=new, reason="x")
    assert r.status_code == 422  # the apology is required
    routed.due_at = utcnow() - timedelta(minutes=1)
    db_session.flush()
    r = post(client, routed.code, "extend", as_("bmt.staff"), new_due_at=new, reason="x", apology="y")
    assert r.status_code == 409 and r.json["code"] == "deadline_passed"


def test_extend_to_a_day_off_is_refused_with_the_next_working_day(client, db_session, routed, as_):
    """Finding (issue 18): the API accepted an extension to Sunday 20/12/2026."""
    due = routed.due_at.astimezone(TZ)
    sunday = due + timedelta(days=6 - due.weekday() or 7)
    r = post(
        client,
        routed.code,
        "extend",
        as_("bmt.staff"),
        new_due_at=sunday.isoformat(),
        reason="Chờ vật tư",
        apology="Xin lỗi.",
    )
    assert r.status_code == 422 and r.json["code"] == "not_working_day", r.json
    assert r.json["next_working_day"] == deadlines.calendar().add_working_days(sunday, 1).date().isoformat()
    assert (
        "Chủ nhật"
        in client.post(
            f"/api/v1/staff/reports/{routed.code}/extend",
            json={"new_due_at": sunday.isoformat(), "reason": "x", "apology": "y"},
            headers={**as_("bmt.staff"), "Accept-Language": "vi"},
        ).json["message"]
    )
    assert routed.due_at < sunday and not events_of(db_session, routed, "extended")


def test_resolve_needs_an_answer_and_an_after_photo(client, db_session, routed, as_):
    url = f"/api/v1/staff/reports/{routed.code}/resolve"
    h = as_("bmt.staff")
    r = client.post(url, data={"answer": "Đã vá"}, headers=h, content_type="multipart/form-data")
    assert r.status_code == 422
    r = client.post(
        url,
        data={"answer": "Đã vá", "photos": [(io.BytesIO(b"not an image"), "a.jpg")]},
        headers=h,
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and routed.status == "assigned"
    r = client.post(
        url,
        data={"answer": "Đã vá ổ gà.", "photos": [(io.BytesIO(f.jpeg()), "after.jpg")]},
        headers=h,
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.json
    assert r.json["status"] == "resolved" and r.json["public_answer"] == "Đã vá ổ gà."
    photo = db_session.scalar(select(Photo).where(Photo.report_id == routed.id))
    assert photo.kind == "after" and photo.key == f"orig/{photo.sha256}"
    assert (
        db_session.scalar(
            select(Outbox).where(Outbox.func == "workers.jobs.make_derivatives", Outbox.args == [photo.id])
        )
        is not None
    )
    assert r.json["photos"][0]["kind"] == "after"
    assert "original_url" not in r.json["photos"][0]  # EXIF evidence: dispatcher and admin only
    d = client.get(f"/api/v1/staff/reports/{routed.code}", headers=as_("dispatcher")).json
    assert d["photos"][0]["original_url"].startswith("http")


def test_reject_with_reason_codes(client, db_session, routed, as_):
    h = as_("bmt.staff")
    assert post(client, routed.code, "reject", h, reason="because").status_code == 422
    r = post(client, routed.code, "reject", h, reason="duplicate")
    assert r.status_code == 422 and r.json["code"] == "missing_duplicate_of"
    r = post(client, routed.code, "reject", h, reason="out_of_scope", note="Việc dân sự")
    assert r.status_code == 200 and r.json["status"] == "rejected" and r.json["reject_reason"] == "out_of_scope"
    assert post(client, routed.code, "resolve", h).status_code in (409, 422)


def test_duplicate_moves_followers_to_the_parent(client, db_session, routed, as_):
    child = f.make_report(db_session, "road_damage", *f.BMT, followers_count=2)
    routing.route_report(child.id)
    db_session.add_all(
        [
            Follower(report_id=child.id, follower_key="k1"),
            Follower(report_id=child.id, follower_key="k2"),
            Follower(report_id=routed.id, follower_key="k2"),
        ]
    )
    routed.followers_count = 1
    db_session.flush()
    r = post(client, child.code, "duplicate", as_("bmt.staff"), duplicate_of=routed.code)
    assert r.status_code == 200 and r.json["status"] == "duplicate" and r.json["parent_code"] == routed.code
    keys = set(db_session.scalars(select(Follower.follower_key).where(Follower.report_id == routed.id)))
    assert keys == {"k1", "k2", workflow.token_follower_key(child.citizen_token_hash)}
    assert routed.followers_count == 3 and child.followers_count == 0
    # The duplicate's reporter pressing "me too" on the parent is the supporter already counted
    # (their key was stored as the bare token hash, so they were counted twice).
    again = client.post(f"/api/v1/reports/{routed.code}/follow", headers={"X-Citizen-Token": child.citizen_token})
    assert again.status_code == 200 and again.json["followers_count"] == 3
    r = post(client, routed.code, "duplicate", as_("bmt.staff"), duplicate_of=child.code)
    assert r.status_code == 422 and r.json["code"] == "self_duplicate"  # child resolves to routed


def test_staff_cannot_mark_a_duplicate_of_another_units_report(client, db_session, routed, as_):
    """bmt.staff marked their report a duplicate of URENCO's and so moved followers onto it."""
    theirs = f.make_report(db_session, "rubbish", *f.BMT)  # → URENCO-BMT
    routing.route_report(theirs.id)
    db_session.add(Follower(report_id=routed.id, follower_key="k-mine"))
    routed.followers_count = 1
    db_session.flush()
    r = post(client, routed.code, "duplicate", as_("bmt.staff"), duplicate_of=theirs.code)
    assert r.status_code == 403 and r.json["code"] == "duplicate_parent_forbidden"
    r = post(client, routed.code, "reject", as_("bmt.staff"), reason="duplicate", duplicate_of=theirs.code)
    assert r.status_code == 403 and r.json["code"] == "duplicate_parent_forbidden"
    db_session.refresh(theirs)
    db_session.refresh(routed)
    assert theirs.followers_count == 0 and routed.status == "assigned" and routed.followers_count == 1
    assert not db_session.scalars(select(Follower).where(Follower.report_id == theirs.id)).all()
    assert [e.type for e in events_of(db_session, theirs)] == ["assigned"]
    # An admin may act on both, so may link them; both histories say so.
    r = post(client, routed.code, "duplicate", as_("admin"), duplicate_of=theirs.code, note="cùng một chỗ")
    assert r.status_code == 200 and r.json["parent_code"] == theirs.code
    linked = events_of(db_session, theirs, "duplicate_linked")
    assert len(linked) == 1 and linked[0].data["child_code"] == routed.code and linked[0].public is False
    assert linked[0].actor == "admin:admin" and linked[0].data["followers_moved"] == 1
    detail = client.get(f"/api/v1/staff/reports/{theirs.code}", headers=as_("urenco.staff")).json
    assert "duplicate_linked" in [h["type"] for h in detail["history"]]


def test_supervisor_reopens_back_to_the_unit_and_reassigns_in_subtree(client, db_session, as_):
    report = f.make_report(db_session, "rubbish", *f.BMT)
    routing.route_report(report.id)
    assert report.unit_id == f.unit(db_session, "URENCO-BMT").id
    report.status, report.resolved_at = "resolved", utcnow()  # (as if resolved)
    report.due_at = utcnow() - timedelta(days=2)
    db_session.flush()
    assert post(client, report.code, "reopen", as_("urenco.staff"), reason="x").status_code == 403
    assert post(client, report.code, "reopen", as_("supervisor"), reason="Chưa thu gom hết").status_code == 200
    assert report.status == "reopened" and report.unit_id == f.unit(db_session, "URENCO-BMT").id
    assert report.due_at > utcnow() and report.reopen_count == 1
    assert [e.type for e in events_of(db_session, report)][-2:] == ["reopened", "assigned"]
    sxd = as_("sxd.supervisor")
    r = post(client, report.code, "reassign", sxd, unit="UBND-24133", reason="x")
    assert r.status_code == 403 and r.json["code"] == "target_unit_forbidden"
    r = post(client, report.code, "reassign", sxd, unit="WATER-66", reason="Cống thoát nước")
    assert r.status_code == 200 and r.json["unit"]["code"] == "WATER-66" and r.json["status"] == "reopened"
    assert post(client, report.code, "accept", as_("urenco.staff")).status_code == 403


def test_unrouted_and_other_reports_are_in_triage(client, db_session, as_):
    waiting = f.make_report(db_session, "road_damage", *f.BMT)  # no worker ran yet
    other = f.make_report(db_session, "other", *f.BMT)
    assert routing.route_report(other.id) == "triage"
    assert other.status == "submitted" and other.due_at is not None
    codes = [i["code"] for i in client.get("/api/v1/staff/triage", headers=as_("dispatcher")).json["items"]]
    assert waiting.code in codes and other.code in codes
    assert client.get("/api/v1/staff/triage", headers=as_("bmt.staff")).status_code == 403


def test_failed_jobs_are_listed_for_admins(client, db_session, routed, as_):
    from fieldreport.extensions import queues

    bad = Notification(report_id=routed.id, channel="pigeon", kind="assigned", payload={})
    db_session.add(bad)
    db_session.flush()
    queues.enqueue("notify", "workers.jobs.deliver_notification", bad.id)  # runs inline, fails
    jobs = client.get("/api/v1/admin/failed-jobs", headers=as_("admin")).json
    mine = [j for j in jobs if j["args"] == [bad.id]]
    assert mine and mine[0]["func"] == "workers.jobs.deliver_notification"
    assert "unknown channel 'pigeon'" in mine[0]["exc_info"]
    assert client.get("/api/v1/admin/failed-jobs", headers=as_("dispatcher")).status_code == 403


def test_queue_page_and_count_read_a_units_open_reports_from_one_index(client, db_session, routed, as_):
    """Issue 20: at 1M reports a ward's queue read its ~2,000 open reports from the heap and
    sorted them for 25 (87 ms). The page now comes in due order from ix_reports_open_unit_due,
    and its count joins nothing (the planner drops the outer joins no column uses)."""
    from sqlalchemy import event, text

    seen: list[tuple[str, dict]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM reports" in statement and "categories" in statement:
            seen.append((statement, parameters))

    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert client.get("/api/v1/staff/reports?page_size=25", headers=as_("bmt.staff")).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    count = next(s for s in seen if "count(*)" in s[0])
    page = next(s for s in seen if "LIMIT" in s[0] and "count(*)" not in s[0])
    conn = db_session.connection()
    conn.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: force the choice
    conn.execute(text("SET LOCAL enable_bitmapscan = off"))

    def plan(statement, parameters) -> str:
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))

    page_plan, count_plan = plan(*page), plan(*count)
    conn.execute(text("SET LOCAL enable_seqscan = on"))
    conn.execute(text("SET LOCAL enable_bitmapscan = on"))
    assert "ix_reports_open_unit_due" in page_plan and "Sort" not in page_plan, page_plan
    assert "categories" not in count_plan and "units" not in count_plan, count_plan


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_queue_sends_exactly_what_its_schema_would(app, client, db_session, routed, as_, lang):
    """The queue skips marshmallow's per-field dump (issue 20) and must still send, byte for
    byte, what StaffQueuePageSchema would (no field more: the summary is all a row shows)."""
    from flask import jsonify

    from fieldreport import auth
    from fieldreport.api.staff.schemas import StaffQueuePageSchema
    from fieldreport.errors import wants_vietnamese
    from fieldreport.services import staff_read

    headers = {**as_("bmt.staff"), "Accept-Language": lang}
    r = client.get("/api/v1/staff/reports?page_size=25", headers=headers)
    assert r.status_code == 200 and r.json["items"]
    with app.test_request_context("/api/v1/staff/reports", headers=headers):
        user = auth.current_user()
        expected = jsonify(
            StaffQueuePageSchema().dump(staff_read.queue(user, vi=wants_vietnamese(), page_size=25))
        ).data
    assert r.data == expected
