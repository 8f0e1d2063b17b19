"""Browser fixtures: the real app under gunicorn plus a real RQ worker, on their own database.

The per-test rollback of tests/conftest.py cannot reach another process's connections, so
the browser tests run against a separate database (<test db>_e2e) whose data is committed,
migrated and seeded once per module, and a separate queue prefix and bucket.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts.procs import Processes, free_port, wait_port
from tests.conftest import DEMO_PASSWORD, ROOT, _fresh_database
from tests.servers import gunicorn_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BIN = Path(sys.executable).parent


def pytest_addoption(parser):
    parser.addoption(
        "--screenshots",
        default=None,
        metavar="DIR",
        help="save a PNG of each main page into DIR (e.g. docs/screenshots)",
    )


@dataclass
class LiveServer:
    url: str
    env: dict
    procs: Processes
    tiles: TileServer

    def flask(self, *args: str) -> str:
        return _run([str(BIN / "flask"), "--app", "wsgi", *args], self.env)

    def python(self, code: str) -> str:
        """Run code inside the server's app context (as a one-off admin process would)."""
        script = "from wsgi import app\nwith app.app_context():\n" + "".join(
            f"    {line}\n" for line in code.splitlines()
        )
        return _run([sys.executable, "-c", script], self.env)

    def make_overdue(self, code: str, days: int) -> None:
        """Time travel for one report: its due times (row and history) `days` in the past,
        then its indicator facts recomputed, as if the unit had let the deadline slip."""
        self.python(OVERDUE_SCRIPT.format(code=code, days=int(days)))

    def refresh_indicators(self) -> None:
        """Bring the indicator rollups up to date now instead of waiting for the periodic job."""
        self.python("from fieldreport.services.indicators import rollups\nrollups.refresh()")


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status == 200
    except OSError:
        return False


def _run(cmd: list[str], env: dict) -> str:
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:  # show why, not just the exit code
        raise AssertionError(f"{cmd[:3]} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out.stdout


OVERDUE_SCRIPT = """\
from datetime import timedelta
from sqlalchemy import select
from fieldreport.extensions import db
from fieldreport.models import Event, Report
from fieldreport.models.base import utcnow
from fieldreport.services.indicators import rollups
report = db.session.scalar(select(Report).where(Report.code == '{code}'))
past = utcnow() - timedelta(days={days})
# The indicators recompute the due from the history (receipt + limit), so the history moves
# back: far enough (a week more) that its working-time due lies in the past too.
shift = report.indicator_due_at - past + timedelta(days=7)
report.due_at = report.indicator_due_at = past
report.created_at -= shift
if report.assigned_at is not None:
    report.assigned_at -= shift
for ev in db.session.scalars(select(Event).where(Event.report_id == report.id)):
    ev.at -= shift
    if 'indicator_due_at' in (ev.data or {{}}):
        ev.data = {{**ev.data, 'due_at': past.isoformat(), 'indicator_due_at': past.isoformat()}}
db.session.commit()
rollups.recompute_reports([report.id])
db.session.commit()
"""


@dataclass
class TileServer:
    """A stand-in for the province's tile server: a street-coloured PNG for any /z/x/y.png,
    recording what it was asked. Browser contexts block it unless a test lets it through."""

    url: str
    template: str
    attribution: str = "© Test Tiles"
    requests: list = field(default_factory=list)


def _tile_png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (256, 256), (242, 239, 233))
    ImageDraw.Draw(img).line((0, 128, 256, 128), fill=(255, 255, 255), width=14)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def tile_server():
    png = _tile_png()
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield TileServer(url, url + "/{z}/{x}/{y}.png", requests=seen)
    httpd.shutdown()


@pytest.fixture(scope="module")
def live_server_env() -> dict:
    """Extra FIELDREPORT_* settings of a module's live server (a module overrides this fixture,
    e.g. to point the SMS gateway and Web Push at local test servers)."""
    return {}


def _server_env(config, s3_server, tile_server, db_url: str, port: int, extra: dict) -> dict:
    return gunicorn_env(
        config,
        s3_server,
        port,
        "e2e",
        2,
        FIELDREPORT_DATABASE_URL=db_url,
        FIELDREPORT_S3_BUCKET="fieldreport-e2e",
        FIELDREPORT_SECRET_KEY="e2e-secret",
        FIELDREPORT_DEMO_MODE="1",
        FIELDREPORT_DEMO_PASSWORD=DEMO_PASSWORD,
        FIELDREPORT_SUBMIT_RATE_PER_HOUR="1000",
        FIELDREPORT_MAP_TILE_URL=tile_server.template,
        FIELDREPORT_MAP_TILE_ATTRIBUTION=tile_server.attribution,
        GUNICORN_THREADS="4",
        **extra,
    )


@pytest.fixture(scope="session")
def e2e_template(config, s3_server, tile_server) -> str:
    """The name of a database migrated to head and seeded with the demo, once per session:
    each module's live server gets a copy of it (CREATE DATABASE ... TEMPLATE), the same data
    `flask db-upgrade` and `flask seed-demo` would write (the seed reads no module setting),
    without two app start-ups per module."""
    db_url = config.DATABASE_URL + "_e2e_tpl"
    _fresh_database(db_url)
    env = _server_env(config, s3_server, tile_server, db_url, 0, {})
    _run([str(BIN / "flask"), "--app", "wsgi", "db-upgrade"], env)
    _run([str(BIN / "flask"), "--app", "wsgi", "seed-demo"], env)  # and the e2e bucket
    return db_url.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def live_server(config, s3_server, tile_server, tmp_path_factory, live_server_env, e2e_template):
    """gunicorn + `workers.main worker` against a fresh copy of the seeded e2e database."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/system-deps.sh installs it)")
    db_url = config.DATABASE_URL + "_e2e"
    _fresh_database(db_url, template=e2e_template)
    port = free_port()
    env = _server_env(config, s3_server, tile_server, db_url, port, live_server_env)
    server = LiveServer(f"http://127.0.0.1:{port}", env, Processes(), tile_server)
    logs = tmp_path_factory.mktemp("e2e-logs")
    server.procs.spawn(
        [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"], env=env, cwd=ROOT, log=logs / "api.log"
    )
    server.procs.spawn(
        [str(BIN / "python"), "-m", "workers.main", "worker"], env=env, cwd=ROOT, log=logs / "worker.log"
    )
    try:
        wait_port(port, "API", timeout=30)
        # The port opens before gunicorn's workers have imported the app (a minute on a loaded
        # machine): wait for an answer, so the first page load does not spend its timeout here.
        wait_until(lambda: _answers(server.url + "/healthz"), timeout=180, interval=0.5)
        yield server
    finally:
        server.procs.stop_all()
        from redis import Redis

        r = Redis.from_url(config.REDIS_URL)
        for key in r.scan_iter(f"*fieldreport-e2e-{port}*"):  # queues, jobs, rate limits of this run
            r.delete(key)
        for name in ("api.log", "worker.log"):
            text = (logs / name).read_text(errors="replace")
            if "Traceback" in text:  # make server-side failures visible in the test output
                print(f"--- {name} ---\n{text[-6000:]}")


@pytest.fixture(scope="module")
def browser(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(request):
    """shots(page, name): a full-page PNG under --screenshots DIR, when that option is given."""
    target = request.config.getoption("--screenshots", default=None) or os.environ.get("FIELDREPORT_SCREENSHOTS")
    out = Path(target) if target else None
    if out is not None:
        if not out.is_absolute():
            out = ROOT / out
        out.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = True) -> None:
        if out is None:
            return
        page.wait_for_timeout(300)  # let Leaflet and the charts finish their animations
        page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)

    return take


def wait_until(fn, timeout: float = 30, interval: float = 0.2):
    """Poll fn() until it returns something truthy (background jobs finish on their own time)."""
    for _ in range(max(1, int(timeout / interval))):  # a polling deadline, not a timing assertion
        value = fn()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


PHONE_AT = {"latitude": 12.667, "longitude": 108.038}  # Phường Buôn Ma Thuột (24133)


# Browser contexts of the scenario tests: a phone (390×844, located in Buôn Ma Thuột) and a desk.
def _context(browser, live_server, tiles: bool = False, **kw):
    # bypass_csp: Playwright's wait_for_function polls its predicate with eval() in the page,
    # which the pages' CSP forbids (no 'unsafe-eval'); test_security_browser checks the CSP.
    ctx = browser.new_context(
        base_url=live_server.url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", bypass_csp=True, **kw
    )
    # Nothing outside our own stack may be fetched (no CDN): the photo store is ours. The tile
    # server is blocked too unless asked for, as on a phone that cannot reach it: maps fall back.
    allowed = (live_server.url, "http://" + live_server.env["FIELDREPORT_S3_PUBLIC_ENDPOINT"])
    external: list[str] = []
    blocked_tiles: list[str] = []

    def gate(route):
        url = route.request.url
        if url.startswith((*allowed, "data:", "blob:")):
            return route.continue_()
        if url.startswith(live_server.tiles.url):
            if tiles:
                return route.continue_()
            blocked_tiles.append(url)
            return route.abort()
        external.append(url)
        return route.abort()

    ctx.route("**/*", gate)
    ctx.external = external
    ctx.blocked_tiles = blocked_tiles
    return ctx


@pytest.fixture()
def phone(browser, live_server):
    ctx = _context(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={**PHONE_AT, "accuracy": 12},
        permissions=["geolocation"],
    )
    page = ctx.new_page()
    yield page
    assert ctx.external == []
    ctx.close()


@pytest.fixture()
def desk(browser, live_server):
    ctx = _context(browser, live_server, viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    yield page
    assert ctx.external == []
    ctx.close()
