"""Unbound singletons (database, API, Redis queues, object storage) bound by init_app."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from fieldreport.media.storage import Storage
from fieldreport.queue import Queues


class Database:
    """The engine and the request/job-scoped session (the unit of work)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory = sessionmaker(expire_on_commit=False)
        self.session: scoped_session[Session] = scoped_session(self._factory)

    def init_app(self, app: Flask) -> None:
        cfg = app.config
        # Bounded waits: connecting to a dead server, or waiting for a free pooled connection,
        # fails in seconds; keepalives notice a peer that vanished without closing.
        self.engine = create_engine(
            cfg["DATABASE_URL"], pool_size=cfg["DB_POOL_SIZE"], pool_pre_ping=True, future=True,
            pool_timeout=cfg["DB_CONNECT_TIMEOUT"] + 2,
            connect_args={"connect_timeout": cfg["DB_CONNECT_TIMEOUT"], "keepalives": 1,
                          "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3},
        )
        self._factory.configure(bind=self.engine)
        app.teardown_appcontext(lambda exc: self.session.remove())
        app.extensions["db"] = self

    def bind_to(self, connection, **options) -> None:
        """Point the session at one connection (tests roll back around each case)."""
        self.session.remove()
        self._factory.configure(bind=connection, **options)

    def dispose_after_fork(self) -> None:
        """A forked worker must not share the parent's sockets."""
        if self.engine is not None:
            self.engine.dispose(close=False)


db = Database()
api = Api()
queues = Queues()
storage = Storage()
