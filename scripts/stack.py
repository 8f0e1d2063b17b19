"""Local stack for `make run` and `make test`: PostGIS, Redis and an S3 server under ./var/.

Uses the servers named by FIELDREPORT_DATABASE_URL / FIELDREPORT_REDIS_URL when set; for
tests it also reuses PostgreSQL on 127.0.0.1:5432 and Redis on 6379 when they answer (CI).
Everything it starts stops on Ctrl-C (run) or when the tests end (test).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.procs import BIN, Processes, port_open, s3_command, wait_port, write_private  # noqa: E402

VAR = ROOT / "var"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# OpenStreetMap's standard tiles (their tile usage policy asks for this credit and light use).
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
PG_PORT, REDIS_PORT, S3_PORT = 54329, 6390, 9010
children = Processes(say=lambda msg: print(msg, flush=True))
stops: list = []  # how to stop what is not a child (the PostgreSQL cluster)


def say(msg: str) -> None:
    print(f"[stack] {msg}", flush=True)


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start_postgres() -> str:
    data = VAR / "pg"
    if not (data / "PG_VERSION").exists():
        say("initialising a PostgreSQL cluster in var/pg")
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        subprocess.run(
            as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not port_open(PG_PORT):
        log = VAR / "pg.log"
        log.touch()
        if os.geteuid() == 0:
            shutil.chown(log, "postgres", "postgres")
        subprocess.run(
            as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-o",
                    f"-p {PG_PORT} -k {data} -c listen_addresses=127.0.0.1",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        stops.append(
            lambda: subprocess.run(
                as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), stdout=subprocess.DEVNULL
            )
        )
    return f"postgresql+psycopg2://postgres@127.0.0.1:{PG_PORT}"


def ensure_database(url: str) -> None:
    base, name = url.rsplit("/", 1)
    import psycopg2  # from the venv

    dsn = base.replace("postgresql+psycopg2", "postgresql") + "/postgres"
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def start_redis() -> str:
    if not port_open(REDIS_PORT):
        (VAR / "redis").mkdir(parents=True, exist_ok=True)
        spawn(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(REDIS_PORT),
                "--dir",
                str(VAR / "redis"),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            "redis",
        )
        wait_port(REDIS_PORT, "redis", 30)
    return f"redis://127.0.0.1:{REDIS_PORT}/0"


def secret_file(f: Path, make) -> str:
    """A secret kept in var/: created once, 0600 from the first byte (never world-readable,
    not even between a write and a chmod); an older file with looser rights is tightened."""
    if not f.exists():
        try:
            write_private(f, make(), exclusive=True)
        except FileExistsError:  # made meanwhile by another start
            pass
    if f.stat().st_mode & 0o077:
        os.chmod(f, 0o600)
    return f.read_text()


def s3_credentials() -> tuple[str, str]:
    key, secret = secret_file(VAR / "s3.key", lambda: f"fieldreport {secrets.token_hex(16)}\n").split()
    return key, secret


def start_s3(port: int = S3_PORT) -> str:
    key, secret = s3_credentials()
    if port_open(port):  # another checkout's stack: its keys are not ours, every call would be 403
        raise SystemExit(
            f"[stack] port {port} is taken by another S3 server (another `make run`?): "
            "stop it, or point FIELDREPORT_S3_ENDPOINT/ACCESS_KEY/SECRET_KEY at it"
        )
    (VAR / "s3").mkdir(parents=True, exist_ok=True)
    cmd, env = s3_command(VAR / "s3", port, key, secret)
    spawn(cmd, "s3", env=env)
    wait_port(port, "S3 server", 30)
    return f"127.0.0.1:{port}"


def spawn(cmd: list[str], name: str, env: dict | None = None, restart: bool = True):
    """Start a child whose output goes to var/<name>.log; it is restarted if it dies."""
    return children.spawn(cmd, log=VAR / f"{name}.log", env=env, cwd=ROOT, restart=restart, name=name)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop_all() -> None:
    """Stop every child, then the PostgreSQL cluster. Not interruptible: a second Ctrl-C (or a
    service manager's SIGTERM to the whole group) raised inside it left gunicorn and the
    worker running with nobody to stop them."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    children.stop_all(timeout=10)
    for stop in reversed(stops):
        stop()


def secret_key() -> str:
    return secret_file(VAR / "secret.key", lambda: secrets.token_hex(32)).strip()


def vapid_key() -> str:
    """The Web Push (VAPID) P-256 private key as a PEM file, made once, readable by its owner only."""

    def make() -> str:
        from cryptography.hazmat.primitives import serialization  # from the venv
        from cryptography.hazmat.primitives.asymmetric import ec

        return (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            .decode()
        )

    f = VAR / "vapid_private.pem"
    secret_file(f, make)
    return str(f)


def flask(*args: str, env: dict) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], check=True, env=env, cwd=ROOT)


def run() -> int:
    VAR.mkdir(exist_ok=True)
    env = os.environ.copy()
    try:
        if "FIELDREPORT_DATABASE_URL" not in env:
            url = start_postgres() + "/fieldreport"
            ensure_database(url)
            env["FIELDREPORT_DATABASE_URL"] = url
        env.setdefault("FIELDREPORT_REDIS_URL", start_redis())
        if "FIELDREPORT_S3_ENDPOINT" not in env:
            env["FIELDREPORT_S3_ENDPOINT"] = start_s3()
            env["FIELDREPORT_S3_ACCESS_KEY"], env["FIELDREPORT_S3_SECRET_KEY"] = s3_credentials()
        env.setdefault("FIELDREPORT_SECRET_KEY", secret_key())
        env.setdefault("FIELDREPORT_DEMO_MODE", "1")
        env.setdefault("FIELDREPORT_LOG_JSON", "0")
        if "FIELDREPORT_MAP_TILE_URL" not in env:  # a street map on the demo; a province sets its own server
            env["FIELDREPORT_MAP_TILE_URL"] = OSM_TILES
            env.setdefault("FIELDREPORT_MAP_TILE_ATTRIBUTION", OSM_ATTRIBUTION)
        port = env.get("PORT", "8000")
        env.setdefault("FIELDREPORT_VAPID_PRIVATE_KEY_FILE", vapid_key())
        env.setdefault("FIELDREPORT_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
        t0 = time.time()
        flask("db-upgrade", env=env)
        flask("seed-demo", env=env)
        if env.get("FIELDREPORT_PROVINCES"):  # `make run PROVINCES=all`: several provinces
            flask("load-provinces", env=env)
        spawn([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"], "api", env=env)
        # One worker process per core (each runs its jobs in-process: workers/main.py).
        workers = int(env.get("WORKER_PROCESSES") or os.cpu_count() or 1)
        for i in range(1, workers + 1):
            spawn([str(BIN / "python"), "-m", "workers.main", "worker"], f"worker-{i}", env=env)
        spawn([str(BIN / "python"), "-m", "workers.main", "cron"], "cron", env=env)
        wait_port(int(port), "API", 60)
        say(f"ready in {time.time() - t0:.1f}s (logs in var/*.log); Ctrl-C stops everything")
        say(f"API          http://127.0.0.1:{port}/api/v1/docs   (OpenAPI: /api/v1/openapi.json)")
        say(f"staff console http://127.0.0.1:{port}/console   citizen web http://127.0.0.1:{port}/")
        say(f"Open311      http://127.0.0.1:{port}/open311/v2/discovery.json")
        say(f"health       http://127.0.0.1:{port}/readyz")
        while True:  # a child that dies is restarted with back-off; only a signal stops all
            children.supervise()
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        stop_all()


def test(pytest_args: list[str]) -> int:
    """Services for the suite: reuse 5432/6379 when they answer (CI), else start our own."""
    VAR.mkdir(exist_ok=True)
    env = os.environ.copy()
    try:
        if "FIELDREPORT_DATABASE_URL" not in env:
            base = "postgresql+psycopg2://postgres@127.0.0.1:5432" if port_open(5432) else start_postgres()
            env["FIELDREPORT_DATABASE_URL"] = base + "/fieldreport_test"
        if "FIELDREPORT_REDIS_URL" not in env:
            env["FIELDREPORT_REDIS_URL"] = (
                "redis://127.0.0.1:6379/15" if port_open(6379) else start_redis().replace("/0", "/15")
            )
        say(f"database {env['FIELDREPORT_DATABASE_URL']}, redis {env['FIELDREPORT_REDIS_URL']}")
        return subprocess.call([str(BIN / "python"), "-m", "pytest", *pytest_args], env=env, cwd=ROOT)
    finally:
        stop_all()


def _interrupt(signum, frame) -> None:
    """`kill`, a closed terminal or a service manager stop, like Ctrl-C: stop once. The signals
    that follow are ignored from here on, so none lands between this and stop_all()."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


def handle_signals() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)


if __name__ == "__main__":
    handle_signals()
    mode = sys.argv[1] if len(sys.argv) > 1 else "run"
    sys.exit(run() if mode == "run" else test(sys.argv[2:]))
