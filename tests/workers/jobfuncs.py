"""Job functions for the worker tests only (RQ imports them by dotted path in the worker)."""

from __future__ import annotations

import os

from flask import g


def whoami(mark: str) -> dict:
    """The process that ran the job, and what an earlier job left on flask.g (should be nothing)."""
    left = g.get("test_mark")
    g.test_mark = mark
    return {"pid": os.getpid(), "left_by_earlier_job": left}


def explode() -> None:
    raise RuntimeError("this job fails on purpose")
