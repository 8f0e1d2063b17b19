"""The local stack's secrets: files under var/ are 0600 from their first byte, and no secret
is on a process command line (which every local user reads in /proc/<pid>/cmdline)."""

from __future__ import annotations

import os
import stat

import pytest
from minio import Minio
from minio.error import InvalidResponseError, S3Error

from scripts import stack


@pytest.fixture()
def var(tmp_path, monkeypatch):
    monkeypatch.setattr(stack, "VAR", tmp_path)
    old = os.umask(0o022)  # the usual umask: files are world-readable unless made otherwise
    yield tmp_path
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_secrets_under_var_are_created_0600(var):
    secret = stack.secret_key()
    key, s3_secret = stack.s3_credentials()
    pem = stack.vapid_key()
    for name in ("secret.key", "s3.key", "vapid_private.pem"):
        assert mode(var / name) == 0o600, name
    # made once: the same values on the next start
    assert (stack.secret_key(), stack.s3_credentials(), stack.vapid_key()) == (secret, (key, s3_secret), pem)


def test_an_older_world_readable_secret_is_tightened_and_kept(var):
    (var / "secret.key").write_text("an-older-secret\n")
    os.chmod(var / "secret.key", 0o644)
    assert stack.secret_key() == "an-older-secret"
    assert mode(var / "secret.key") == 0o600


def test_the_s3_server_has_no_key_on_its_command_line_and_still_checks_it(s3_server):
    with open(f"/proc/{s3_server.proc.pid}/cmdline", "rb") as f:
        cmdline = f.read().decode()
    assert "serve" in cmdline or "server" in cmdline  # it is the S3 server we started
    assert s3_server.secret not in cmdline and s3_server.key not in cmdline
    right = Minio(s3_server.endpoint, access_key=s3_server.key, secret_key=s3_server.secret, secure=False)
    assert isinstance(right.list_buckets(), list)  # the keys from the environment are in force
    wrong = Minio(s3_server.endpoint, access_key=s3_server.key, secret_key="not-the-secret", secure=False)
    with pytest.raises((S3Error, InvalidResponseError), match=r"403|SignatureDoesNotMatch"):
        wrong.list_buckets()


def test_the_cluster_secrets_are_0600_from_their_first_byte(var, monkeypatch):
    """scripts/cluster.py wrote env.json (the cluster's secret key and S3 secret) and redis.conf
    (Redis's password) with the umask's 0644 and chmodded them afterwards: readable by every
    local user in between. With chmod doing nothing, the files must still be 0600."""
    from scripts import cluster

    chmods = []
    monkeypatch.setattr(cluster.os, "chmod", lambda path, m: chmods.append((str(path), m)))
    c = cluster.Cluster(state=var / "cluster")
    c.dir.mkdir()
    c.write_secrets()
    for name in ("env.json", "redis.conf"):
        assert mode(c.dir / name) == 0o600, name
    assert c.s3_secret in (c.dir / "redis.conf").read_text()
    assert cluster.Cluster(state=c.dir).secret == c.secret  # a later command reads them back


def test_an_existing_looser_file_is_tightened_before_it_is_rewritten(var):
    from scripts.procs import write_private

    target = var / "env.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private(target, "new secret")
    assert mode(target) == 0o600 and target.read_text() == "new secret"
    with pytest.raises(FileExistsError):
        write_private(target, "again", exclusive=True)
    assert target.read_text() == "new secret"


def test_an_s3_port_held_by_another_stack_stops_the_start_plainly(var):
    """A second checkout's `make run` used to start rclone, lose the bind and then talk to the
    first checkout's server with its own keys (seed-demo died on AccessDenied)."""
    import socket

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    try:
        with pytest.raises(SystemExit, match="taken by another S3 server"):
            stack.start_s3(held.getsockname()[1])
        assert not (var / "s3").exists()  # nothing started, nothing made
    finally:
        held.close()
