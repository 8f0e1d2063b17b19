"""/metrics under the real gunicorn with two workers: a scrape answers the sum of both workers'
counters (prometheus_client multiprocess mode, set up by config/gunicorn.conf.py)."""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from scripts.procs import BIN, Processes, descendants, free_port, wait_port
from tests.api.test_ops import metric
from tests.conftest import ROOT
from tests.servers import gunicorn_env

OK = {"method": "GET", "endpoint": "ops.healthz", "status": "200"}


@pytest.fixture(scope="module")
def two_workers(app, config, s3_server, tmp_path_factory):
    """gunicorn with two workers on the session's database; yields (base URL, metrics dir)."""
    port = free_port()
    metrics_dir = tmp_path_factory.mktemp("prometheus")
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # a previous run's file: emptied on start
    env = gunicorn_env(config, s3_server, port, "metrics", workers=2, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    procs = Processes()
    log = tmp_path_factory.mktemp("gunicorn") / "api.log"
    procs.spawn([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"], env=env, cwd=ROOT, log=log)
    try:
        wait_port(port, "gunicorn", timeout=60)
        yield f"http://127.0.0.1:{port}", metrics_dir, procs.procs[0].pid
    finally:
        procs.stop_all()


def _get(url: str) -> str:
    req = urllib.request.Request(url, headers={"Connection": "close"})  # a new connection each time
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.read().decode()


def _workers_counted(metrics_dir) -> set[str]:
    return {m.group(1) for f in metrics_dir.iterdir() if (m := re.fullmatch(r"counter_(\d+)\.db", f.name))}


def test_a_scrape_sums_the_counters_of_every_worker(two_workers):
    base, metrics_dir, _ = two_workers
    assert "1" not in _workers_counted(metrics_dir)  # the stale file went when gunicorn started
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while len(_workers_counted(metrics_dir)) < 2 and sent < 2000:  # both workers answered some
            list(pool.map(_get, [f"{base}/healthz"] * 40))
            sent += 40
    assert len(_workers_counted(metrics_dir)) == 2
    scrapes = [_get(f"{base}/metrics") for _ in range(6)]  # answered by either worker
    assert [metric(s, "fieldreport_http_requests_total", **OK) for s in scrapes] == [sent] * 6


def test_a_dead_workers_counts_stay_in_the_sum(two_workers):
    """A worker killed and replaced (child_exit runs in the arbiter) takes nothing from the sum."""
    base, metrics_dir, arbiter = two_workers
    before = metric(_get(f"{base}/metrics"), "fieldreport_http_requests_total", **OK)
    assert before > 0
    workers = set(descendants(arbiter))
    victim = next(int(pid) for pid in _workers_counted(metrics_dir) if int(pid) in workers)
    os.kill(victim, signal.SIGKILL)
    give_up = time.monotonic() + 120  # a guard against hanging, not a measurement
    while victim in descendants(arbiter) or len(descendants(arbiter)) < 2:  # gunicorn replaces it
        assert time.monotonic() < give_up, "gunicorn did not replace the killed worker"
        time.sleep(0.1)
    wait_port(int(base.rsplit(":", 1)[1]), "gunicorn", timeout=60)
    after = [metric(_get(f"{base}/metrics"), "fieldreport_http_requests_total", **OK) for _ in range(4)]
    assert after == [before] * 4
