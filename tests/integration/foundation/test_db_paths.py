"""``Database``'s fast paths: in-loop point reads (``lookup``), in-loop SQLite connections, and a
writer that waits for another process without blocking the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update

from atlas.db import Database
from atlas.users.tables import users

SQL = "SELECT wallet, display_name, created_at FROM users WHERE wallet = :wallet"
WALLET = "0x" + "ab" * 20


def _wal_database(tmp_path: Path) -> tuple[Path, Database]:
    """A SQLite file of its own (whichever backend this run targets) with one table ``t``."""
    path = tmp_path / "own.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (v TEXT)")
    return path, Database(f"sqlite+aiosqlite:///{path}")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def _add_user(db: Database, at: datetime) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(users).values(wallet=WALLET, chain="eip155:1", referral_code="LOOKUP01", created_at=at, updated_at=at)
        )


async def test_lookup_sees_committed_rows_with_aware_timestamps(db: Database) -> None:
    assert await db.lookup(SQL, {"wallet": WALLET}, datetimes=("created_at",)) is None
    at = datetime(2026, 11, 26, 10, 30, 5, 123456, tzinfo=UTC)
    await _add_user(db, at)
    row = await db.lookup(SQL, {"wallet": WALLET}, datetimes=("created_at",))
    assert row == {"wallet": WALLET, "display_name": None, "created_at": at}
    assert row is not None
    assert row["created_at"].utcoffset() is not None


async def test_lookup_never_sees_an_open_write_transaction(db: Database) -> None:
    await _add_user(db, datetime(2026, 1, 1, tzinfo=UTC))
    async with db.write() as conn:
        await conn.execute(update(users).where(users.c.wallet == WALLET).values(display_name="pending"))
        row = await db.lookup(SQL, {"wallet": WALLET})
        assert row is not None
        assert row["display_name"] is None
    row = await db.lookup(SQL, {"wallet": WALLET})
    assert row is not None
    assert row["display_name"] == "pending"


async def test_a_read_transaction_sees_one_snapshot(db: Database) -> None:
    """A response built from several queries must not mix states (a points balance and the awards
    behind it, read while the projection commits): a commit between two statements of one read
    transaction stays invisible to it, on either backend."""
    await _add_user(db, datetime(2026, 1, 1, tzinfo=UTC))
    name = select(users.c.display_name).where(users.c.wallet == WALLET)
    async with db.read() as conn:
        assert (await conn.execute(name)).scalar_one() is None
        async with db.write() as writer:
            await writer.execute(update(users).where(users.c.wallet == WALLET).values(display_name="later"))
        assert (await conn.execute(name)).scalar_one() is None, "the second statement saw a later commit"
    async with db.read() as conn:
        assert (await conn.execute(name)).scalar_one() == "later"


async def test_lookup_cannot_write(db: Database) -> None:
    await _add_user(db, datetime(2026, 1, 1, tzinfo=UTC))
    if db.is_sqlite:
        # The in-loop connection is read-only: a write through it is refused by SQLite itself.
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await db.lookup("UPDATE users SET display_name = 'x' WHERE wallet = :wallet RETURNING wallet", {"wallet": WALLET})
    row = await db.lookup(SQL, {"wallet": WALLET})
    assert row is not None
    assert row["display_name"] is None


async def test_sqlite_reads_run_on_the_loop_and_see_only_committed_state(db: Database) -> None:
    await _add_user(db, datetime(2026, 1, 1, tzinfo=UTC))
    threads = threading.active_count()
    async with db.write() as conn:
        await conn.execute(update(users).where(users.c.wallet == WALLET).values(display_name="pending"))
        async with db.read() as reader:
            name = (await reader.execute(select(users.c.display_name).where(users.c.wallet == WALLET))).scalar()
            assert name is None  # the open write transaction is invisible
            if db.is_sqlite:
                raw = await reader.get_raw_connection()
                assert type(raw.driver_connection).__name__ == "_InlineSqlite"
    async with db.read() as reader:
        name = (await reader.execute(select(users.c.display_name).where(users.c.wallet == WALLET))).scalar()
        assert name == "pending"
    if db.is_sqlite:
        assert threading.active_count() <= threads  # no worker thread per read connection


async def test_sqlite_writer_waits_for_another_process_without_blocking_the_loop(tmp_path: Path) -> None:
    # SQLite's single-writer file lock, whichever backend this run targets (PostgreSQL has row locks).

    path, db = _wal_database(tmp_path)
    try:
        async with db.write():
            pass  # the server is up (its writer connected) before the other process starts
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process's write transaction holds the lock
        release = threading.Timer(0.4, lambda: other.execute("COMMIT"))
        release.start()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        started = time.monotonic()
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('1')"))
        waited = time.monotonic() - started
        task.cancel()
        release.join()
        other.close()
        assert waited >= 0.3  # it did wait for the lock ...
        assert ticks >= 15  # ... while the event loop kept running
        assert await db.lookup("SELECT count(*) AS n FROM t", {}) == {"n": 1}
    finally:
        await db.dispose()


async def test_sqlite_wal_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    # The writer has wal_autocheckpoint off; Database must copy the WAL into the database file itself.

    path, db = _wal_database(tmp_path)
    try:
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 100} for _ in range(2000)])
        await asyncio.sleep(1.1)  # past the checkpoint interval: the next commit starts one
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('last')"))
        assert db._checkpointing is not None
        await db._checkpointing
        # ``immutable=1`` reads the database file alone, ignoring the WAL: the rows must be there.
        with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as file_only:
            assert file_only.execute("SELECT count(*) FROM t").fetchone()[0] == 2001
    finally:
        await db.dispose()
