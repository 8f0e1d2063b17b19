"""The unit of work: the one place a use case's transaction commits, then sends its outbox rows.

A use case changes the session (model rows, `events.record`, `outbox.record`) and ends with
`commit()`: flush, commit, then hand every outbox row inserted in that transaction to RQ
(`outbox.dispatch`). A row Redis does not take stays unsent for `outbox.sweep()`; the commit
is what the caller's answer rests on. Nothing else commits: `commit_bookkeeping()` is the
outbox's own mark of rows sent, `own_connection()` a side transaction beside the session (an
export's heartbeat thread), and `tests/unit/test_one_unit_of_work.py` refuses a `.commit()`
or `.begin()` anywhere else in fieldreport/ or workers/.

The rows are found by two listeners that `create_app` installs (`install()`), not an import:
an Outbox insert is remembered on its session; a commit or rollback elsewhere forgets them
(committed: the sweeper sends them; rolled back: they never existed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, object_session

from fieldreport.extensions import db
from fieldreport.models import Outbox
from fieldreport.services import outbox

_NEW = "outbox_new"  # session.info key: the Outbox rows inserted in this transaction
_NO_FLUSH_WAIT = text("SET LOCAL synchronous_commit = off")


def commit() -> int:
    """Commit the use case's transaction, then send its outbox rows; returns how many were sent."""
    db.session.flush()
    rows = db.session.info.pop(_NEW, [])
    db.session.commit()
    return outbox.dispatch(rows) if rows else 0


def commit_bookkeeping() -> None:
    """Commit marks that may be lost in a database crash without harm, not waiting for the WAL flush.

    Only for `outbox.dispatch`'s "sent" marks (a lost mark is one harmless re-send: the RQ job
    id is the row's), so that a use case pays one disk flush, not two.
    """
    db.session.execute(_NO_FLUSH_WAIT)
    db.session.commit()


@contextmanager
def own_connection() -> Iterator[Connection]:
    """A short transaction on a connection of its own, committed on leaving (rolled back on an
    error): bookkeeping from a thread beside a job whose session is busy (an export's heartbeat)."""
    assert db.engine is not None, "create_app first"
    with db.engine.begin() as conn:
        yield conn


def rollback() -> None:
    """Throw the transaction away (and the outbox rows it inserted)."""
    db.session.rollback()


def install() -> None:
    """Install the outbox listeners (by create_app; once per process, whatever the number of apps)."""
    for target, name, fn in _LISTENERS:
        if not sa_event.contains(target, name, fn):
            sa_event.listen(target, name, fn)


def _track(mapper, connection, target: Outbox) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_NEW, []).append(target)


def _forget(session: Session, *args) -> None:
    session.info.pop(_NEW, None)


_LISTENERS = (
    (Outbox, "after_insert", _track),
    (db.session, "after_commit", _forget),
    (db.session, "after_soft_rollback", _forget),
)
