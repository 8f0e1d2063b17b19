"""The public transparency pages, server side: map and list, clusters, a report's page,
scorecards and the province summary, open data (GeoJSON, CSV) and Atom feeds."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

from fieldreport.services import citizen, routing, workflow
from fieldreport.services.indicators import rollups
from tests import factories as f

ATOM = "{http://www.w3.org/2005/Atom}"
TANLAP = (108.1066, 12.6573)  # inside Phường Tân Lập (24121)


def _report(session, category="road_damage", at=f.BMT, photo=False, **fields):
    r = f.make_report(session, category, *at, **fields)
    if photo:
        workflow.save_photos(r, [f.jpeg()], kind="before")
    routing.route_report(r.id)
    return r


def _resolve(session, r, staff="bmt.staff", answer="Đã vá xong."):
    workflow.resolve(
        workflow.load(r.code, for_update=True), f.user(session, staff), answer, [f.jpeg(color=(20, 160, 20))]
    )


def test_map_page_lists_reports_with_filters_and_shareable_urls(client, db_session):
    road = _report(db_session, description="Ổ gà lớn")
    light = _report(db_session, "street_light")
    html = client.get("/public/").get_data(as_text=True)
    assert '<html lang="vi">' in html and "Bản đồ phản ánh" in html
    assert road.code in html and light.code in html
    only = client.get("/public/?category=road_damage&status=open&period=30d").get_data(as_text=True)
    assert road.code in only and light.code not in only
    # The map asks for clusters with exactly the page's filters (the URL is the state).
    assert "/public/clusters.json?category=road_damage&amp;status=open&amp;period=30d" in only


def test_pages_speak_english_on_request(client, db_session):
    html = client.get("/public/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html and "Map of reports" in html


def test_bad_filters_are_a_clear_4xx(client, db_session):
    assert client.get("/public/?period=forever").status_code == 422
    r = client.get("/public/clusters.json?zoom=x")
    assert r.status_code == 422 and r.headers["Content-Type"].startswith("application/problem+json")
    assert client.get("/public/data/reports.geojson?category=nope").status_code == 422
    assert client.get("/public/feeds/communes/99999.atom").status_code == 422


def test_clusters_are_computed_by_the_server(client, db_session):
    codes = {_report(db_session, at=(f.BMT[0] + i * 0.0003, f.BMT[1])).code for i in range(4)}
    far = _report(db_session, at=TANLAP)
    wide = client.get("/public/clusters.json?zoom=8&status=open").json
    [big] = [ft for ft in wide["features"] if ft["properties"]["count"] >= 5]
    assert big["properties"]["code"] is None
    close = client.get("/public/clusters.json?zoom=18&status=open").json
    singles = {ft["properties"]["code"] for ft in close["features"] if ft["properties"]["count"] == 1}
    assert codes | {far.code} <= singles
    boxed = client.get(
        f"/public/clusters.json?zoom=18&bbox={TANLAP[0] - 0.001},{TANLAP[1] - 0.001},"
        f"{TANLAP[0] + 0.001},{TANLAP[1] + 0.001}"
    ).json
    assert [ft["properties"]["code"] for ft in boxed["features"]] == [far.code]


def test_report_page_shows_before_after_answer_and_timeline(client, db_session):
    r = _report(db_session, photo=True, description="Ổ gà trước số 12")
    report = workflow.load(r.code, for_update=True)
    workflow.extend(
        report,
        f.user(db_session, "bmt.staff"),
        report.due_at + timedelta(days=2),
        "nội bộ: thiếu xe",
        "Xin lỗi vì sự chậm trễ.",
    )
    _resolve(db_session, r, answer="Đã vá ổ gà bằng bê tông nhựa.")
    html = client.get(f"/public/reports/{r.code}").get_data(as_text=True)
    for words in (
        "Ổ gà trước số 12",
        "Đã vá ổ gà bằng bê tông nhựa.",
        "Xin lỗi vì sự chậm trễ.",
        "Trước khi xử lý",
        "Sau khi xử lý",
        "UBND Phường Buôn Ma Thuột",
        f"/public/reports/{r.code}",
    ):
        assert words in html, words
    assert "thiếu xe" not in html and "bmt.staff" not in html
    # before and after, thumbnail and display copy: stable photo URLs that redirect to storage
    assert len(re.findall(r"/photos/\d+/(?:thumb|display)", html)) >= 4


def test_withheld_and_private_reports_on_the_pages(client, db_session):
    bad = _report(db_session, photo=True, description="Lời lẽ thô tục")
    workflow.reject(workflow.load(bad.code, for_update=True), f.user(db_session, "bmt.staff"), "offensive")
    html = client.get(f"/public/reports/{bad.code}").get_data(as_text=True)
    assert "Lời lẽ thô tục" not in html and not re.search(r"/photos/\d+/", html)
    assert "không được công khai" in html and "có nội dung không phù hợp" in html
    f.category(db_session, "noise").public = False
    hidden = _report(db_session, "noise")
    assert client.get(f"/public/reports/{hidden.code}").status_code == 404
    assert hidden.code not in client.get("/public/").get_data(as_text=True)


def test_scorecard_ranks_peers_flags_small_units_and_sums_the_province(client, db_session):
    for _ in range(5):
        r = _report(db_session)
        _resolve(db_session, r)
        citizen.rate(r.code, 5, None, r.citizen_token)
    for _ in range(5):  # open and not yet due: on time, nothing answered to be satisfied with
        _report(db_session, at=TANLAP)
    _report(db_session, "power_outage")  # one report for Điện lực: too few to rank
    rollups.refresh()
    html = client.get("/public/scorecard").get_data(as_text=True)
    assert "UBND xã, phường" in html and "Sở, ngành" in html
    best = html.index('data-unit="UBND-24133"'), html.index('data-unit="UBND-24121"')
    assert best[0] < best[1]
    worst = client.get("/public/scorecard?order=worst").get_data(as_text=True)
    assert worst.index('data-unit="UBND-24121"') < worst.index('data-unit="UBND-24133"')
    row = html[html.index('data-unit="PC-66"') :]
    assert "Quá ít phản ánh để xếp hạng" in row[: row.index("</tr>")]
    assert '<div class="big" id="sum-received">11</div>' in html
    assert '<div class="big" id="sum-resolved">5</div>' in html
    card = client.get("/public/units/UBND-24133").get_data(as_text=True)
    assert '<strong id="unit-rank">1/2</strong>' in card
    assert client.get("/public/units/NOPE").status_code == 404
    # bad_period: 422 here as on the map (errors.CATALOGUE)
    assert client.get("/public/scorecard?period=decade").status_code == 422


def test_open_data_geojson_and_csv_with_licence(client, db_session):
    ok = _report(db_session, description="Đèn tắt", address_hint="Hẻm 3")
    bad = _report(db_session, description="Tố cáo hàng xóm", address_hint="Nhà số 7")
    workflow.reject(
        workflow.load(bad.code, for_update=True), f.user(db_session, "bmt.staff"), "complaint_channel", note="nội bộ"
    )
    r = client.get("/public/data/reports.geojson")
    assert r.status_code == 200 and 'rel="license"' in r.headers["Link"]
    gj = json.loads(r.get_data(as_text=True))
    assert gj["license"] == "CC-BY-4.0"
    feats = {ft["id"]: ft for ft in gj["features"]}
    assert feats[ok.code]["properties"]["description"] == "Đèn tắt"
    assert feats[ok.code]["properties"]["url"].endswith(f"/public/reports/{ok.code}")
    assert feats[bad.code]["properties"]["description"] is None
    assert "Tố cáo" not in r.get_data(as_text=True) and "Nhà số 7" not in r.get_data(as_text=True)
    lon, lat = feats[bad.code]["geometry"]["coordinates"]
    assert (round(lon, 2), round(lat, 2)) == (lon, lat)  # a withheld report's point is rounded
    rows = list(
        csv.DictReader(io.StringIO(client.get("/public/data/reports.csv").get_data(as_text=True).lstrip("\ufeff")))
    )
    by_code = {row["code"]: row for row in rows}
    assert by_code[ok.code]["category_code"] == "road_damage" and by_code[bad.code]["description"] == ""
    open_only = client.get("/public/data/reports.csv?status=open").get_data(as_text=True)
    assert ok.code in open_only and bad.code not in open_only


def test_open_data_page_names_the_licence_and_fields(client, db_session):
    html = client.get("/public/open-data").get_data(as_text=True)
    assert "CC BY 4.0" in html and "<code>public_answer</code>" in html and "/public/data/reports.csv" in html


def test_atom_feeds_per_commune_and_category(client, db_session):
    here = _report(db_session, description="Ổ gà ở Buôn Ma Thuột")
    there = _report(db_session, "street_light", at=TANLAP)
    feed = ET.fromstring(client.get("/public/feeds/communes/24133.atom").data)
    assert feed.tag == f"{ATOM}feed"
    ids = [e.find(f"{ATOM}id").text for e in feed.findall(f"{ATOM}entry")]
    assert any(i.endswith(here.code) for i in ids) and not any(i.endswith(there.code) for i in ids)
    cat = ET.fromstring(client.get("/public/feeds/categories/street_light.atom").data)
    ids = [e.find(f"{ATOM}id").text for e in cat.findall(f"{ATOM}entry")]
    assert any(i.endswith(there.code) for i in ids) and not any(i.endswith(here.code) for i in ids)
    r = client.get("/public/feeds/reports.atom")
    assert r.headers["Content-Type"].startswith("application/atom+xml")
