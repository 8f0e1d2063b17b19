"""GET /api/v1/indicators on a hand-worked February 2026 (Tết 16–20/2), exports, access rules.

The story (street_light: 3 working days; power_outage: 4 working hours; road_damage: 10):
  R1 UBND-24133 routed Mon 2/2 08:05, accepted 09:05, resolved Wed 4/2 10:05 (due Thu 5/2 17:00)
     → on time, 17.0 working hours, 50 calendar hours; rated 5.
  R2 UBND-24133 routed Fri 6/2 15:00 (due Wed 11/2 17:00), resolved Thu 12/2 09:00 → late; rated 2.
  R3 UBND-24133 routed Fri 13/2 16:00 (due Wed 25/2 17:00 after Tết), still open at 1/3 → late,
     overdue by Thu 26 and Fri 27 = 2 working days (band 0-2).
  R4 UBND-24133 routed Thu 26/2 10:00 (due Tue 3/3 17:00), open → on time (not yet due).
  R5 PC-66 routed Tue 3/2 16:00, transferred Wed 4/2 08:00 to WATER-66 (4 h → due 14:00),
     resolved 13:00 → on time for WATER-66, a transfer for PC-66.
  R6 triage queue IOC-66 Mon 9/2 08:00, assigned by the dispatcher at 10:00 to URENCO-BMT,
     info asked Tue 10/2 09:00 (first response 6.5 working hours), answered Wed 11/2 09:00,
     resolved Fri 27/2 16:00 → on time.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select, text, update

from fieldreport.extensions import storage
from fieldreport.models import Area, Event, Report
from fieldreport.services.indicators import rollups
from fieldreport.worktime import TZ
from tests import factories as f

FEB = "/api/v1/indicators?period=month&from=2026-02-01"


def vn(m, d, hh=0, mm=0):
    return datetime(2026, m, d, hh, mm, tzinfo=TZ)


def story(session, category, area_code, steps):
    """A report whose events are `steps`: (at, type, to_status, unit code, data, actor)."""
    area = session.scalar(select(Area).where(Area.code == area_code))
    report = f.make_report(session, category, *f.BMT, area_id=area.id)
    status, unit, rows = None, None, []
    for at, type_, to_status, unit_code, data, actor in steps:
        to_unit = f.unit(session, unit_code).id if unit_code else unit
        rows.append(
            dict(
                report_id=report.id,
                at=at,
                type=type_,
                actor=actor,
                actor_user_id=None,
                from_status=status,
                to_status=to_status or status,
                from_unit_id=unit,
                to_unit_id=to_unit,
                public=True,
                data=data or {},
            )
        )
        status, unit = to_status or status, to_unit
    session.execute(insert(Event), rows)
    return report


R = "system:router"
S = "staff:s"


@pytest.fixture()
def february(db_session):
    story(
        db_session,
        "street_light",
        "24133",
        [
            (vn(2, 2, 8), "submitted", "submitted", None, None, "citizen"),
            (vn(2, 2, 8, 5), "assigned", "assigned", "UBND-24133", None, R),
            (vn(2, 2, 9, 5), "accepted", "in_progress", None, None, S),
            (vn(2, 4, 10, 5), "resolved", "resolved", None, None, S),
            (vn(2, 6, 9), "rated", None, None, {"rating": 5}, "citizen"),
        ],
    )
    story(
        db_session,
        "street_light",
        "24133",
        [
            (vn(2, 6, 15), "assigned", "assigned", "UBND-24133", None, R),
            (vn(2, 12, 9), "resolved", "resolved", None, None, S),
            (vn(2, 13, 9), "rated", None, None, {"rating": 2}, "citizen"),
        ],
    )
    story(db_session, "street_light", "24133", [(vn(2, 13, 16), "assigned", "assigned", "UBND-24133", None, R)])
    story(db_session, "street_light", "24133", [(vn(2, 26, 10), "assigned", "assigned", "UBND-24133", None, R)])
    story(
        db_session,
        "power_outage",
        "24133",
        [
            (vn(2, 3, 16), "assigned", "assigned", "PC-66", None, R),
            (vn(2, 4, 8), "transferred", "assigned", "WATER-66", None, S),
            (vn(2, 4, 13), "resolved", "resolved", None, None, S),
        ],
    )
    story(
        db_session,
        "road_damage",
        "24121",
        [
            (vn(2, 9, 8), "assigned", None, "IOC-66", None, R),
            (vn(2, 9, 10), "assigned", "assigned", "URENCO-BMT", None, "dispatcher:d"),
            (vn(2, 10, 9), "info_requested", "awaiting_info", None, None, S),
            (vn(2, 11, 9), "info_provided", "assigned", None, None, "citizen"),
            (vn(2, 27, 16), "resolved", "resolved", None, None, S),
        ],
    )
    db_session.flush()
    rollups.refresh()


def by_code(body):
    return {row["unit"]["code"]: row for row in body["rows"]}


def test_province_month_by_unit(client, february, db_session):
    r = client.get(FEB + "&group_by=unit&unit=UBND-66&depth=2", headers=f.bearer(db_session, "supervisor"))
    assert r.status_code == 200, r.json
    body = r.json
    assert body["period"] == {
        "kind": "month",
        "from": "2026-02-01",
        "to": "2026-02-28",
        "as_of": "2026-03-01T00:00:00+07:00",
    }
    rows = by_code(body)
    ward = rows["UBND-24133"]
    assert (ward["reports"], ward["on_time"], ward["late"]) == (4, 2, 2)
    assert (ward["on_time_rate"], ward["late_rate"]) == (50.0, 50.0)
    assert (ward["answered"], ward["resolved"], ward["backlog"]) == (2, 2, 2)
    assert ward["overdue_backlog"] == {"0-2": 1, "3-5": 0, "6-10": 0, ">10": 0}
    assert ward["satisfaction"]["rate"] == 50.0 and ward["satisfaction"]["ratings"]["2"] == 1
    assert ward["satisfaction"]["mean_rating"] == 3.5
    assert ward["auto_routed_share"] == 100.0
    # First responses: R1 accepted after 1.0 wh; R2's first action was its late answer (26.0).
    assert ward["first_response"]["count"] == 2 and ward["first_response"]["working_hours"]["mean"] == 13.5
    ht = ward["handling_time"]
    assert ht["count"] == 2
    # R1 17.0 wh / 50 h; R2 Fri 15:00 → Thu 12/2 09:00 = 2 + 7.5 × 3 + 1.5 = 26.0 wh, 138 h.
    assert ht["working_hours"]["mean"] == 21.5 and ht["calendar_hours"]["mean"] == 94.0

    power = rows["PC-66"]
    assert (power["received"], power["reports"], power["transfers"]) == (1, 0, 1)
    assert power["on_time_rate"] is None and power["transfers_per_report"] == 1.0  # n/a; 1 per receipt
    assert power["first_response"]["working_hours"]["mean"] == 1.5
    assert rows["SCT"]["reports"] == 0 and rows["SCT"]["transfers"] == 1  # rolled up
    sxd = rows["SXD"]  # SXD + WATER-66 + URENCO-BMT
    assert (sxd["reports"], sxd["on_time"], sxd["on_time_rate"]) == (2, 2, 100.0)
    assert rows["URENCO-BMT"]["first_response"]["working_hours"]["mean"] == 6.5
    assert rows["IOC-66"]["transfers"] == 1 and rows["IOC-66"]["reports"] == 0

    top = rows["UBND-66"]
    assert top == {**body["total"], "unit": top["unit"]}
    assert (top["reports"], top["on_time"], top["late"], top["transfers"]) == (6, 4, 2, 2)
    # Per receipt (8: R5 and R6 reached two units each): 2 transfers, 5 routed without triage.
    assert (top["on_time_rate"], top["late_rate"], top["transfers_per_report"]) == (66.67, 33.33, 0.25)
    assert top["auto_routed_share"] == 62.5
    assert rows["UBND-66"]["unit"]["depth"] == 0 and rows["WATER-66"]["unit"]["depth"] == 2


def test_by_category_area_and_filters(client, february, db_session):
    h = f.bearer(db_session, "dispatcher")
    cats = {row["category"]["code"]: row for row in client.get(FEB + "&group_by=category", headers=h).json["rows"]}
    assert {k: v["reports"] for k, v in cats.items()} == {"street_light": 4, "power_outage": 1, "road_damage": 1}
    areas = {row["area"]["code"]: row["reports"] for row in client.get(FEB + "&group_by=area", headers=h).json["rows"]}
    assert areas == {"24133": 5, "24121": 1}
    one = client.get(FEB + "&group_by=none&area=24121&category=road_damage,street_light", headers=h).json
    assert one["rows"] == [] and one["total"]["reports"] == 1 and one["total"]["received"] == 2


def test_by_channel_with_exports(client, february, db_session):
    """R1, R2 by the hotline, R5 by Zalo, R6 from an Open311 client, R3 and R4 from the app.

    The channel is set after a first refresh: the refresh moves the rollups to the new channel.
    """
    codes = db_session.scalars(select(Report.code).order_by(Report.id)).all()
    channels = dict(zip(codes, ["hotline", "hotline", "app", "app", "zalo", "open311:seeclickfix"]))
    for code, channel in channels.items():
        db_session.execute(update(Report).where(Report.code == code).values(channel=channel))
    db_session.execute(text("INSERT INTO indicator_dirty (report_id) SELECT id FROM reports"))
    rollups.refresh()
    h = f.bearer(db_session, "supervisor")
    r = client.get(FEB + "&group_by=channel", headers=h)
    assert r.status_code == 200, r.json
    rows = {row["channel"]: row for row in r.json["rows"]}
    assert list(rows) == ["app", "hotline", "open311:seeclickfix", "zalo"]
    got = {
        k: (v["received"], v["reports"], v["on_time"], v["late"], v["backlog"], v["transfers"]) for k, v in rows.items()
    }
    assert got == {
        "hotline": (2, 2, 1, 1, 0, 0),
        "app": (2, 2, 1, 1, 2, 0),
        "zalo": (2, 1, 1, 0, 0, 1),
        "open311:seeclickfix": (2, 1, 1, 0, 0, 1),
    }
    assert rows["hotline"]["satisfaction"]["rate"] == 50.0 and rows["hotline"]["on_time_rate"] == 50.0
    assert (r.json["total"]["reports"], r.json["total"]["on_time"]) == (6, 4)
    one = client.get(FEB + "&group_by=channel&category=street_light&unit=UBND-24133", headers=h).json
    assert {row["channel"]: row["reports"] for row in one["rows"]} == {"hotline": 2, "app": 2}

    csv_en = client.get(
        "/api/v1/indicators/export.csv?period=month&from=2026-02-01&group_by=channel&lang=en", headers=h
    ).data.decode("utf-8")[1:]
    lines = {row["code"]: row for row in csv.DictReader(io.StringIO(csv_en))}
    assert lines["hotline"]["group"] == "channel" and lines["hotline"]["name"] == "Hotline"
    assert lines["open311:seeclickfix"]["name"] == "Open311: seeclickfix" and lines["zalo"]["reports"] == "1"
    detail = client.get(
        "/api/v1/indicators/export.csv?period=month&from=2026-02-01&detail=reports&lang=en", headers=h
    ).data.decode("utf-8")[1:]
    per_report = {(row["report_code"], row["unit_code"]): row["channel"] for row in csv.DictReader(io.StringIO(detail))}
    assert per_report[(codes[4], "WATER-66")] == "zalo" and per_report[(codes[0], "UBND-24133")] == "hotline"
    vi = client.get("/api/v1/indicators/export.csv?period=month&from=2026-02-01&detail=reports", headers=h).data.decode(
        "utf-8"
    )
    assert "Kênh tiếp nhận" in vi.splitlines()[0]


def test_a_week_and_the_current_year(client, february, db_session):
    h = f.bearer(db_session, "admin")
    week = client.get("/api/v1/indicators?period=week&from=2026-02-04&group_by=none", headers=h).json
    # Mon 2/2 – Sun 8/2, read at Mon 9/2 00:00: R1, R2, PC-66's and WATER-66's receipts.
    assert week["total"]["received"] == 4 and week["total"]["reports"] == 3
    year = client.get("/api/v1/indicators?period=year&from=2026-01-01&group_by=none", headers=h).json
    assert year["period"]["as_of"] < "2027"  # not over yet: read as of now
    assert year["total"]["reports"] == 6 and year["total"]["late"] == 3  # R4 is overdue by now


def test_staff_see_their_unit_only(client, february, db_session):
    h = f.bearer(db_session, "bmt.staff")
    r = client.get(FEB + "&group_by=unit", headers=h)
    assert r.status_code == 200 and [row["unit"]["code"] for row in r.json["rows"]] == ["UBND-24133"]
    assert r.json["total"]["reports"] == 4
    r = client.get(FEB + "&unit=SXD", headers=h)
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert client.get(FEB).status_code == 401
    assert client.get(FEB, headers=f.bearer(db_session, "citizen")).status_code == 403


@pytest.mark.parametrize(
    "query,status,code",
    [
        ("period=fortnight", 422, "validation_error"),
        ("period=custom&from=2026-02-01", 400, "custom_period_needs_dates"),
        ("period=custom&from=2026-02-10&to=2026-02-01", 422, "bad_period_range"),
        ("period=month&to=2026-02-01", 400, "to_needs_custom"),
        ("from=2026-02-31", 422, "validation_error"),
        ("unit=NOPE", 422, "unknown_unit"),
        ("area=99999", 422, "unknown_area"),
        ("category=nope", 422, "unknown_category"),
        ("depth=99", 422, "validation_error"),
        ("period=year&from=2999-01-01", 400, "period_in_future"),
    ],
)
def test_bad_input_is_a_clear_4xx(client, db_session, query, status, code):
    r = client.get(f"/api/v1/indicators?{query}", headers=f.bearer(db_session, "admin"))
    assert r.status_code == status, r.json
    assert r.json["code"] == code


def test_export_csv_and_xlsx(client, february, db_session):
    h = f.bearer(db_session, "supervisor")
    vi = client.get("/api/v1/indicators/export.csv?period=month&from=2026-02-01&unit=UBND-66", headers=h)
    assert vi.status_code == 200  # Vietnamese headers by default, English with lang=en
    assert vi.data.decode("utf-8").lstrip("\ufeff").startswith("Nhóm,Mã,Tên,Tiếp nhận,Phản ánh trong kỳ")
    r = client.get("/api/v1/indicators/export.csv?period=month&from=2026-02-01&unit=UBND-66&lang=en", headers=h)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert vi.data.split(b"\n")[1:] == r.data.split(b"\n")[1:]
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    mine = {row["code"]: row for row in rows}
    assert mine["UBND-24133"]["on_time_rate"] == "50.00" and mine["SCT"]["on_time_rate"] == "n/a"
    assert rows[-1]["group"] == "total" and rows[-1]["reports"] == "6"

    r = client.get("/api/v1/indicators/export.xlsx?period=month&from=2026-02-01&detail=reports&lang=en", headers=h)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data), read_only=True).active
    table = list(ws.values)
    assert table[0][:3] == ("report_code", "unit_code", "category_code")
    assert len(table) == 1 + 8  # 6 reports; R5 and R6 each reached two units


def test_large_export_becomes_a_job(client, february, db_session, app):
    h = f.bearer(db_session, "supervisor")
    app.config["EXPORT_SYNC_MAX_ROWS"] = 3
    try:
        r = client.get("/api/v1/indicators/export.csv?period=month&from=2026-02-01&detail=reports", headers=h)
    finally:
        app.config.pop("EXPORT_SYNC_MAX_ROWS")
    assert r.status_code == 202, r.data
    job = r.json
    assert job["status_url"] == r.headers["Location"]
    status = client.get(job["status_url"], headers=h).json  # jobs run inline in tests
    assert status["status"] == "finished" and status["progress"] == 1.0 and status["rows"] == 8
    data = storage.get(f"exports/{job['id']}.csv").decode("utf-8")
    assert data.count("\n") == 9
    other = client.get(job["status_url"], headers=f.bearer(db_session, "bmt.staff"))
    assert other.status_code == 403
    assert client.get("/api/v1/indicators/exports/export-nope", headers=h).status_code == 404


def test_calendar_days_admin(client, db_session):
    h = f.bearer(db_session, "admin")
    url = "/api/v1/admin/calendar-days"
    # 2026 ships with its announced days (migration 0006), each with its source; admins edit them.
    shipped = client.get(url + "?year=2026", headers=h).json
    assert [(d["day"], d["kind"]) for d in shipped] == [
        ("2026-01-02", "off"),
        ("2026-01-10", "work"),
        ("2026-08-22", "work"),
        ("2026-08-31", "off"),
    ]
    assert all("Bộ Nội vụ" in d["note"] for d in shipped)
    # 2027 has none announced yet: an admin types them in.
    r = client.post(url, json={"day": "2027-08-28", "kind": "work", "note": "làm bù"}, headers=h)
    assert r.status_code == 201, r.json
    assert client.post(url, json={"day": "2027-08-28", "kind": "work"}, headers=h).status_code == 409
    r = client.post(url, json={"day": "2027-08-30", "kind": "work"}, headers=h)  # a Monday
    assert r.status_code == 422 and r.json["code"] == "already_working_day"
    r = client.post(url, json={"day": "2027-09-04", "kind": "off"}, headers=h)  # a Saturday
    assert r.status_code == 422 and r.json["code"] == "already_day_off"
    assert client.post(url, json={"day": "2027-09-06", "kind": "off"}, headers=h).status_code == 201
    listed = client.get(url + "?year=2027", headers=h).json
    assert [(d["day"], d["kind"], d["weekday"]) for d in listed] == [
        ("2027-08-28", "work", 5),
        ("2027-09-06", "off", 0),
    ]
    r = client.put(url + "/2027-09-06", json={"kind": "off", "note": "nghỉ bù 2/9"}, headers=h)
    assert r.status_code == 200 and r.json["note"] == "nghỉ bù 2/9"
    assert client.delete(url + "/2027-09-06", headers=h).status_code == 204
    assert client.delete(url + "/2027-09-06", headers=h).status_code == 404
    r = client.put(url + "/not-a-day", json={"kind": "off"}, headers=h)
    assert (r.status_code, r.json["code"]) == (422, "bad_date")  # one status for bad_date everywhere
    assert client.get(url, headers=f.bearer(db_session, "supervisor")).status_code == 403


def test_tables_of_past_periods_are_cached_until_facts_before_their_end_change(app, client, february, db_session):
    """A past month is served from Redis while refreshes only touch what came after its end;
    a late event inside the month invalidates it."""
    from fieldreport.extensions import queues

    h = f.bearer(db_session, "supervisor")
    url = FEB + "&group_by=unit&unit=UBND-66&depth=2"
    ward = f.unit(db_session, "UBND-24133").id

    def resolve(opened_at, at):
        rid = db_session.scalar(select(Event.report_id).where(Event.at == opened_at))
        db_session.execute(
            insert(Event),
            [
                dict(
                    report_id=rid,
                    at=at,
                    type="resolved",
                    actor=S,
                    actor_user_id=None,
                    from_status="assigned",
                    to_status="resolved",
                    from_unit_id=ward,
                    to_unit_id=ward,
                    public=True,
                    data={},
                )
            ],
        )
        db_session.flush()
        rollups.refresh()

    def entries():
        return {
            k: json.loads(queues.redis.get(k))["generation"] for k in queues.redis.scan_iter("*:indicators:table:*")
        }

    app.config["INDICATOR_CACHE_SECONDS"] = 60
    try:
        first = client.get(url, headers=h).json
        assert by_code(first)["UBND-24133"]["resolved"] == 2
        stored = entries()
        assert len(stored) == 1
        # R3 resolved on 5/3, after the month's end: the refresh bumps the generation from
        # 5/3 on, February's table stays valid and is served as stored (not recomputed).
        resolve(vn(2, 13, 16), vn(3, 5, 9))
        assert client.get(url, headers=h).json == first and entries() == stored
        # R4 resolved on 27/2, inside the month: recomputed, with the new generation.
        resolve(vn(2, 26, 10), vn(2, 27, 9))
        second = by_code(client.get(url, headers=h).json)["UBND-24133"]
        assert (second["resolved"], second["backlog"]) == (3, 1)
        assert list(entries().values()) > list(stored.values())
        # A period not over yet (as of now) is never cached.
        assert client.get("/api/v1/indicators?period=year&group_by=none", headers=h).status_code == 200
        assert len(entries()) == 1
    finally:
        app.config["INDICATOR_CACHE_SECONDS"] = 0


def test_a_provinces_own_days_count_in_its_overdue_bands(client, february, db_session):
    """Finding (session 5): the indicator query counted overdue working days on the national
    calendar, so a province's own make-up day (a Saturday worked) did not age its backlog as it
    counts in its deadlines. R3 is overdue Thu 26 and Fri 27 (0-2); with Đắk Lắk working Sat
    28/2 it is 3 working days overdue (3-5). Another province's day changes nothing."""
    from datetime import date

    from flask import g

    from fieldreport.models import CalendarDay, Unit

    db_session.execute(update(Unit).values(province_code="66"))  # Đắk Lắk's own unit tree
    db_session.add(CalendarDay(day=date(2026, 2, 28), province_code="56", kind="work"))
    db_session.flush()
    url = FEB + "&group_by=unit&unit=UBND-66&depth=2"
    ward = by_code(client.get(url, headers=f.bearer(db_session, "supervisor")).json)["UBND-24133"]
    assert ward["overdue_backlog"] == {"0-2": 1, "3-5": 0, "6-10": 0, ">10": 0}
    db_session.add(CalendarDay(day=date(2026, 2, 28), province_code="66", kind="work"))
    db_session.flush()
    g.pop("work_calendars", None)  # read once per request; the test's requests share one context
    ward = by_code(client.get(url, headers=f.bearer(db_session, "supervisor")).json)["UBND-24133"]
    assert ward["overdue_backlog"] == {"0-2": 0, "3-5": 1, "6-10": 0, ">10": 0}
    assert (ward["reports"], ward["on_time"], ward["late"], ward["backlog"]) == (4, 2, 2, 2)  # flows unchanged
