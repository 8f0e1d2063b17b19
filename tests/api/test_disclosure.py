"""The public-data rule, walked over every public surface for every case (table-driven).

Each CASE builds a report through the real workflow and says which words must never reach the
public, which must, and whether the report's photos or the report itself must be invisible.
Each SURFACE fetches what an outsider (no key, no token) gets. Every (case, surface) pair is
one test. Cases also say what the reporter (citizen token) sees and what the citizen's
notifications carry.

Each case is built once for all its tests (it is the module-scoped `case` parameter, so pytest
runs a case's tests together): in a transaction of its own, rolled back after them, and each
test runs in a savepoint of it, rolled back after the test, so whatever a request writes is
gone before the next one. The tests only read the case; building it 126 times instead of 9 was
most of this file's time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from fieldreport.extensions import db, queues
from fieldreport.models import Notification, Photo
from fieldreport.services import citizen, routing, workflow
from tests import factories as f

STAFF_NAMES = ("Cán bộ phường Buôn Ma Thuột", "bmt.staff", "Điều phối viên IOC", "dispatcher")


def shows(name: str, text: str) -> bool:
    """A staff name standing as a word in the text: the username `dispatcher` shown, not the
    page scripts' message key `role_dispatcher` every page carries."""
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text) is not None


PHONE = "0905 111 222"


@dataclass
class Built:
    code: str
    token: str
    report_id: int
    category: str


@dataclass
class Case:
    name: str
    build: Callable[..., Built]
    internal: tuple[str, ...] = ()  # staff words: nobody but staff, never in a notification
    citizen_words: tuple[str, ...] = ()  # the reporter's own words: the reporter only
    content: tuple[str, ...] = ()  # the report's text: hidden from the public here
    addressed: tuple[str, ...] = ()  # addressed to the reporter: the reporter only
    public: tuple[str, ...] = ()  # on the public view (and the reporter's)
    notify: tuple[str, ...] = ()  # in the citizen's notifications
    photos_hidden: bool = False
    invisible: bool = False

    @property
    def never_public(self) -> tuple[str, ...]:
        return (*self.internal, *self.citizen_words, *self.content, *self.addressed)


def _new(session, category="road_damage", description="Ổ gà trước nhà", address="Số 12 Lê Duẩn", photo=True) -> Built:
    r = f.make_report(
        session, category, *f.BMT, description=description, address_hint=address, reporter_phone="0912000111"
    )
    if photo:
        workflow.save_photos(r, [f.jpeg()], kind="before")
    routing.route_report(r.id)
    return Built(r.code, r.citizen_token, r.id, category)


def _staff(session, name="bmt.staff"):
    return f.user(session, name)


def _resolved(session) -> Built:
    b = _new(session)
    report = workflow.load(b.code, for_update=True)
    workflow.resolve(report, _staff(session), "Đã vá ổ gà bằng bê tông nhựa.", [f.jpeg(color=(10, 200, 10))])
    return b


def build_rating(session):
    b = _resolved(session)
    citizen.rate(b.code, 2, f"Chưa sạch, gọi tôi {PHONE}", b.token)
    return b


def build_reopen(session):
    b = _resolved(session)
    citizen.reopen(b.code, f"Vẫn còn ổ gà, liên hệ {PHONE}", b.token)
    return b


def build_reject_unclear(session):
    b = _new(session)
    workflow.reject(
        workflow.load(b.code, for_update=True),
        _staff(session),
        "unclear",
        note="INTERNAL: người này hay báo sai, bỏ qua",
    )
    return b


def build_triage(session):
    """The dispatcher's note on assigning, then the unit's reason for passing it on."""
    b = _new(session, category="other")  # "other" always goes to the dispatcher
    workflow.assign(
        workflow.load(b.code, for_update=True),
        _staff(session, "dispatcher"),
        "UBND-24133",
        note="TRIAGE: ông Tư tổ trưởng nói không cần gấp",
    )
    workflow.transfer(
        workflow.load(b.code, for_update=True), _staff(session), "SXD", "TRANSFER: lãnh đạo phường không muốn nhận"
    )
    return b


def build_offensive(session):
    b = _new(session, description="OFFENSIVE words here", address="ADDR of the offender")
    workflow.reject(workflow.load(b.code, for_update=True), _staff(session), "offensive")
    return b


def build_complaint(session):
    b = _new(session, description="Tố cáo ông Nguyễn Văn Bị nhận hối lộ", address="Nhà ông Bị, hẻm 45 Phan Chu Trinh")
    workflow.reject(workflow.load(b.code, for_update=True), _staff(session), "complaint_channel")
    return b


def build_private_category(session):
    cat = f.category(session, "noise")
    cat.public = False  # rolled back with the test
    session.flush()
    return _new(session, category="noise", description="PRIVATE category text")


def build_question(session):
    b = _new(session)
    workflow.request_info(
        workflow.load(b.code, for_update=True), _staff(session), "Xin cho biết ổ gà nằm bên trái hay bên phải đường?"
    )
    return b


def build_extension(session):
    b = _new(session)
    report = workflow.load(b.code, for_update=True)
    workflow.extend(
        report,
        _staff(session),
        report.due_at + timedelta(days=3),
        "REASON: thiếu nhân lực nội bộ",
        "Xin lỗi, cần thêm 3 ngày để mua vật tư.",
    )
    return b


CASES = [
    Case(
        "rating comment",
        build_rating,
        citizen_words=(f"Chưa sạch, gọi tôi {PHONE}",),
        public=("Đã vá ổ gà bằng bê tông nhựa.",),
    ),
    Case("citizen reopen reason", build_reopen, citizen_words=(f"Vẫn còn ổ gà, liên hệ {PHONE}",)),
    Case(
        "internal reject note",
        build_reject_unclear,
        internal=("INTERNAL: người này hay báo sai",),
        public=("nội dung không rõ ràng",),
        notify=("nội dung không rõ ràng",),
    ),
    Case(
        "triage note and transfer reason",
        build_triage,
        internal=("TRIAGE: ông Tư", "TRANSFER: lãnh đạo phường"),
        public=("Sở Xây dựng",),
    ),
    Case(
        "offensive rejection",
        build_offensive,
        content=("OFFENSIVE words", "ADDR of the offender"),
        photos_hidden=True,
        public=("có nội dung không phù hợp",),
    ),
    Case(
        "complaint channel rejection",
        build_complaint,
        content=("Nguyễn Văn Bị nhận hối lộ", "hẻm 45 Phan Chu Trinh"),
        photos_hidden=True,
        public=("thuộc thủ tục khiếu nại, tố cáo",),
    ),
    Case("non-public category", build_private_category, content=("PRIVATE category text",), invisible=True),
    Case(
        "question to the reporter",
        build_question,
        addressed=("bên trái hay bên phải",),
        notify=("bên trái hay bên phải",),
    ),
    Case(
        "extension apology and new date",
        build_extension,
        internal=("REASON: thiếu nhân lực",),
        public=("Xin lỗi, cần thêm 3 ngày",),
        notify=("Xin lỗi, cần thêm 3 ngày",),
    ),
]


# -- surfaces: what an outsider gets ------------------------------------------------------


def _get(client, url, **kw):
    r = client.get(url, **kw)
    assert r.status_code in (200, 404), (url, r.status_code, r.data[:300])
    return r


def s_api_view(client, b):
    r = _get(client, f"/api/v1/reports/{b.code}")
    return r.get_data(as_text=True) if r.status_code == 200 else ""


def s_api_listing(client, b):
    items = _get(client, "/api/v1/reports?page_size=100").json["items"]
    return json.dumps([i for i in items if i["code"] == b.code], ensure_ascii=False)


def s_api_listing_category(client, b):
    r = client.get(f"/api/v1/reports?page_size=100&category={b.category}")
    if r.status_code == 422:  # a non-public category is not a filter the public may use
        return ""
    return json.dumps([i for i in r.json["items"] if i["code"] == b.code], ensure_ascii=False)


def s_api_nearby(client, b):
    r = _get(client, f"/api/v1/reports/nearby?lat={f.BMT[1]}&lon={f.BMT[0]}&category={b.category}")
    return json.dumps([i for i in r.json if i["code"] == b.code], ensure_ascii=False)


def s_open311_request(client, b):
    out = []
    for fmt in ("json", "xml"):
        r = _get(client, f"/open311/v2/requests/{b.code}.{fmt}?extensions=true")
        out.append(r.get_data(as_text=True) if r.status_code == 200 else "")
    return "\n".join(out)


def s_open311_requests(client, b):
    out = []
    for fmt in ("json", "xml"):
        r = _get(client, f"/open311/v2/requests.{fmt}?extensions=true")
        text = r.get_data(as_text=True)
        out.append(text if b.code in text else "")
    return "\n".join(out)


def s_open311_updates(client, b):
    rows = [u for u in _get(client, "/open311/v2/servicerequestupdates.json").json if u["service_request_id"] == b.code]
    xml = _get(client, "/open311/v2/servicerequestupdates.xml").get_data(as_text=True)
    return json.dumps(rows, ensure_ascii=False) + "\n" + ("" if b.code not in xml else xml)


def _text(client, url) -> str:
    r = client.get(url)
    assert r.status_code in (200, 404, 422), (url, r.status_code)
    return r.get_data(as_text=True) if r.status_code == 200 else ""


def s_public_page(client, b):
    return _text(client, f"/public/reports/{b.code}")


def s_public_map_page(client, b):
    return _text(client, "/public/") + _text(client, "/public/clusters.json?zoom=18")


def s_open_data(client, b):
    return _text(client, "/public/data/reports.geojson") + _text(client, "/public/data/reports.csv")


def s_feeds(client, b):
    return "".join(
        _text(client, url)
        for url in (
            "/public/feeds/reports.atom",
            f"/public/feeds/categories/{b.category}.atom",
            "/public/feeds/communes/24133.atom",
        )
    )


SURFACES = {
    "public page": s_public_page,
    "public map and list": s_public_map_page,
    "open data": s_open_data,
    "atom feeds": s_feeds,
    "api view": s_api_view,
    "api listing": s_api_listing,
    "api listing by category": s_api_listing_category,
    "api nearby": s_api_nearby,
    "open311 request": s_open311_request,
    "open311 requests": s_open311_requests,
    "open311 updates": s_open311_updates,
}


def _photo_keys(b) -> list[tuple[int, str, str]]:
    return [
        (p.id, p.display_key, p.thumb_key)
        for p in db.session.scalars(select(Photo).where(Photo.report_id == b.report_id))
    ]


@pytest.fixture(scope="module", params=CASES, ids=[c.name for c in CASES])
def case(request) -> Case:
    return request.param


@pytest.fixture(scope="module")
def case_connection(app, case):
    """The case built once, committed into an outer transaction rolled back after its tests."""
    queues.redis.flushdb()  # as redis_clean before a test that builds its own
    connection = db.engine.connect()
    outer = connection.begin()
    db.bind_to(connection, join_transaction_mode="create_savepoint")
    try:
        with app.app_context():
            built = case.build(db.session)
            db.session.commit()
        yield connection, built
    finally:
        db.bind_to(db.engine, join_transaction_mode="conditional_savepoint")
        outer.rollback()
        connection.close()


@pytest.fixture()
def db_session(app, case_connection):
    """tests/conftest.py's unit of work, inside the case's transaction: a savepoint per test."""
    connection, _ = case_connection
    test = connection.begin_nested()
    db.bind_to(connection, join_transaction_mode="create_savepoint")
    ctx = app.app_context()
    ctx.push()
    try:
        yield db.session
    finally:
        db.session.remove()
        ctx.pop()
        test.rollback()


@pytest.fixture()
def b(case_connection, db_session) -> Built:
    return case_connection[1]


@pytest.mark.parametrize("surface", list(SURFACES))
def test_public_surface(client, case, b, surface):
    text = SURFACES[surface](client, b)
    for secret in (*case.never_public, "0912000111"):
        assert secret not in text, f"{case.name}: {secret!r} leaks on {surface}"
    for name in STAFF_NAMES:
        assert not shows(name, text), f"{case.name}: staff name {name!r} shows on {surface}"
    if case.invisible:
        assert b.code not in text, f"{case.name}: the report shows on {surface}"
    if case.photos_hidden or case.invisible:
        for pid, display, thumb in _photo_keys(b):
            assert display and display not in text and thumb not in text
            assert f"/photos/{pid}/" not in text
    if surface == "api view" and not case.invisible:
        for words in case.public:
            assert words in text, f"{case.name}: {words!r} missing on {surface}"


def test_photo_redirects(client, case, b):
    hidden = case.photos_hidden or case.invisible
    for pid, _, _ in _photo_keys(b):
        for variant in ("display", "thumb"):
            r = client.get(f"/api/v1/reports/{b.code}/photos/{pid}/{variant}")
            assert r.status_code == (404 if hidden else 302), (case.name, variant)


def test_reporter_view(client, case, b):
    """The reporter (citizen token) sees the report, what is addressed to them and their words."""
    r = client.get(f"/api/v1/reports/{b.code}", headers={"X-Citizen-Token": b.token})
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    for words in (*case.public, *case.citizen_words, *case.content, *case.addressed):
        assert words in text, f"{case.name}: {words!r} missing for the reporter"
    for secret in case.internal:
        assert secret not in text, f"{case.name}: {secret!r} shown to the reporter"
    assert not any(shows(name, text) for name in STAFF_NAMES), f"{case.name}: a staff name shown to the reporter"
    if case.photos_hidden:
        assert r.json["photos"], "the reporter still sees their own photos"


def test_citizen_notifications(client, db_session, case, b):
    """What the citizen is sent is what the rule gives the reporter: no internal notes."""
    text = json.dumps(
        [n.payload for n in db_session.scalars(select(Notification).where(Notification.report_id == b.report_id))],
        ensure_ascii=False,
    )
    for secret in case.internal:
        assert secret not in text, f"{case.name}: {secret!r} in a notification"
    assert not any(shows(name, text) for name in STAFF_NAMES), f"{case.name}: a staff name in a notification"
    for words in case.notify:
        assert words in text, f"{case.name}: {words!r} missing from the notifications"
