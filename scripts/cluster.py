"""A several-host deployment on one machine, in Linux network namespaces (as root).

    python scripts/cluster.py up      # start it (state in var/cluster), print the addresses
    python scripts/cluster.py load    # a bounded mixed load through HAProxy, then reconcile
    python scripts/cluster.py chaos   # the same load while one API host, one worker host
                                      # (SIGKILL mid-job) and one periodic process die
    python scripts/cluster.py down    # stop everything, remove the namespaces

Hosts (a bridge fr-br0 10.77.0.1/24 in the root namespace; traffic stays on this machine):
  fr-lb   10.77.0.10  HAProxy :8080, health checks GET /readyz every second
  fr-db1  10.77.0.11  PostgreSQL primary          fr-db2 10.77.0.12  hot standby (pg_basebackup)
  fr-svc  10.77.0.13  Redis :6379, S3 server :9000
  fr-api1 10.77.0.21  gunicorn :8000               fr-api2 10.77.0.22 gunicorn :8000
  fr-wk1  10.77.0.31  RQ worker + periodic process fr-wk2 10.77.0.32 the same
The API hosts send lag-tolerant reads to the replica (DATABASE_READ_URL).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.procs import BIN, descendants, s3_command, write_private  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
BRIDGE, NET = "fr-br0", "10.77.0"
HOSTS = {
    "fr-lb": 10,
    "fr-db1": 11,
    "fr-db2": 12,
    "fr-svc": 13,
    "fr-api1": 21,
    "fr-api2": 22,
    "fr-wk1": 31,
    "fr-wk2": 32,
}
LB = f"http://{NET}.10:8080"


def ip(host: str) -> str:
    return f"{NET}.{HOSTS[host]}"


def sh(*cmd: str, check: bool = True, ns: str | None = None, **kw) -> subprocess.CompletedProcess:
    full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
    out = subprocess.run(full, capture_output=True, text=True, **kw)
    if check and out.returncode:
        raise RuntimeError(f"{' '.join(full)} failed ({out.returncode}): {out.stderr or out.stdout}")
    return out


def usable() -> str | None:
    """Why the cluster cannot run here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("haproxy"):
        return "haproxy is not installed (apt-get install haproxy; scripts/system-deps.sh does it)"
    probe = f"fr-probe-{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode:
        return "`ip netns add` is not allowed here"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Cluster:
    def __init__(self, state: Path | None = None) -> None:
        self.dir = state or ROOT / "var" / "cluster"
        self.pids_file = self.dir / "pids.json"
        self.pids: dict[str, int] = json.loads(self.pids_file.read_text()) if self.pids_file.exists() else {}
        self.secret = "cluster-" + secrets.token_hex(8)
        self.s3_key, self.s3_secret = "cluster", "cluster-" + secrets.token_hex(8)
        envf = self.dir / "env.json"
        if envf.exists():
            saved = json.loads(envf.read_text())
            self.secret, self.s3_key, self.s3_secret = saved["secret"], saved["s3_key"], saved["s3_secret"]

    # -- network --------------------------------------------------------------------------
    def network_up(self) -> None:
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{NET}.1/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        for host, n in HOSTS.items():
            veth = f"v{n}"
            sh("ip", "netns", "add", host)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", host)
            sh("ip", "link", "set", veth, "master", BRIDGE)
            sh("ip", "link", "set", veth, "up")
            sh("ip", "addr", "add", f"{NET}.{n}/24", "dev", "eth0", ns=host)
            sh("ip", "link", "set", "eth0", "up", ns=host)
            sh("ip", "link", "set", "lo", "up", ns=host)

    def network_down(self) -> None:
        for host in HOSTS:
            sh("ip", "netns", "del", host, check=False)
        sh("ip", "link", "del", BRIDGE, check=False)

    # -- processes ------------------------------------------------------------------------
    def spawn(self, name: str, host: str, cmd: list[str], env: dict | None = None) -> int:
        log = open(self.dir / f"{name}.log", "ab")
        p = subprocess.Popen(
            ["ip", "netns", "exec", host, *cmd],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env or os.environ.copy(),
            cwd=ROOT,
            start_new_session=True,
        )
        self.pids[name] = p.pid
        self.pids_file.write_text(json.dumps(self.pids))
        return p.pid

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        pid = self.pids[name]
        for child in descendants(pid) + [pid]:  # RQ's work horses sit in their own group
            try:
                os.kill(child, sig)
            except ProcessLookupError:
                pass

    def postgres(self) -> None:
        pg1, pg2 = self.dir / "pg1", self.dir / "pg2"
        for d in (pg1, pg2, self.dir / "sock1", self.dir / "sock2"):
            d.mkdir(parents=True, exist_ok=True)
            shutil.chown(d, "postgres", "postgres")
            os.chmod(d, 0o700)
        for name in ("pg1.log", "pg2.log"):
            (self.dir / name).touch()
            shutil.chown(self.dir / name, "postgres", "postgres")
        run_pg = ["runuser", "-u", "postgres", "--"]
        sh(
            *run_pg,
            str(PG_BIN / "initdb"),
            "-D",
            str(pg1),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        with open(pg1 / "pg_hba.conf", "a") as f:
            f.write(f"host all all {NET}.0/24 trust\nhost replication all {NET}.0/24 trust\n")
        opts = f"-c listen_addresses={ip('fr-db1')} -c port=5432 -k {self.dir / 'sock1'} -c wal_level=replica"
        sh(
            *run_pg,
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(pg1),
            "-l",
            str(self.dir / "pg1.log"),
            "-w",
            "-o",
            opts,
            "start",
            ns="fr-db1",
        )
        sh(
            *run_pg,
            str(PG_BIN / "pg_basebackup"),
            "-h",
            ip("fr-db1"),
            "-U",
            "postgres",
            "-D",
            str(pg2),
            "-R",
            "-X",
            "stream",
            ns="fr-db2",
        )
        opts2 = f"-c listen_addresses={ip('fr-db2')} -c port=5432 -k {self.dir / 'sock2'} -c hot_standby=on"
        sh(
            *run_pg,
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(pg2),
            "-l",
            str(self.dir / "pg2.log"),
            "-w",
            "-o",
            opts2,
            "start",
            ns="fr-db2",
        )
        sh("psql", "-h", ip("fr-db1"), "-U", "postgres", "-c", "CREATE DATABASE fieldreport")

    def env(self, host: str) -> dict:
        return dict(
            os.environ,
            FIELDREPORT_DATABASE_URL=f"postgresql+psycopg2://postgres@{ip('fr-db1')}:5432/fieldreport",
            FIELDREPORT_DATABASE_READ_URL=f"postgresql+psycopg2://postgres@{ip('fr-db2')}:5432/fieldreport",
            FIELDREPORT_REDIS_URL=f"redis://:{self.s3_secret}@{ip('fr-svc')}:6379/0",
            FIELDREPORT_S3_ENDPOINT=f"{ip('fr-svc')}:9000",
            FIELDREPORT_S3_ACCESS_KEY=self.s3_key,
            FIELDREPORT_S3_SECRET_KEY=self.s3_secret,
            FIELDREPORT_SECRET_KEY=self.secret,
            FIELDREPORT_DEMO_MODE="1",
            FIELDREPORT_LOG_JSON="0",
            FIELDREPORT_SUBMIT_RATE_PER_HOUR="100000",
            FIELDREPORT_TRUSTED_PROXIES="1",
            FIELDREPORT_RESCUE_AFTER_SECONDS="5",
            HOST=ip(host),
            PORT="8000",
            WEB_CONCURRENCY="1",
            GUNICORN_THREADS="4",
        )

    def haproxy(self) -> None:
        cfg = self.dir / "haproxy.cfg"
        cfg.write_text(f"""global
    stats socket {self.dir}/haproxy.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 60s
frontend api
    bind {ip("fr-lb")}:8080
    default_backend apis
backend apis
    option httpchk GET /readyz
    http-check expect status 200
    retry-on conn-failure empty-response
    retries 2
    option redispatch
    server api1 {ip("fr-api1")}:8000 check inter 1s fall 2 rise 2
    server api2 {ip("fr-api2")}:8000 check inter 1s fall 2 rise 2
""")
        self.spawn("haproxy", "fr-lb", ["haproxy", "-f", str(cfg), "-db"])

    def up(self) -> None:
        if self.dir.exists():
            self.down()
        self.dir.mkdir(parents=True)
        os.chmod(self.dir, 0o711)  # postgres must reach its data directories inside
        self.write_secrets()
        self.network_up()
        self.postgres()
        self.spawn("redis", "fr-svc", ["redis-server", str(self.dir / "redis.conf")])
        (self.dir / "s3").mkdir()
        cmd, s3env = s3_command(self.dir / "s3", 9000, self.s3_key, self.s3_secret)
        cmd = [c.replace("127.0.0.1:9000", f"{ip('fr-svc')}:9000") for c in cmd]
        self.spawn("s3", "fr-svc", cmd, env=s3env)
        env = self.env("fr-api1")
        wait_tcp(ip("fr-svc"), 6379)
        wait_tcp(ip("fr-svc"), 9000)
        for step in ("db-upgrade", "seed-demo"):
            subprocess.run(
                [str(BIN / "flask"), "--app", "wsgi", step], check=True, env=env, cwd=ROOT, capture_output=True
            )
        for host in ("fr-api1", "fr-api2"):
            self.spawn(
                host.removeprefix("fr-"),
                host,
                [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"],
                env=self.env(host),
            )
        for host in ("fr-wk1", "fr-wk2"):
            name = host.removeprefix("fr-")
            self.spawn(
                f"{name}-worker", host, [str(BIN / "python"), "-m", "workers.main", "worker"], env=self.env(host)
            )
            self.spawn(f"{name}-cron", host, [str(BIN / "python"), "-m", "workers.main", "cron"], env=self.env(host))
        for host in ("fr-api1", "fr-api2"):
            wait_tcp(ip(host), 8000, 60)
        self.haproxy()
        wait_http(f"{LB}/readyz", 60)

    def write_secrets(self) -> None:
        """The cluster's secrets (env.json) and Redis's password (redis.conf, never on a command
        line), in files that are 0600 from their first byte."""
        write_private(
            self.dir / "env.json",
            json.dumps({"secret": self.secret, "s3_key": self.s3_key, "s3_secret": self.s3_secret}),
        )
        write_private(
            self.dir / "redis.conf",
            f'bind {ip("fr-svc")}\nport 6379\nrequirepass {self.s3_secret}\ndir {self.dir}\nappendonly yes\nsave ""\n',
        )

    def down(self) -> None:
        for name in list(self.pids):
            try:
                self.kill(name)
            except KeyError:
                pass
        for d in ("pg2", "pg1"):
            if (self.dir / d / "postmaster.pid").exists():
                subprocess.run(
                    [
                        "runuser",
                        "-u",
                        "postgres",
                        "--",
                        str(PG_BIN / "pg_ctl"),
                        "-D",
                        str(self.dir / d),
                        "-m",
                        "immediate",
                        "stop",
                    ],
                    capture_output=True,
                )
        self.network_down()
        self.pids = {}
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- observation ----------------------------------------------------------------------
    def haproxy_status(self) -> dict[str, str]:
        import socket

        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.dir / "haproxy.sock"))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        head = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(head, line.split(","), strict=False))
            if row.get("pxname") == "apis" and row.get("svname", "").startswith("api"):
                out[row["svname"]] = row["status"]
        return out

    def sql(self, query: str, replica: bool = False) -> list:
        import psycopg2

        conn = psycopg2.connect(host=ip("fr-db2" if replica else "fr-db1"), user="postgres", dbname="fieldreport")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(query)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def cron_runs(self) -> list[str]:
        from redis import Redis

        r = Redis(host=ip("fr-svc"), port=6379, password=self.s3_secret)
        return [x.decode() for x in r.lrange("fieldreport:cron:ran", 0, -1)]


def wait_tcp(host: str, port: int, timeout: float = 30) -> None:
    import socket

    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on {host}:{port}")


def wait_http(url: str, timeout: float = 30) -> None:
    import requests

    end = time.time() + timeout
    while time.time() < end:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout}s")


# -- load and chaos ---------------------------------------------------------------------
def _photo() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 90, 40)).save(out, "JPEG")
    return out.getvalue()


def load(cluster: Cluster, seconds: float = 20, chaos: bool = False) -> dict:
    """Citizens posting with photos, public reads and Open311 reads through HAProxy; with
    chaos, at a third of the run kill api1, the worker of wk1 (mid-job) and wk1's cron."""
    import requests

    photo, acked, errors, reads = _photo(), {}, [], 0
    session = requests.Session()
    t0, killed = time.monotonic(), False
    while time.monotonic() - t0 < seconds:
        if chaos and not killed and time.monotonic() - t0 > seconds / 3:
            cluster.kill("api1")
            cluster.kill("wk1-worker")
            cluster.kill("wk1-cron")
            killed = True
        key = uuid.uuid4().hex
        data = {"category": "road_damage", "lat": "12.667", "lon": "108.038", "description": "Ổ gà"}
        for _attempt in range(5):  # a client retries with the same key, as the mobile app does
            try:
                r = session.post(
                    f"{LB}/api/v1/reports",
                    data=data,
                    headers={"Idempotency-Key": key},
                    files=[("photos", ("a.jpg", photo, "image/jpeg"))],
                    timeout=20,
                )
            except requests.RequestException as exc:
                errors.append(type(exc).__name__)
                time.sleep(0.5)
                continue
            if r.status_code == 201:
                acked[r.json()["code"]] = key
                break
            errors.append(str(r.status_code))
            time.sleep(0.5)
        for path in ("/api/v1/reports?limit=20", "/open311/v2/requests.json", "/api/v1/categories"):
            try:
                if session.get(LB + path, timeout=10).status_code == 200:
                    reads += 1
            except requests.RequestException as exc:
                errors.append(type(exc).__name__)
    return {"acked": acked, "errors": errors, "reads": reads}


def reconcile(cluster: Cluster, acked: dict, timeout: float = 120) -> dict:
    """Wait until every acknowledged report is stored, routed exactly once, its photo's public
    copy made; then report the replica's lag and HAProxy's view."""
    codes = ",".join(f"'{c}'" for c in acked)
    end, problems = time.monotonic() + timeout, ["nothing checked"]
    while time.monotonic() < end and acked:
        rows = cluster.sql(f"""SELECT r.code,
              (SELECT count(*) FROM events e WHERE e.report_id = r.id AND e.type = 'assigned'),
              (SELECT count(*) FROM photos p WHERE p.report_id = r.id AND p.display_key IS NOT NULL)
            FROM reports r WHERE r.code IN ({codes})""")
        found = {c: (n, ph) for c, n, ph in rows}
        problems = [f"{c}: missing" for c in acked if c not in found]
        problems += [f"{c}: routed {n}x, {ph} public photos" for c, (n, ph) in found.items() if n != 1 or ph != 1]
        if not problems:
            break
        time.sleep(1)
    if not acked:
        problems = []
    lag = cluster.sql(
        "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
        "THEN 0 ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END",
        replica=True,
    )[0][0]
    on_replica = cluster.sql(f"SELECT count(*) FROM reports WHERE code IN ({codes or 'NULL'})", replica=True)[0][0]
    import requests

    for code in list(acked)[:3]:  # photos readable through the public URLs clients get
        photos = requests.get(f"{LB}/api/v1/reports/{code}", timeout=10).json().get("photos") or []
        url = photos[0].get("thumb_url") if photos else None
        if url and url.startswith("/"):  # a stable URL on our server, redirecting to storage
            url = LB + url
        got = requests.get(url, timeout=10) if url else None
        if got is None or got.status_code != 200 or got.content[:2] != b"\xff\xd8":
            problems.append(f"{code}: public photo not readable")
    runs = cluster.cron_runs()
    return {
        "problems": problems,
        "replica_lag_s": float(lag or 0),
        "on_replica": on_replica,
        "haproxy": cluster.haproxy_status(),
        "cron_runs": len(runs),
        "cron_duplicates": len(runs) - len(set(runs)),
    }


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "up"
    why = usable() if mode in ("up", "load", "chaos") else None
    if why:
        print(f"[cluster] cannot run: {why}")
        return 2
    cluster = Cluster()
    if mode == "up":
        cluster.up()
        print(
            f"[cluster] up: HAProxy {LB} (api1 {ip('fr-api1')}, api2 {ip('fr-api2')}), primary "
            f"{ip('fr-db1')}, replica {ip('fr-db2')}, Redis + S3 {ip('fr-svc')}; logs in {cluster.dir}"
        )
    elif mode in ("load", "chaos"):
        out = load(cluster, chaos=mode == "chaos")
        result = reconcile(cluster, out["acked"])
        print(
            f"[cluster] {mode}: {len(out['acked'])} reports acknowledged, {out['reads']} reads, "
            f"client errors {len(out['errors'])} ({sorted(set(out['errors']))}) -> {result}"
        )
        return 1 if result["problems"] else 0
    elif mode == "down":
        cluster.down()
        print("[cluster] down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
