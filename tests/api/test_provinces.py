"""One deployment, several provinces: Đắk Lắk (the demo) and Khánh Hòa loaded from the shipped
national boundaries, reports routed in the province of their point, admins scoped to theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fieldreport.extensions import db
from fieldreport.models import Area, Report, Unit
from fieldreport.services import provinces
from fieldreport.services.areas import read_features
from tests import factories as f
from tests.api.intake_helpers import submit

NHA_TRANG = (12.2388, 109.1967)  # Phường Nha Trang, 22366, Khánh Hòa (56)
BMT = (12.667, 108.038)  # Phường Buôn Ma Thuột, 24133, Đắk Lắk (66)
HOAN_KIEM = (21.0288, 105.8525)  # Hà Nội (01): shipped, not served here
DEMO_UNITS = ("UBND-66", "IOC-66", "SXD", "PC-66", "URENCO-BMT", "UBND-24133")


@pytest.fixture()
def two_provinces(app, db_session):
    """PROVINCES=66,56: Khánh Hòa imported from data/ with its generated unit tree."""
    saved = app.config["PROVINCES"]
    app.config["PROVINCES"] = "66,56"
    try:
        result = provinces.load(["56"])
        yield result
    finally:
        app.config["PROVINCES"] = saved


def _report(code: str) -> Report:
    return db.session.scalar(select(Report).where(Report.code == code))


def test_the_shipped_national_files_hold_every_province_and_commune():
    assert len(read_features(provinces.PROVINCES_FILE)) == 34
    assert len(read_features(provinces.COMMUNES_FILE)) == 3321
    assert len(read_features(provinces.COMMUNES_FILE, ["56"])) == 65


def test_load_imports_the_province_with_its_own_unit_tree(two_provinces, db_session):
    assert two_provinces == {"provinces": 1, "communes": 65, "new_trees": 1}
    assert (
        db_session.scalar(
            select(func.count()).select_from(Area).where(Area.level == "commune", Area.province_code == "56")
        )
        == 65
    )
    units = dict(
        db_session.execute(
            select(Unit.code, Unit.province_code).where(Unit.code.in_(["UBND-56", "IOC-56", "PC-56", "UBND-22366"]))
        ).all()
    )
    assert units == {"UBND-56": "56", "IOC-56": "56", "PC-56": "56", "UBND-22366": "56"}
    again = provinces.load(["56"])  # idempotent: no second tree
    assert again["new_trees"] == 0
    assert db_session.scalar(select(func.count()).select_from(Unit).where(Unit.code == "UBND-56")) == 1


def test_reports_are_routed_in_the_province_their_point_falls_in(client, two_provinces):
    nha_trang = submit(client, lat=NHA_TRANG[0], lon=NHA_TRANG[1], description="Đèn tắt")
    assert nha_trang.status_code == 201, nha_trang.get_json()
    bmt = submit(client, lat=BMT[0], lon=BMT[1], description="Đèn tắt")
    assert bmt.status_code == 201
    r56, r66 = _report(nha_trang.get_json()["code"]), _report(bmt.get_json()["code"])
    assert r56.province_code == "56" and r66.province_code == "66"
    # jobs run inline: both routed, each by its own province's rules
    assert db.session.get(Unit, r56.unit_id).code == "UBND-22366"
    assert r56.routing["reason"] == "rule" and r56.routing["province_code"] == "56"
    assert db.session.get(Unit, r66.unit_id).province_code == "66"  # the demo's units are Đắk Lắk's
    # "other" goes to the triage queue of the report's own province
    other = submit(client, category="other", lat=NHA_TRANG[0], lon=NHA_TRANG[1], description="Khác")
    assert db.session.get(Unit, _report(other.get_json()["code"]).unit_id).code == "IOC-56"
    outside = submit(client, lat=HOAN_KIEM[0], lon=HOAN_KIEM[1], description="Hà Nội")
    assert outside.status_code == 422 and outside.get_json()["code"] == "outside_service_area"
    where = client.get(f"/api/v1/locate?lat={NHA_TRANG[0]}&lon={NHA_TRANG[1]}").get_json()
    assert where["inside"] and where["service_province"]["code"] == "56"


def test_one_province_by_default_even_with_others_loaded(client, app, db_session):
    provinces.load(["56"])
    assert not app.config["PROVINCES"]
    resp = submit(client, lat=NHA_TRANG[0], lon=NHA_TRANG[1], description="Đèn tắt")
    assert resp.status_code == 422 and resp.get_json()["code"] == "outside_service_area"
    assert submit(client, lat=BMT[0], lon=BMT[1]).status_code == 201
    assert 'name="province"' not in client.get("/public/").get_data(as_text=True)


def test_admins_are_scoped_to_their_province_and_a_national_admin_sees_both(client, two_provinces, db_session):
    f.make_user(db_session, "admin.56", "admin", "UBND-56")
    f.make_user(db_session, "dispatcher.56", "dispatcher", "IOC-56")
    f.make_user(db_session, "admin.vn", "admin", None)  # national: no province
    db_session.commit()
    r56 = _report(submit(client, lat=NHA_TRANG[0], lon=NHA_TRANG[1], description="Ổ gà").get_json()["code"])
    r66 = _report(submit(client, lat=BMT[0], lon=BMT[1], description="Ổ gà").get_json()["code"])
    h56, h_dispatch56 = f.bearer(db_session, "admin.56"), f.bearer(db_session, "dispatcher.56")
    national = f.bearer(db_session, "admin.vn")

    def listed(headers) -> set[str]:
        body = client.get("/api/v1/staff/reports?page_size=100", headers=headers).get_json()
        return {item["code"] for item in body["items"]}

    assert r56.code in listed(h56) and r66.code not in listed(h56)
    assert {r56.code, r66.code} <= listed(national)
    assert client.get(f"/api/v1/staff/reports/{r56.code}", headers=h56).status_code == 200
    assert client.get(f"/api/v1/staff/reports/{r66.code}", headers=h56).status_code == 403
    assert client.get(f"/api/v1/staff/reports/{r66.code}", headers=national).status_code == 200
    # acting across provinces is refused, before anything changes
    status = r66.status
    accept = client.post(f"/api/v1/staff/reports/{r66.code}/accept", headers=h56)
    assert accept.status_code == 403
    assert db.session.get(Report, r66.id).status == status
    # units: its province's and national ones, never another province's
    of = dict(db.session.execute(select(Unit.code, Unit.province_code)).all())
    units = {u["code"] for u in client.get("/api/v1/staff/units", headers=h56).get_json()}
    assert "UBND-22366" in units and "IOC-56" in units and "UBND-66" not in units
    assert {of[u] for u in units} <= {None, "56"}
    everyone = {u["code"] for u in client.get("/api/v1/staff/units", headers=national).get_json()}
    assert {"UBND-66", "UBND-22366"} <= everyone
    # the province's dispatcher: its own triage queue only, no assignment to a 66 unit
    other56 = _report(
        submit(client, category="other", lat=NHA_TRANG[0], lon=NHA_TRANG[1], description="Khác").get_json()["code"]
    )
    other66 = _report(submit(client, category="other", lat=BMT[0], lon=BMT[1], description="Khác").get_json()["code"])
    triage = {
        i["code"] for i in client.get("/api/v1/staff/triage?page_size=100", headers=h_dispatch56).get_json()["items"]
    }
    assert other56.code in triage and other66.code not in triage
    cross = client.post(f"/api/v1/staff/reports/{other56.code}/assign", headers=h_dispatch56, json={"unit": "UBND-66"})
    assert cross.status_code == 403 and cross.get_json()["code"] == "target_unit_forbidden"
    ok = client.post(f"/api/v1/staff/reports/{other56.code}/assign", headers=h_dispatch56, json={"unit": "UBND-22366"})
    assert ok.status_code == 200, ok.get_json()


def test_public_lists_and_indicators_filter_by_province(client, two_provinces, db_session):
    c56 = submit(client, lat=NHA_TRANG[0], lon=NHA_TRANG[1], description="Rác").get_json()["code"]
    c66 = submit(client, lat=BMT[0], lon=BMT[1], description="Rác").get_json()["code"]
    codes = {i["code"] for i in client.get("/api/v1/reports?province=56").get_json()["items"]}
    assert c56 in codes and c66 not in codes
    codes = {i["code"] for i in client.get("/api/v1/reports").get_json()["items"]}
    assert {c56, c66} <= codes
    refused = client.get("/api/v1/reports?province=01")  # shipped but not served
    assert refused.status_code == 422 and refused.get_json()["code"] == "unknown_province"
    page = client.get("/public/?province=56")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert c56 in html and c66 not in html
    assert 'name="province"' in html and "Khánh Hòa" in html  # the filter, with several provinces
    # indicators: a province is an area (its communes); the national admin sees each alone
    from fieldreport.services.indicators import rollups

    rollups.refresh()
    f.make_user(db_session, "admin.vn", "admin", None)
    db_session.commit()
    h = f.bearer(db_session, "admin.vn")
    by_province = {
        p: client.get(f"/api/v1/indicators?area=P{p}", headers=h).get_json()["total"]["received"] for p in ("56", "66")
    }
    assert by_province == {"56": 1, "66": 1}
    communes = client.get("/web/communes.geojson?province=56").get_json()
    assert len(communes["features"]) == 65
    assert client.get("/web/communes.geojson?province=01").status_code == 422


def test_a_province_announces_its_own_day_off(client, two_provinces, db_session):
    from datetime import datetime, time, timedelta

    from fieldreport.services import deadlines
    from fieldreport.worktime import TZ

    f.make_user(db_session, "admin.56", "admin", "UBND-56")
    f.make_user(db_session, "admin.vn", "admin", None)
    db_session.commit()
    h56, national = f.bearer(db_session, "admin.56"), f.bearer(db_session, "admin.vn")
    base = deadlines.calendar("66")
    start = datetime.combine(datetime.now(TZ).date() + timedelta(days=30), time(8), tzinfo=TZ)
    day = base.add_working_days(start, 1).date()  # a working day everywhere
    r = client.post(
        "/api/v1/admin/calendar-days",
        headers=h56,
        json={"day": day.isoformat(), "kind": "off", "note": "Lễ hội của tỉnh"},
    )
    assert r.status_code == 201, r.get_json()
    other = client.post(
        "/api/v1/admin/calendar-days", headers=h56, json={"day": day.isoformat(), "kind": "off", "province": "66"}
    )
    assert other.status_code == 403 and other.get_json()["code"] == "province_forbidden"
    deadlines.forget_calendar()
    assert not deadlines.calendar("56").is_working_day(day)
    assert deadlines.calendar("66").is_working_day(day) and deadlines.calendar().is_working_day(day)
    # the dues of Khánh Hòa's reports move past that day, Đắk Lắk's do not
    assert deadlines.calendar("56").add_working_days(start, 2) > base.add_working_days(start, 2)
    listed = client.get(f"/api/v1/admin/calendar-days?year={day.year}&province=56", headers=national).get_json()
    assert {"day": day.isoformat(), "province": "56"}.items() <= next(
        d for d in listed if d["day"] == day.isoformat()
    ).items()
    national_only = client.get(f"/api/v1/admin/calendar-days?year={day.year}", headers=national).get_json()
    assert day.isoformat() not in {d["day"] for d in national_only}


def test_a_province_day_off_moves_its_reports_dues_and_the_sla_sweep_follows(client, two_provinces, db_session):
    """Announced after the reports were assigned: Khánh Hòa's report is not overdue (nor escalated)
    on its day off, Đắk Lắk's, due at the same moment, is."""
    from datetime import timedelta

    from fieldreport.models import Event
    from fieldreport.services import deadlines, sla, workflow
    from fieldreport.worktime import TZ

    f.make_user(db_session, "admin.56", "admin", "UBND-56")
    f.make_user(db_session, "supervisor.56", "supervisor", "UBND-56")  # escalation would reach them
    db_session.commit()
    base = deadlines.calendar("66")
    held = {}
    for province, (lat, lon), unit in (("56", NHA_TRANG, "UBND-22366"), ("66", BMT, "UBND-24133")):
        report = f.make_report(db_session, "street_light", lon, lat, province_code=province)
        workflow.assign_unit(
            report, f.unit(db_session, unit), type_="assigned", status="assigned", actor="system:router"
        )
        held[province] = report
    db_session.commit()
    due, start = held["66"].due_at, held["66"].assigned_at
    assert held["56"].due_at == due == base.add_working_days(start, 3)
    r = client.post(
        "/api/v1/admin/calendar-days",
        headers=f.bearer(db_session, "admin.56"),
        json={"day": due.astimezone(TZ).date().isoformat(), "kind": "off", "note": "Lễ hội của tỉnh"},
    )
    assert r.status_code == 201, r.get_json()
    for report in held.values():
        db.session.refresh(report)
    moved = deadlines.calendar("56").add_working_days(start, 3)
    assert held["56"].due_at == held["56"].indicator_due_at == moved > due
    assert held["66"].due_at == due
    # the indicators count the province's day off too (facts recomputed from the events)
    from fieldreport.models import IndicatorFact
    from fieldreport.services.indicators import rollups

    rollups.refresh()
    fact_due = dict(
        db.session.execute(
            select(IndicatorFact.report_id, IndicatorFact.due_at).where(
                IndicatorFact.report_id.in_([r.id for r in held.values()])
            )
        ).all()
    )
    assert fact_due == {held["56"].id: moved, held["66"].id: due}
    done = sla.sweep(now=due + timedelta(minutes=5))
    assert done["overdue"] == 1 and done["escalated"] == 1

    def kinds(report) -> list[str]:
        return list(db.session.scalars(select(Event.type).where(Event.report_id == report.id).order_by(Event.id)))

    assert kinds(held["66"])[-2:] == ["overdue", "escalated"]
    assert "overdue" not in kinds(held["56"]) and "escalated" not in kinds(held["56"])
    assert sla.sweep(now=moved + timedelta(minutes=5))["escalated"] == 1
    assert kinds(held["56"])[-2:] == ["overdue", "escalated"]


def test_an_extension_may_not_land_on_the_provinces_day_off(client, two_provinces, db_session):
    from datetime import datetime, time

    from fieldreport.models import CalendarDay
    from fieldreport.services import deadlines
    from fieldreport.worktime import TZ

    f.make_user(db_session, "staff.22366", "staff", "UBND-22366")
    r56 = _report(submit(client, lat=NHA_TRANG[0], lon=NHA_TRANG[1], description="Đèn tắt").get_json()["code"])
    r66 = _report(submit(client, lat=BMT[0], lon=BMT[1], description="Đèn tắt").get_json()["code"])
    day = deadlines.calendar("66").add_working_days(r56.due_at, 2).date()  # a working day everywhere
    db_session.add(CalendarDay(day=day, province_code="56", kind="off", note="Lễ hội của tỉnh"))
    db_session.commit()
    deadlines.forget_calendar()
    new_due = datetime.combine(day, time(16), tzinfo=TZ).isoformat()
    body = {"new_due_at": new_due, "reason": "Chờ vật tư", "apology": "Xin lỗi vì chậm trễ"}
    refused = client.post(
        f"/api/v1/staff/reports/{r56.code}/extend", headers=f.bearer(db_session, "staff.22366"), json=body
    )
    assert refused.status_code == 422 and refused.get_json()["code"] == "not_working_day", refused.get_json()
    assert refused.get_json()["next_working_day"] > day.isoformat()
    unit66 = db.session.get(Unit, r66.unit_id).code
    staff66 = {"UBND-24133": "bmt.staff", "URENCO-BMT": "urenco.staff"}[unit66]
    ok = client.post(f"/api/v1/staff/reports/{r66.code}/extend", headers=f.bearer(db_session, staff66), json=body)
    assert ok.status_code == 200, ok.get_json()


def test_the_demo_is_dak_laks_once_several_provinces_are_served(app, client, two_provinces, db_session):
    """The demo's units (seeded national for one province) join Đắk Lắk when provinces are loaded:
    the demo's admin and dispatcher see that province only; the demo's national admin (seeded
    with several provinces) every province, and the national ranking."""
    from fieldreport.services import demo
    from fieldreport.services.indicators import rollups
    from tests.e2e.test_console_pages import as_user

    of = dict(db_session.execute(select(Unit.code, Unit.province_code).where(Unit.code.in_(DEMO_UNITS))).all())
    assert of == dict.fromkeys(DEMO_UNITS, "66")
    seeded = demo.seed_demo("demo-password", app.config["SECRET_KEY"])
    assert seeded.created_users == ["national.admin (admin)"]
    c56 = submit(client, lat=NHA_TRANG[0], lon=NHA_TRANG[1], description="Ổ gà").get_json()["code"]
    c66 = submit(client, lat=BMT[0], lon=BMT[1], description="Ổ gà").get_json()["code"]

    def listed(username: str) -> set[str]:
        body = client.get("/api/v1/staff/reports?page_size=100", headers=f.bearer(db_session, username)).get_json()
        return {item["code"] for item in body["items"]}

    for username in ("admin", "dispatcher"):
        assert c66 in listed(username) and c56 not in listed(username)
        assert client.get(f"/api/v1/staff/reports/{c56}", headers=f.bearer(db_session, username)).status_code == 403
    assert {c56, c66} <= listed("national.admin")
    rollups.refresh()
    as_user(client, db_session, "national.admin")
    national = client.get("/console/dashboard/?period=month").get_data(as_text=True)
    assert "Khánh Hòa" in national and "Đắk Lắk" in national
    as_user(client, db_session, "admin")
    own = client.get("/console/dashboard/?period=month").get_data(as_text=True)
    assert "Đắk Lắk" in own and "Khánh Hòa" not in own


def test_cli_load_provinces_follows_the_setting(app, db_session):
    runner = app.test_cli_runner()
    assert "nothing to load" in runner.invoke(args=["load-provinces"]).output  # PROVINCES unset
    saved = app.config["PROVINCES"]
    app.config["PROVINCES"] = "66,56"
    try:
        result = runner.invoke(args=["load-provinces"])
    finally:
        app.config["PROVINCES"] = saved
    assert result.exit_code == 0, result.output
    assert "2 provinces, 167 communes, 1 new unit trees" in result.output  # 66 is the demo's tree


def test_console_of_a_province_lists_its_own_communes(client, two_provinces, db_session):
    from tests.e2e.test_console_pages import as_user

    f.make_user(db_session, "dispatcher.56", "dispatcher", "IOC-56")
    f.make_user(db_session, "dispatcher.vn", "dispatcher", None)
    db_session.commit()
    as_user(client, db_session, "dispatcher.56")
    own = client.get("/console/").get_data(as_text=True)
    assert 'value="22366"' in own and 'value="24133"' not in own  # Nha Trang, not Buôn Ma Thuột
    as_user(client, db_session, "dispatcher.vn")
    everyone = client.get("/console/").get_data(as_text=True)
    assert 'value="22366"' in everyone and 'value="24133"' in everyone
