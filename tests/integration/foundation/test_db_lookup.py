"""``Database.lookup``: the point-read path of the hottest public reads, on both backends."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from sqlalchemy import insert, update

from atlas.db import Database
from atlas.users.tables import users

SQL = "SELECT wallet, display_name, created_at FROM users WHERE wallet = :wallet"
WALLET = "0x" + "ab" * 20


async def _add_user(db: Database, at: datetime) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(users).values(wallet=WALLET, chain="eip155:1", referral_code="LOOKUP01", created_at=at, updated_at=at)
        )


async def test_lookup_sees_committed_rows_with_aware_timestamps(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert await db.lookup(SQL, {"wallet": WALLET}, datetimes=("created_at",)) is None
        at = datetime(2026, 11, 26, 10, 30, 5, 123456, tzinfo=UTC)
        await _add_user(db, at)
        row = await db.lookup(SQL, {"wallet": WALLET}, datetimes=("created_at",))
        assert row == {"wallet": WALLET, "display_name": None, "created_at": at}
        assert row is not None and row["created_at"].utcoffset() is not None
    finally:
        await db.dispose()


async def test_lookup_never_sees_an_open_write_transaction(database_url: str) -> None:
    db = Database(database_url)
    try:
        await _add_user(db, datetime(2026, 1, 1, tzinfo=UTC))
        async with db.write() as conn:
            await conn.execute(update(users).where(users.c.wallet == WALLET).values(display_name="pending"))
            row = await db.lookup(SQL, {"wallet": WALLET})
            assert row is not None and row["display_name"] is None  # not committed yet
        row = await db.lookup(SQL, {"wallet": WALLET})
        assert row is not None and row["display_name"] == "pending"
    finally:
        await db.dispose()


async def test_lookup_cannot_write(database_url: str) -> None:
    db = Database(database_url)
    try:
        await _add_user(db, datetime(2026, 1, 1, tzinfo=UTC))
        if db.is_sqlite:
            # The in-loop connection is read-only: a write through it is refused by SQLite itself.
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await db.lookup("UPDATE users SET display_name = 'x' WHERE wallet = :wallet RETURNING wallet", {"wallet": WALLET})
        row = await db.lookup(SQL, {"wallet": WALLET})
        assert row is not None and row["display_name"] is None
    finally:
        await db.dispose()


async def test_sqlite_reads_run_on_the_loop_and_see_only_committed_state(database_url: str) -> None:
    import threading

    from sqlalchemy import select

    db = Database(database_url)
    try:
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
    finally:
        await db.dispose()
