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


def sleep_in_db(seconds: float) -> None:
    """A job stuck in one SQL statement (e.g. waiting on a lock, a runaway query)."""
    from sqlalchemy import text

    from fieldreport.extensions import db

    db.session.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})


def statement_timeout() -> str:
    """The statement_timeout this job's transaction runs under."""
    from sqlalchemy import text

    from fieldreport.extensions import db

    return db.session.execute(text("SHOW statement_timeout")).scalar_one()
