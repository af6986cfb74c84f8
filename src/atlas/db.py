"""Database engines and transactions, on SQLite (embedded default) and PostgreSQL.

SQLite allows one writer at a time. Rather than let concurrent writers collide on ``SQLITE_BUSY``, a
process keeps a single pooled write connection whose transactions start with ``BEGIN IMMEDIATE``:
writers queue on the pool inside asyncio, while reads use separate connections and WAL snapshots.
On PostgreSQL the two roles share one pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Generator, Mapping
from datetime import UTC, datetime
from typing import Any

import aiosqlite
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

_SQLITE_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


_BEGIN_WAIT_SECONDS = 30.0  # how long a write waits for another process's transaction
_CHECKPOINT_INTERVAL = 1.0  # seconds between background WAL checkpoints while writes happen


def _is_busy(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlite_errorcode", None) in _SQLITE_BUSY


def _sqlite_pragmas(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook, not the driver, open transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":  # setting it again needs a lock another writer may hold
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Every connection runs on the event loop (``_InlineSqlite``), so none may sleep in SQLite's
        # busy handler for long: readers wait only while SQLite recovers a WAL after a crash; the
        # writer never waits inside SQLite (``BEGIN IMMEDIATE`` is retried with asyncio sleeps below).
        cursor.execute(f"PRAGMA busy_timeout={0 if immediate else 2000}")
        if immediate:
            # Checkpoints copy the WAL into the database and fsync: ``Database`` runs them on a
            # thread instead of inside whichever commit crosses the threshold.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        # WAL + NORMAL survives a killed process (the contract's bar); an OS crash may lose the
        # last transactions, which docs/deploy.md states.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not immediate:
            conn.exec_driver_sql("BEGIN")
            return
        # Another process (a CLI command) may hold the write lock: wait for it without blocking
        # the event loop.
        deadline = time.monotonic() + _BEGIN_WAIT_SECONDS
        delay = 0.001
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
            await_(asyncio.sleep(delay))
            delay = min(delay * 2, 0.05)


class _RunNow:
    """Stands in for aiosqlite's job queue: runs each job at once and settles its future."""

    def put_nowait(self, job: tuple[asyncio.Future[Any] | None, Any]) -> None:
        future, function = job
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as aiosqlite's thread does
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class _InlineSqlite(aiosqlite.Connection):
    """aiosqlite's interface, run right on the event loop instead of on a worker thread.

    Each hand-off to aiosqlite's thread and back costs more CPU than the statements it carries
    (measured here: a pooled connect + one SELECT + release took 881 µs of CPU through the thread and
    388 µs inline; the GIL ping-pong with that thread was the largest single item in the sign-in and
    chat profiles). Nothing here waits on a lock inside SQLite: WAL readers never wait for the writer,
    the writer's ``BEGIN IMMEDIATE`` retries with asyncio sleeps, and WAL checkpoints (the fsyncs)
    run on a thread of their own (``Database._checkpoint``).
    """

    def __init__(self, connector: Any) -> None:
        super().__init__(connector, 64)
        self._tx = _RunNow()  # type: ignore[assignment] # SQLAlchemy's adapter queues some calls itself

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> _InlineSqlite:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, _InlineSqlite]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def make_engine(url: str, *, role: str = "write") -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {}
        if database and database != ":memory:":

            async def inline_connection() -> Any:
                # A short connect-time busy timeout: this runs on the event loop (see _on_connect).
                return await _InlineSqlite(lambda: sqlite3.connect(database, timeout=2, check_same_thread=False))

            options["async_creator"] = inline_connection
        engine = create_async_engine(
            url,
            pool_size=1 if role == "write" else 4,
            max_overflow=0,
            pool_timeout=120,
            connect_args={"timeout": 30, "check_same_thread": False},
            **options,
        )
        _sqlite_pragmas(engine, immediate=role == "write")
        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_timeout=60)
    _ping_idle_connections(engine)
    return engine


_PING_AFTER_IDLE = 1.0  # seconds a pooled PostgreSQL connection may rest before it is pinged


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """``pool_pre_ping`` for connections that rested, not for every checkout.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip and its CPU on every transaction, a measurable
    share of the chat hot path. A connection handed back a moment ago is as alive as a ping would
    say; one that rested (say across a server restart) is pinged and, if dead, replaced by the pool
    before anyone uses it. A connection that dies mid-use fails that statement: the error becomes a
    503 (``errors.py``) and SQLAlchemy drops the pool's other connections of that generation.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["atlas_idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("atlas_idle_since")
        if since is None or time.monotonic() - since < _PING_AFTER_IDLE:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("connection lost while idle") from exc
        if not alive:
            raise DisconnectionError("connection lost while idle")


class Database:
    """The process's engines. ``write`` transactions are serialised on SQLite; ``read`` ones are not."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.write_engine = make_engine(url, role="write")
        self.read_engine = make_engine(url, role="read") if self.is_sqlite else self.write_engine
        database = make_url(url).database or ""
        # The SQLite file, for point reads (``lookup``) and WAL checkpoints; in-memory databases have none.
        self._sqlite_file = database if self.is_sqlite and database not in ("", ":memory:") else None
        self._lookup_conn: sqlite3.Connection | None = None
        self._texts: dict[str, Any] = {}
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpointing: asyncio.Future[None] | None = None
        self._last_checkpoint = 0.0

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with self.write_engine.begin() as conn:
            yield conn
        if self._sqlite_file is not None:
            self._maybe_checkpoint()

    def _maybe_checkpoint(self) -> None:
        now = time.monotonic()
        if now - self._last_checkpoint < _CHECKPOINT_INTERVAL:
            return
        if self._checkpointing is not None and not self._checkpointing.done():
            return
        self._last_checkpoint = now
        self._checkpointing = asyncio.ensure_future(asyncio.to_thread(self._checkpoint))

    def _checkpoint(self) -> None:
        """PASSIVE: copies what it can without waiting for (or blocking) readers and the writer."""
        if self._checkpoint_conn is None:
            self._checkpoint_conn = sqlite3.connect(
                self._sqlite_file or "", isolation_level=None, check_same_thread=False, timeout=0
            )
        with contextlib.suppress(sqlite3.OperationalError):  # busy: the next commit schedules another
            self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    @contextlib.asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A write connection outside any transaction: each statement commits by itself (no BEGIN
        or COMMIT round trips), for callers whose every write is one statement."""
        async with self.write_engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """One read transaction over a single snapshot: every statement in it sees the same
        committed state, so a response built from several queries is consistent (a balance and the
        awards behind it, say). SQLite's WAL read transactions work that way already; PostgreSQL's
        default READ COMMITTED takes a new snapshot per statement, hence REPEATABLE READ there (no
        extra round trip: it is part of the BEGIN; a read-only transaction never fails under it)."""
        async with self.read_engine.connect() as conn:
            if not self.is_sqlite:
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield conn

    async def lookup(
        self, sql: str, params: Mapping[str, Any], *, datetimes: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        """At most one row of a read-only query by an indexed key (``:name`` parameters).

        For the hottest public reads. On SQLite the query runs right here on the event loop, on a
        read-only connection of its own: an indexed lookup takes tens of microseconds in SQLite's C
        code, while handing it to aiosqlite's thread and back (plus SQLAlchemy's statement layer) costs
        ten times that in CPU. WAL readers never wait for the writer; the short busy timeout only
        matters while SQLite recovers a WAL after a crash, and then the query takes the pooled path.
        The columns named in ``datetimes`` come back as aware UTC ``datetime`` on both backends.
        """
        if self._sqlite_file is not None:
            try:
                return self._sqlite_lookup(sql, params, datetimes)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) not in _SQLITE_BUSY:
                    raise
                # busy (WAL recovery): the pooled path waits its full timeout, off the loop
        stmt = self._texts.get(sql)
        if stmt is None:
            stmt = self._texts[sql] = text(sql)
        async with self.read_engine.connect() as conn:
            row = (await conn.execute(stmt, dict(params))).mappings().first()
            return dict(row) if row is not None else None

    def _sqlite_lookup(self, sql: str, params: Mapping[str, Any], datetimes: tuple[str, ...]) -> dict[str, Any] | None:
        conn = self._lookup_conn
        if conn is None:
            # isolation_level=None: each SELECT is its own snapshot, nothing is held open between calls.
            conn = sqlite3.connect(self._sqlite_file or "", isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=50")
            conn.row_factory = sqlite3.Row
            self._lookup_conn = conn
        row = conn.execute(sql, params).fetchone()
        if row is None:
            return None
        found = dict(zip(row.keys(), row, strict=True))
        for key in datetimes:
            if isinstance(found.get(key), str):
                # SQLAlchemy keeps DateTime on SQLite as ISO text in UTC, without an offset.
                moment = datetime.fromisoformat(found[key])
                found[key] = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return found

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
        if self._sqlite_file is not None:
            await asyncio.to_thread(self._checkpoint)  # leave a short WAL behind
        if self._checkpoint_conn is not None:
            self._checkpoint_conn.close()
            self._checkpoint_conn = None
        if self._lookup_conn is not None:
            self._lookup_conn.close()
            self._lookup_conn = None
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()

