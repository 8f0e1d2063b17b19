"""Unbound singletons (database, API, Redis queues, object storage) bound by init_app."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, request
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from fieldreport.api.spec import Api
from fieldreport.breaker import Breaker
from fieldreport.media.storage import Storage
from fieldreport.queue import Queues

# Reads that may lag behind the primary by a moment: public lists and maps, dashboards,
# Open311 GETs, indicator exports. Everything else — every write, a citizen's view of their
# own fresh report, Open311 token lookups right after a POST, staff queues — reads the primary.
LAG_TOLERANT = (
    "categories.",
    "reports.Reports",
    "reports.NearbyReports",
    "indicators.Indicators",
    "indicators.ExportCsv",
    "indicators.ExportXlsx",
    "web.maps.",
    "web.dashboard.",
    "web.public.",
    "open311.discovery",
    "open311.services",
    "open311.service_definition",
    "open311.list_requests",
    "open311.get_request",
    "open311.list_updates",
)
# Every session without PostgreSQL's JIT: for short OLTP statements whose cost is estimated
# high (a 10 km near-me page at 1M reports: 0.5 s of work, 5.2 s compiling it) the JIT
# costs far more than it saves (issue 20). The indicator queries already turned it off.
# Statements prepared by db.prepared() (hot lookups: point → commune, routing) keep one
# generic plan instead of being planned again on each of their first executions.
SESSION_OPTIONS = "-c jit=off -c plan_cache_mode=force_generic_plan"
_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


# A pooled connection idle for longer than this is pinged before use (SQLAlchemy's
# pre-ping, but not for one checked in moments ago: a busy worker or server thread reuses
# its connection every few milliseconds, and a ping per checkout was one more round trip
# per transaction, 2 of a routing job's ~20; issue 20).
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn, record) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, proxy) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
        except Exception as exc:  # any failure: the pool replaces the connection
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


class _RoutingSession(Session):
    """Sends the statements of a lag-tolerant read to the replica engine, when there is one."""

    replica: Engine | None = None

    def get_bind(self, mapper=None, **kw):
        if (
            self.replica is not None and _replica_reads.get() and not isinstance(self.bind, Connection)
        ):  # tests bind one connection
            return self.replica
        return super().get_bind(mapper, **kw)


class Database:
    """The engine and the request/job-scoped session (the unit of work)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.read_engine: Engine | None = None
        self.breaker = Breaker()
        self._factory = sessionmaker(class_=_RoutingSession, expire_on_commit=False)
        self.session: scoped_session[_RoutingSession] = scoped_session(self._factory)

    def init_app(self, app: Flask) -> None:
        cfg = app.config
        self.breaker = Breaker(cfg["BREAKER_FAILURES"], cfg["BREAKER_OPEN_SECONDS"])
        options = SESSION_OPTIONS
        if cfg.get("DB_STATEMENT_TIMEOUT"):
            options += f" -c statement_timeout={int(cfg['DB_STATEMENT_TIMEOUT']) * 1000}"
        # Bounded waits: connecting to a dead server, or waiting for a free pooled connection,
        # fails in seconds; keepalives notice a peer that vanished without closing.
        self.engine = create_engine(
            cfg["DATABASE_URL"],
            pool_size=cfg["DB_POOL_SIZE"],
            future=True,
            pool_timeout=cfg["DB_CONNECT_TIMEOUT"] + 2,
            connect_args={
                "connect_timeout": cfg["DB_CONNECT_TIMEOUT"],
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
                "options": options,
            },
        )
        _ping_when_idle(self.engine)
        self._guard(self.engine)
        self._factory.configure(bind=self.engine)
        if cfg.get("DATABASE_READ_URL"):  # a streaming replica (hot standby) for lagging reads
            self.read_engine = create_engine(
                cfg["DATABASE_READ_URL"],
                pool_size=cfg["DB_POOL_SIZE"],
                pool_timeout=cfg["DB_CONNECT_TIMEOUT"] + 2,
                connect_args={"connect_timeout": cfg["DB_CONNECT_TIMEOUT"], "options": options},
            )
            _ping_when_idle(self.read_engine)
        _RoutingSession.replica = self.read_engine
        app.before_request(self._route_reads)
        app.teardown_appcontext(lambda exc: self.session.remove())
        app.extensions["db"] = self

    def _guard(self, engine: Engine) -> None:
        """New connections to the primary go through the breaker: while PostgreSQL is down or
        hung, a request fails at once (503) instead of waiting DB_CONNECT_TIMEOUT each time.
        Pooled connections are checked by pre-ping, which reconnects through here."""
        breaker = self.breaker

        @event.listens_for(engine, "do_connect")
        def _connect(dialect, conn_rec, cargs, cparams):
            if not breaker.allow():
                raise dialect.loaded_dbapi.OperationalError("database unavailable (circuit open)")
            try:
                conn = dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.OperationalError:
                breaker.failure()
                raise
            breaker.success()
            return conn

    def _route_reads(self) -> None:
        endpoint = request.endpoint or ""
        _replica_reads.set(request.method in ("GET", "HEAD") and endpoint.startswith(LAG_TOLERANT))

    @contextmanager
    def lagging_reads(self):
        """Statements inside go to the replica (when configured): for jobs that only read."""
        token = _replica_reads.set(True)
        try:
            yield
        finally:
            _replica_reads.reset(token)

    @contextmanager
    def primary(self):
        """Statements inside go to the primary, even in a lag-tolerant request (its writes)."""
        token = _replica_reads.set(False)
        try:
            yield
        finally:
            _replica_reads.reset(token)

    def prepared(self, name: str, types: tuple[str, ...], sql: str, args: tuple) -> Sequence[tuple]:
        """The rows of `sql` ($1, $2… placeholders of `types`) run as a server-side prepared
        statement in the session's transaction: parsed and planned once per connection, then
        only executed (for hot single-row lookups, where planning costs more than running).
        A connection remembers what it prepared for as long as it lives (pool info)."""
        fairy = self.session.connection().connection
        done = fairy.info.setdefault("prepared", set())
        cur = fairy.cursor()
        try:
            if name not in done:
                cur.execute(f"PREPARE {name} ({', '.join(types)}) AS {sql}")
                done.add(name)
            cur.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(args))})", args)
            return cur.fetchall()
        finally:
            cur.close()

    def bind_to(self, connection, **options) -> None:
        """Point the session at one connection (tests roll back around each case)."""
        self.session.remove()
        self._factory.configure(bind=connection, **options)

    def dispose_after_fork(self) -> None:
        """A forked worker must not share the parent's sockets."""
        for engine in (self.engine, self.read_engine):
            if engine is not None:
                engine.dispose(close=False)


db = Database()
api = Api()
queues = Queues()
storage = Storage()
