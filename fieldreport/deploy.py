"""Start-up check of a deployment: outside demo mode, no demo account keeps a demo password.

`make run` (scripts/stack.py) runs in demo mode and seeds accounts with a well-known password.
Anywhere else every long-running process refuses to start while one of those accounts can
still sign in with it: the API server (gunicorn's on_starting hook, config/gunicorn.conf.py),
the RQ worker and the periodic process (workers/main.py) all call refuse_demo_passwords.
"""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from config.settings import Config
from fieldreport import security
from fieldreport.models import User
from fieldreport.services.demo import DEFAULT_DEMO_PASSWORD, DEMO_USERNAMES


def demo_passwords(config: Config) -> set[str]:
    return {p for p in (DEFAULT_DEMO_PASSWORD, config.DEMO_PASSWORD) if p}


def accounts_with_demo_passwords(session: Session, passwords: set[str]) -> list[str]:
    """The active demo accounts that a demo password still opens."""
    rows = session.execute(
        select(User.username, User.password_hash).where(User.username.in_(DEMO_USERNAMES), User.active)
    ).all()
    return sorted(name for name, pw_hash in rows if any(security.verify_password(pw_hash, p) for p in passwords))


def refuse_demo_passwords(config: Config) -> None:
    """Exit with a clear message when demo mode is off and demo passwords are in place."""
    if config.DEMO_MODE:
        return
    engine = create_engine(config.DATABASE_URL, connect_args={"connect_timeout": config.DB_CONNECT_TIMEOUT})
    try:
        with Session(engine) as session:
            found = accounts_with_demo_passwords(session, demo_passwords(config))
    except SQLAlchemyError:
        return  # no database (yet): /readyz says so, and a new database has no demo accounts
    finally:
        engine.dispose()
    if found:
        raise SystemExit(
            "fieldreport refuses to start: FIELDREPORT_DEMO_MODE is off, and these demo accounts "
            f"still have the demo password: {', '.join(found)}. Give each a new password "
            "(flask create-user NAME --role ROLE) or deactivate it (flask deactivate-user NAME); "
            "for a demo, set FIELDREPORT_DEMO_MODE=1."
        )
