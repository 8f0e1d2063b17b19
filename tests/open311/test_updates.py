"""servicerequestupdates POSTs from external systems, and the full Open311 round trip."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.factories import bearer, jpeg
from tests.open311.conftest import BASE, BMT, both, parse_xml, validate


def submit(client, api_key, category="street_light"):
    r = client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": api_key,
            "service_code": category,
            "lat": str(BMT[1]),
            "long": str(BMT[0]),
            "description": "Đèn đường số 12 không sáng",
            "email": "private@example.vn",
        },
    )
    assert r.status_code == 200, r.data
    return r.get_json()[0]["service_request_id"]


def unit_key(name="urenco-tracker", unit="URENCO-BMT"):
    from fieldreport.services import apikeys

    return apikeys.create(name, unit_code=unit)[1]


def post_update(client, key, code, update_id, status, fmt="json", **extra):
    data = {
        "api_key": key,
        "service_request_id": code,
        "update_id": update_id,
        "status": status,
        "updated_datetime": "2025-07-01T09:00:00+07:00",
        **extra,
    }
    multipart = any(isinstance(v, tuple) for v in data.values())
    return client.post(
        f"{BASE}/servicerequestupdates.{fmt}", data=data, content_type="multipart/form-data" if multipart else None
    )


def events_of(db_session, code):
    from fieldreport.models import Event, Report

    rid = db_session.scalar(select(Report.id).where(Report.code == code))
    return db_session.scalars(select(Event).where(Event.report_id == rid).order_by(Event.id)).all()


def test_update_is_a_public_note_and_idempotent_by_update_id(client, demo, db_session):
    code = submit(client, demo.api_key)  # routed to URENCO-BMT (street light, old city)
    key = unit_key()
    r = post_update(client, key, code, "ext-1", "IN_PROGRESS", description="Đội đã đến hiện trường")
    assert r.status_code == 200, r.data
    validate("post_update_response", r.get_json())
    update_id = r.get_json()[0]["update_id"]
    before = len(events_of(db_session, code))
    again = post_update(client, key, code, "ext-1", "IN_PROGRESS", fmt="xml", description="Đội đã đến hiện trường")
    root, _ = parse_xml(again)
    assert root.tag == "service_request_updates"
    assert root.find("request_update/update_id").text == update_id
    assert len(events_of(db_session, code)) == before  # nothing applied twice
    ev = events_of(db_session, code)[-1]
    assert str(ev.id) == update_id and ev.actor == "open311:urenco-tracker" and ev.public
    updates = client.get(f"{BASE}/servicerequestupdates.json").get_json()
    mine = next(u for u in updates if u["update_id"] == update_id)
    assert mine["description"] == "Đội đã đến hiện trường" and mine["service_request_id"] == code


def test_fixed_without_after_photo_is_kept_as_a_note(client, demo, db_session):
    code = submit(client, demo.api_key)
    key = unit_key()
    r = post_update(client, key, code, "ext-2", "FIXED", description="Đã thay bóng")
    assert r.status_code == 200, r.data
    ev = events_of(db_session, code)[-1]
    assert ev.type == "external_update" and ev.data["not_applied"] == "after_photo_required"
    assert client.get(f"{BASE}/requests/{code}.json").get_json()[0]["status"] == "open"


def test_fixed_with_a_photo_resolves_through_the_workflow(client, demo, db_session):
    code = submit(client, demo.api_key)
    key = unit_key()
    r = post_update(
        client, key, code, "ext-3", "fixed", description="Đã thay bóng đèn", media=(io.BytesIO(jpeg()), "after.jpg")
    )
    assert r.status_code == 200, r.data
    row = client.get(f"{BASE}/requests/{code}.json").get_json()[0]
    assert row["status"] == "closed" and row["status_notes"] == "Đã thay bóng đèn"
    ev = events_of(db_session, code)[-1]
    assert ev.type == "resolved" and ev.actor == "open311:urenco-tracker"
    assert r.get_json()[0]["update_id"] == str(ev.id)
    assert post_update(client, key, code, "ext-3", "fixed").get_json()[0]["update_id"] == str(ev.id)


def test_update_rules_keys_units_and_arguments(client, demo):
    code = submit(client, demo.api_key)
    other_unit = unit_key("power-tracker", "PC-66")
    assert post_update(client, demo.api_key, code, "u1", "open").status_code == 403  # no unit
    assert post_update(client, other_unit, code, "u1", "open").status_code == 403
    assert post_update(client, "bogus", code, "u1", "open").status_code == 403
    key = unit_key()
    assert post_update(client, key, "NOSUCHCODE", "u1", "open").status_code == 404
    assert post_update(client, key, code, "u1", "exploded").status_code == 400
    assert post_update(client, key, code, "", "open").status_code == 400
    r = post_update(client, key, code, "u1", "open", updated_datetime="soon")
    assert r.status_code == 400
    validate("errors", r.get_json())


def test_round_trip_open311_post_routed_resolved_by_staff_seen_closed(client, demo, db_session):
    """POST by Open311 → routed by the job → resolved in the staff API → GET shows it closed."""
    from fieldreport.models import Report

    code = submit(client, demo.api_key)
    rep = db_session.scalar(select(Report).where(Report.code == code))
    assert rep.status == "assigned"
    rep.created_at = rep.created_at - timedelta(minutes=5)  # it was filed a while before the fix
    db_session.flush()
    first, _ = both(client, f"requests/{code}", "service_requests", query_string={"extensions": "true"})
    assert first[0]["status"] == "open"
    assert first[0]["extended_attributes"]["agency_code"] == "URENCO-BMT"
    assert first[0]["extended_attributes"]["channel"] == "open311:demo-open311-client"

    staff = bearer(db_session, "urenco.staff")
    assert client.post(f"/api/v1/staff/reports/{code}/accept", headers=staff).status_code == 200
    r = client.post(
        f"/api/v1/staff/reports/{code}/resolve",
        headers=staff,
        data={"answer": "Đã thay bóng đèn mới.", "photos": (io.BytesIO(jpeg()), "after.jpg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.data

    data, root = both(client, f"requests/{code}", "service_requests")
    row = data[0]
    assert row["status"] == "closed" and row["status_notes"] == "Đã thay bóng đèn mới."
    assert root.find("request/status").text == "closed"
    requested = datetime.fromisoformat(row["requested_datetime"])
    updated = datetime.fromisoformat(row["updated_datetime"])
    assert updated > requested
    listed = client.get(f"{BASE}/requests.json", query_string={"status": "closed"}).get_json()
    assert code in {x["service_request_id"] for x in listed}
    updates = [
        u for u in client.get(f"{BASE}/servicerequestupdates.json").get_json() if u["service_request_id"] == code
    ]
    assert [u["status"] for u in updates][-2:] == ["in_progress", "fixed"]
    assert "private@example.vn" not in client.get(f"{BASE}/requests/{code}.xml").data.decode()


def test_unit_bound_key_reaches_units_below_it(client, demo, db_session):
    from fieldreport.models import Open311Update

    code = submit(client, demo.api_key)  # URENCO-BMT sits under SXD
    key = unit_key("sxd-tracker", "SXD")
    assert post_update(client, key, code, "sxd-1", "investigating").status_code == 200
    assert (
        db_session.scalar(select(func.count()).select_from(Open311Update).where(Open311Update.update_id == "sxd-1"))
        == 1
    )


def test_a_resolving_update_is_one_transaction_nothing_half_written(client, demo, db_session):
    """The workflow step and the update's own row commit together: when the update's row
    cannot point at its event (a real error raised by PostgreSQL), the report is not resolved either.
    It used to commit the resolve first and then write the row's event id in a second commit."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from fieldreport.models import Open311Update, Report

    code = submit(client, demo.api_key)
    key = unit_key()
    before = [ev.id for ev in events_of(db_session, code)]
    db_session.execute(
        text("""
        CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'injected open311_updates failure'; END $$;
        CREATE TRIGGER refuse_update_row BEFORE UPDATE ON open311_updates FOR EACH ROW
        WHEN (NEW.event_id IS DISTINCT FROM OLD.event_id) EXECUTE FUNCTION pg_temp.refuse();""")
    )
    db_session.commit()
    try:
        r = post_update(
            client, key, code, "ext-tx", "fixed", description="Đã thay", media=(io.BytesIO(jpeg()), "a.jpg")
        )
        assert r.status_code == 500, r.data
    except DBAPIError:
        pass  # the testing app lets the error through
    db_session.rollback()
    assert db_session.scalar(select(Report.status).where(Report.code == code)) == "assigned"
    assert [ev.id for ev in events_of(db_session, code)] == before
    assert (
        db_session.scalar(select(func.count()).select_from(Open311Update).where(Open311Update.update_id == "ext-tx"))
        == 0
    )
