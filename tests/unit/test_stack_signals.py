"""`make run` stopped by signals to its process group leaves nothing running: a second SIGINT
that arrives while stack.stop_all() is stopping the children is ignored, not raised inside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from scripts.procs import descendants
from tests.conftest import ROOT

# A stack.py-like tree: the same signal handling, spawn and stop_all as `make run`, around
# children that take their time to stop (they ignore SIGTERM, so stop_all waits, then kills),
# one of which has a child of its own (gunicorn's arbiter and workers).
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
PARENT = (
    "import subprocess, sys, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    f"subprocess.Popen([sys.executable, '-c', {STUBBORN!r}]); time.sleep(600)"
)
RUN = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from scripts import stack
stack.handle_signals()
try:
    for code in ({STUBBORN!r}, {PARENT!r}):
        stack.children.spawn([sys.executable, "-c", code])
    print("ready", flush=True)
    while True:
        stack.children.supervise()
        time.sleep(0.2)
except KeyboardInterrupt:
    print("stopping", flush=True)
finally:
    stack.stop_all()
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has stopped
    except FileNotFoundError:
        return False


def test_two_sigints_to_the_group_stop_every_descendant():
    stack = subprocess.Popen(
        [sys.executable, "-c", RUN], stdout=subprocess.PIPE, text=True, start_new_session=True, cwd=ROOT
    )
    tree: list[int] = []
    try:
        assert stack.stdout.readline().strip() == "ready"
        while len(tree := descendants(stack.pid)) < 3:  # two children and a grandchild
            time.sleep(0.05)
        os.killpg(stack.pid, signal.SIGINT)
        assert stack.stdout.readline().strip() == "stopping"
        time.sleep(1)  # stop_all is now waiting for children that ignore SIGTERM
        os.killpg(stack.pid, signal.SIGINT)
        stack.wait(60)
        assert [pid for pid in tree if _running(pid)] == []
        assert stack.returncode == 0
    finally:
        for pid in tree:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
