"""GeoReport v2 read endpoints in XML and JSON: discovery, services, requests, tokens, updates."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.open311.conftest import BASE, both, parse_xml, validate


def test_discovery_lists_this_endpoint_and_formats(client):
    data, root = both(client, "discovery", "discovery")
    assert root.tag == "discovery"
    ep = data["endpoints"][0]
    assert ep["url"].endswith("/open311/v2")
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(ep["formats"]) == {"text/xml", "application/json"}


def test_discovery_and_feeds_name_the_configured_url_never_the_host_header(client, app, monkeypatch):
    """A forged Host header was echoed into the discovery document (host-header poisoning)."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://phananh.example.vn")
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    data = client.get(f"{BASE}/discovery.json", headers=forged).get_json()
    assert data["endpoints"][0]["url"] == "https://phananh.example.vn/open311/v2"
    xml = client.get(f"{BASE}/discovery.xml", headers=forged).data
    assert b"https://phananh.example.vn/open311/v2" in xml and b"evil" not in xml
    feed = client.get("/public/feeds/reports.atom", headers=forged).data
    assert b'href="https://phananh.example.vn/public/feeds/reports.atom"' in feed and b"evil" not in feed


def test_services_list_every_active_public_category(client):
    data, root = both(client, "services", "services", headers={"Accept-Language": "en"})
    assert root.tag == "services" and all(el.tag == "service" for el in root)
    by_code = {s["service_code"]: s for s in data}
    assert len(by_code) == 13
    assert by_code["road_damage"]["service_name"] == "Road damage"
    assert by_code["road_damage"]["metadata"] is True  # it has attributes
    assert by_code["rubbish"]["metadata"] is False
    assert {s["type"] for s in data} == {"realtime"}


def test_services_in_vietnamese_by_locale_or_header(client):
    vi = client.get(f"{BASE}/services.json?locale=vi").get_json()
    assert {s["service_code"]: s["service_name"] for s in vi}["road_damage"] == "Hư hỏng mặt đường"
    en = client.get(f"{BASE}/services.json", headers={"Accept-Language": "en-US"}).get_json()
    assert {s["service_code"]: s["service_name"] for s in en}["rubbish"] == "Uncollected rubbish"


def test_service_definition_has_attributes_with_values(client):
    data, root = both(client, "services/road_damage", "service_definition")
    assert root.tag == "service_definition"
    attr = data["attributes"][0]
    assert attr["code"] == "size" and attr["datatype"] == "singlevaluelist"
    assert [v["key"] for v in attr["values"]] == ["small", "medium", "large"]
    assert root.find("attributes/attribute/values/value/key").text == "small"
    number = client.get(f"{BASE}/services/power_outage.json").get_json()["attributes"][0]
    assert number["datatype"] == "number" and "values" not in number


def test_service_definition_renders_all_six_datatypes(client, db_session):
    from sqlalchemy import select

    from fieldreport.models import Category

    cat = db_session.scalar(select(Category).where(Category.code == "other"))
    cat.attributes = [
        {"code": "s", "datatype": "string", "description": "s"},
        {"code": "n", "datatype": "number", "required": True},
        {"code": "d", "datatype": "datetime"},
        {"code": "t", "datatype": "text", "variable": False, "description": "read me"},
        {"code": "one", "datatype": "singlevaluelist", "values": [{"key": "a", "name": "A"}]},
        {"code": "many", "datatype": "multivaluelist", "values": [{"key": 1, "name": "One"}]},
    ]
    db_session.flush()
    data, _ = both(client, "services/other", "service_definition")
    assert [a["datatype"] for a in data["attributes"]] == [
        "string",
        "number",
        "datetime",
        "text",
        "singlevaluelist",
        "multivaluelist",
    ]
    assert [a["order"] for a in data["attributes"]] == [1, 2, 3, 4, 5, 6]
    assert data["attributes"][3]["variable"] is False
    assert data["attributes"][5]["values"] == [{"key": "1", "name": "One"}]


def test_unknown_service_is_404_in_the_spec_error_format(client):
    rj = client.get(f"{BASE}/services/nope.json")
    assert rj.status_code == 404
    validate("errors", rj.get_json())
    assert rj.get_json()[0]["code"] == 404
    rx = client.get(f"{BASE}/services/nope.xml")
    root, data = parse_xml(rx)
    assert rx.status_code == 404 and root.tag == "errors"
    assert root.find("error/code").text == "404" and root.find("error/description").text


def test_requests_list_and_one_in_both_formats(client, make_report):
    r = make_report(status="in_progress")
    data, root = both(client, "requests", "service_requests")
    assert root.tag == "service_requests" and root[0].tag == "request"
    row = next(x for x in data if x["service_request_id"] == r.code)
    assert row["status"] == "open" and row["service_code"] == "road_damage"
    assert abs(row["lat"] - 12.667) < 1e-6 and abs(row["long"] - 108.038) < 1e-6
    assert row["requested_datetime"].endswith("+07:00")
    one, _ = both(client, f"requests/{r.code}", "service_requests")
    assert [x["service_request_id"] for x in one] == [r.code]
    assert one[0]["agency_responsible"]


def test_closed_statuses_map_to_closed_with_detail_in_notes_and_extensions(client, make_report):
    resolved = make_report(status="resolved", public_answer="Đã vá ổ gà.")
    rejected = make_report(status="rejected", reject_reason="out_of_scope")
    waiting = make_report(status="awaiting_info")
    data, _ = both(client, "requests", "service_requests", query_string={"extensions": "true", "locale": "en"})
    rows = {x["service_request_id"]: x for x in data}
    assert rows[resolved.code]["status"] == "closed"
    assert rows[resolved.code]["status_notes"] == "Đã vá ổ gà."
    assert rows[rejected.code]["status"] == "closed"
    assert "outside the scope" in rows[rejected.code]["status_notes"]
    assert rows[rejected.code]["extended_attributes"]["status_reason"] == "out_of_scope"
    assert rows[waiting.code]["status"] == "open"
    assert rows[waiting.code]["extended_attributes"]["detailed_status"] == "awaiting_info"
    assert "extended_attributes" not in client.get(f"{BASE}/requests.json").get_json()[0]


def test_status_and_service_code_filters(client, make_report):
    a = make_report(status="resolved", category="road_damage")
    b = make_report(status="in_progress", category="rubbish", unit="URENCO-BMT")
    closed = {x["service_request_id"] for x in client.get(f"{BASE}/requests.json?status=closed").get_json()}
    assert a.code in closed and b.code not in closed
    both_ = {
        x["service_request_id"]
        for x in client.get(f"{BASE}/requests.json?status=open,closed&service_code=rubbish,flooding").get_json()
    }
    assert b.code in both_ and a.code not in both_
    assert client.get(f"{BASE}/requests.json?status=pending").status_code == 400


def test_service_request_id_overrides_other_arguments(client, make_report):
    old = make_report(age=timedelta(days=200))
    new = make_report()
    data = client.get(
        f"{BASE}/requests.json",
        query_string={"service_request_id": f"{old.code},{new.code}", "status": "closed", "service_code": "flooding"},
    ).get_json()
    assert {x["service_request_id"] for x in data} == {old.code, new.code}


def test_default_window_is_90_days_and_dates_filter_requested_time(client, make_report):
    old = make_report(age=timedelta(days=120))
    recent = make_report(age=timedelta(days=10))
    codes = {x["service_request_id"] for x in client.get(f"{BASE}/requests.json").get_json()}
    assert recent.code in codes and old.code not in codes
    start = (datetime.now() - timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%S+07:00")
    end = (datetime.now() - timedelta(days=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    codes = {
        x["service_request_id"]
        for x in client.get(f"{BASE}/requests.json", query_string={"start_date": start, "end_date": end}).get_json()
    }
    assert old.code in codes and recent.code not in codes


def test_bad_dates_and_ranges_are_400(client):
    for qs in (
        {"start_date": "yesterday"},
        {"end_date": "2025-13-45T00:00:00Z"},
        {"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"},
        {"start_date": "2025-02-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"},
        {"page": "0"},
        {"page_size": "5000"},
        {"page_size": "x"},
    ):
        for fmt in ("json", "xml"):
            r = client.get(f"{BASE}/requests.{fmt}", query_string=qs)
            assert r.status_code == 400, (qs, r.data)
            if fmt == "json":
                validate("errors", r.get_json())
            else:
                assert parse_xml(r)[0].tag == "errors"


def test_unencoded_plus_offset_is_understood(client, make_report):
    r = make_report(age=timedelta(days=1))
    start = (datetime.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    resp = client.get(f"{BASE}/requests.json?start_date={start}+07:00")  # "+" arrives as " "
    assert resp.status_code == 200
    assert r.code in {x["service_request_id"] for x in resp.get_json()}


def test_page_and_page_size(client, make_report):
    made = [make_report(age=timedelta(minutes=i)) for i in range(5)]
    first = client.get(f"{BASE}/requests.json?page_size=2").get_json()
    second = client.get(f"{BASE}/requests.json?page_size=2&page=2").get_json()
    assert [x["service_request_id"] for x in first] == [made[0].code, made[1].code]
    assert [x["service_request_id"] for x in second] == [made[2].code, made[3].code]


def test_updated_after_and_before(client, make_report, db_session):
    from fieldreport.models.base import utcnow

    stale = make_report(age=timedelta(days=100))
    stale.updated_at = utcnow() - timedelta(days=100)
    fresh = make_report(age=timedelta(days=100))  # requested long ago, updated just now
    db_session.flush()
    after = (utcnow() - timedelta(days=1)).isoformat()
    codes = {
        x["service_request_id"]
        for x in client.get(f"{BASE}/requests.json", query_string={"updated_after": after}).get_json()
    }
    assert fresh.code in codes and stale.code not in codes
    codes = {
        x["service_request_id"]
        for x in client.get(f"{BASE}/requests.json", query_string={"updated_before": after}).get_json()
    }
    assert stale.code in codes and fresh.code not in codes


def test_unknown_request_and_token_are_404(client):
    for path in ("requests/NOPE123", "tokens/NOPE123"):
        for fmt in ("json", "xml"):
            r = client.get(f"{BASE}/{path}.{fmt}")
            assert r.status_code == 404


def test_token_gives_the_request_id(client, make_report):
    r = make_report()
    data, root = both(client, f"tokens/{r.code}", "token")
    assert data == [{"service_request_id": r.code, "token": r.code}]


def test_reporter_contact_never_appears(client, make_report):
    r = make_report(status="resolved", public_answer="Xong.")
    bodies = [
        client.get(f"{BASE}/{p}").data
        for p in (
            "requests.json?extensions=true",
            "requests.xml?extensions=true",
            f"requests/{r.code}.json?extensions=true",
            f"requests/{r.code}.xml",
            "servicerequestupdates.json",
            "servicerequestupdates.xml",
        )
    ]
    for body in bodies:
        text = body.decode()
        assert r.code in text
        for secret in (
            "Nguyễn Bí Mật",
            "Bí Mật",
            "0905123456",
            "secret.reporter@example.vn",
            "reporter",
            "citizen_token",
        ):
            assert secret not in text


def test_offensive_rejections_are_listed_without_their_text(client, make_report):
    r = make_report(status="rejected", reject_reason="offensive", description="chửi bậy")
    row = client.get(f"{BASE}/requests/{r.code}.json").get_json()[0]
    assert row["status"] == "closed" and row["description"] is None


def test_servicerequestupdates_in_both_formats(client, make_report):
    r = make_report(status="resolved", public_answer="Đã vá.")
    data, root = both(client, "servicerequestupdates", "service_request_updates")
    assert root.tag == "service_request_updates" and root[0].tag == "request_update"
    mine = [u for u in data if u["service_request_id"] == r.code]
    assert [u["status"] for u in mine] == ["open", "open", "fixed"]
    assert mine[-1]["description"] == "Đã vá." and mine[-1]["external_status_code"] == "resolved"
    assert len({u["update_id"] for u in data}) == len(data)


def test_unknown_paths_and_methods_answer_in_spec_format(client):
    r = client.get(f"{BASE}/nothing.json")
    assert r.status_code == 404
    validate("errors", r.get_json())
    r = client.delete(f"{BASE}/services.xml")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    assert parse_xml(r)[0].tag == "errors"
    r = client.get(f"{BASE}/services")
    assert r.status_code == 404 and parse_xml(r)[0].tag == "errors"


def _reference_xml(root: str, value) -> bytes:
    """The GeoReport XML of `value` as render.to_xml wrote it element by element before issue 16
    (a call per element; kept here verbatim as the reference of its bytes)."""
    from fieldreport.open311.render import ITEM_NAMES, XML_DECLARATION, _escape, _text

    def write(out, name, value):
        if value is None:
            out.append(f"<{name} />")
        elif isinstance(value, dict):
            out.append(f"<{name}>")
            for k, v in value.items():
                write(out, k, v)
            out.append(f"</{name}>")
        elif isinstance(value, (list, tuple)):
            item = ITEM_NAMES.get(name, "item")
            out.append(f"<{name}>")
            for v in value:
                write(out, item, v)
            out.append(f"</{name}>")
        else:
            out.append(f"<{name}>{_escape(_text(value))}</{name}>")

    out: list[str] = []
    write(out, root, value)
    return XML_DECLARATION + "".join(out).encode("utf-8")


def test_request_lists_send_exactly_what_the_row_by_row_path_would(client, app, make_report, db_session):
    """Issue 16: a 1,000-row page copies its rows into plain tuples and writes XML leaves inline
    (a third of its CPU went to SQLAlchemy Row lookups and per-element calls). The bytes sent must
    be what the per-row path over the database's own rows sends (JSON) and what the element-by-
    element writer wrote (XML): every status wording, withheld and shown content, photos, a given media_url, empty
    optional fields, both languages, with and without extensions, and text XML must escape."""
    import json

    from flask import request

    from fieldreport import links
    from fieldreport.models import Photo
    from fieldreport.open311 import params, render
    from fieldreport.services import open311_read

    made = [
        make_report(status="submitted", unit=None, description="Ổ gà <sâu> & rộng", address_hint="12 Lê Duẩn"),
        make_report(status="assigned", description="Đèn hỏng\x07", due_at=None),
        make_report(status="in_progress", category="rubbish", unit="URENCO-BMT"),
        make_report(status="resolved", public_answer="Đã vá ổ gà."),
        make_report(status="rejected", reject_reason="offensive", description="chửi bậy", address_hint="nhà số 5"),
        make_report(status="rejected", reject_reason="out_of_scope"),
        make_report(status="awaiting_info"),
    ]
    dup = make_report(status="duplicate")
    dup.parent_id = made[0].id
    made[2].attributes = {"media_url": "https://photos.example/a.jpg?x=1&y=2"}  # a client's own link
    made[4].attributes = {"media_url": "https://photos.example/b.jpg"}
    for r in (made[0], made[4]):  # photos: shown on the first, withheld on the offensive one
        for kind in ("before", "after"):
            db_session.add(
                Photo(
                    report_id=r.id,
                    kind=kind,
                    sha256="0" * 64,
                    key=f"o/{r.code}/{kind}",
                    mime="image/jpeg",
                    size_bytes=1,
                    width=1,
                    height=1,
                    display_key=f"d/{r.code}/{kind}",
                )
            )
    db_session.add(
        Photo(
            report_id=made[1].id,
            kind="before",
            sha256="1" * 64,
            key="o/x",
            mime="image/jpeg",
            size_bytes=1,
            width=1,
            height=1,
            display_key=None,
        )
    )  # not yet derived: not listed
    db_session.flush()

    for query in (
        {},
        {"extensions": "true"},
        {"locale": "en", "extensions": "true"},
        {"locale": "en"},
        {"service_request_id": f"{made[0].code},{made[4].code},{dup.code}"},
    ):
        for fmt in ("json", "xml"):
            r = client.get(f"{BASE}/requests.{fmt}", query_string=query)
            assert r.status_code == 200, r.data
            with app.test_request_context(f"{BASE}/requests.{fmt}", query_string=query):
                q = open311_read.Query(
                    ids=params.csv(request.args, "service_request_id"),
                    service_codes=[],
                    statuses=[],
                    start=None,
                    end=None,
                )
                q.start, q.end = open311_read.window(None, None)
                rows = list(db_session.execute(open311_read.find_select(q)))  # SQLAlchemy Rows, as before
                photos = open311_read.photo_urls(rows, links.public_base())
                draw = render.renderer(query.get("locale") != "en", "extensions" in query)
                expected = [draw(x, photos.get(x.id, [])) for x in rows]
            assert len(expected) >= 3
            if fmt == "json":
                # compact UTF-8 (orjson), otherwise what the standard encoder writes
                assert r.data == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            else:
                assert r.data == _reference_xml("service_requests", expected)
    page = client.get(f"{BASE}/requests.json?extensions=true").get_json()
    rows = {x["service_request_id"]: x for x in page}
    assert len(rows[made[0].code]["extended_attributes"]["media_urls"]) == 2
    assert rows[made[4].code]["media_url"] is None and rows[made[4].code]["description"] is None
    assert rows[made[2].code]["media_url"] == "https://photos.example/a.jpg?x=1&y=2"
    assert rows[dup.code]["status_notes"] == f"Trùng với phản ánh {made[0].code}."


def test_request_lists_read_their_photos_in_the_same_statement(client, make_report, db_session):
    """Issue 16/20: a requests page selects its rows' photo ids with them (a second query per page
    was a round trip); media_urls keep their order (before photos, then after, each by id)."""
    from sqlalchemy import event

    from fieldreport.models import Photo

    report = make_report(status="in_progress")
    for kind in ("after", "before", "after"):
        db_session.add(
            Photo(
                report_id=report.id,
                kind=kind,
                sha256="0" * 64,
                key=f"o/{report.code}/{kind}",
                mime="image/jpeg",
                size_bytes=1,
                width=1,
                height=1,
                display_key=f"d/{report.code}/{kind}",
            )
        )
    db_session.add(  # not yet derived: not listed
        Photo(
            report_id=report.id,
            kind="before",
            sha256="1" * 64,
            key="o/x",
            mime="image/jpeg",
            size_bytes=1,
            width=1,
            height=1,
        )
    )
    db_session.flush()
    photos = db_session.query(Photo).filter(Photo.report_id == report.id, Photo.display_key.is_not(None)).all()
    ordered = sorted(photos, key=lambda p: (p.kind != "before", p.id))
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        page = client.get(f"{BASE}/requests.json?extensions=true")
        one = client.get(f"{BASE}/requests/{report.code}.json?extensions=true")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    for resp in (page, one):
        row = next(x for x in resp.get_json() if x["service_request_id"] == report.code)
        urls = row["extended_attributes"]["media_urls"]
        assert [u.rsplit("/photos/", 1)[1] for u in urls] == [f"{p.id}/display" for p in ordered]
        assert row["media_url"] == urls[0]
    photo_reads = [s for s in seen if "photos" in s]
    assert photo_reads and all("FROM reports" in s for s in photo_reads), photo_reads
