"""The real gunicorn with config/gunicorn.conf.py: the API's longest URLs fit its request line,
what gunicorn itself refuses is answered as application/problem+json, not an HTML page, and
its access log holds no secret sent in a URL."""

from __future__ import annotations

import json
import socket
import time

import pytest

from scripts.procs import BIN, Processes, free_port, wait_port
from tests.conftest import ROOT
from tests.servers import gunicorn_env


@pytest.fixture(scope="module")
def gunicorn_server(app, config, s3_server, tmp_path_factory):
    """One gunicorn worker on the session's (already migrated and seeded) database."""
    port = free_port()
    env = gunicorn_env(config, s3_server, port, "gunicorn", workers=1)
    procs = Processes()
    log = tmp_path_factory.mktemp("gunicorn") / "api.log"
    procs.spawn([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"], env=env, cwd=ROOT, log=log)
    try:
        wait_port(port, "gunicorn", timeout=60)
        base = f"http://127.0.0.1:{port}"
        assert _raw_get(base, "/open311/v2/discovery.json")[0] == 200  # the worker has loaded the app
        yield base, log
    finally:
        procs.stop_all()


@pytest.fixture(scope="module")
def gunicorn(gunicorn_server):
    return gunicorn_server[0]


def _raw_get(base: str, target: str) -> tuple[int, dict, bytes]:
    """Send the request line as is (no client library trims or refuses it)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=120) as sock:  # a loaded machine
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_an_over_long_request_line_is_a_problem_json_414(gunicorn):
    status, headers, body = _raw_get(gunicorn, "/api/v1/reports?category=" + "x" * 9000)
    assert status == 414
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["code"] == "uri_too_long" and problem["status"] == 414 and problem["message"]


def test_the_longest_open311_id_list_fits_the_request_line(gunicorn):
    codes = ",".join(f"Z{i:09d}" for i in range(500)).replace(",", "%2C")  # 500 codes, commas encoded
    target = f"/open311/v2/requests.json?service_request_id={codes}"
    assert len(target) > 4094  # gunicorn's default limit would have refused it
    status, headers, _ = _raw_get(gunicorn, target)
    assert status == 200 and headers["content-type"].startswith("application/json")
    too_many = ",".join(f"Z{i:09d}" for i in range(501))
    status, _, body = _raw_get(gunicorn, f"/open311/v2/requests.json?service_request_id={too_many}")
    assert status == 400 and b"500" in body


def test_the_access_log_holds_no_secret_from_a_url(gunicorn_server):
    base, log = gunicorn_server
    secrets = {
        "citizen_token": "CITIZENTOKEN" + "x" * 30,
        "api_key": "APIKEY0123456789",
        "code": "493817",
        "password": "PASSWORD-IN-URL",
    }
    query = "&".join(f"{k}={v}" for k, v in secrets.items())
    status, _, body = _raw_get(base, f"/api/v1/me/reports?{query}&page=2")
    assert status == 400 and json.loads(body)["code"] == "secret_in_url"  # refused, and yet logged
    status, _, _ = _raw_get(base, f"/open311/v2/services.json?api_key={secrets['api_key']}&x=1")
    assert status == 400
    deadline = time.monotonic() + 30  # gunicorn writes the line after the response
    while "services.json" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    text = log.read_text()
    assert "/api/v1/me/reports?" in text and "page=2" in text and "services.json" in text
    for value in secrets.values():
        assert value not in text
    assert "citizen_token=[scrubbed]" in text
