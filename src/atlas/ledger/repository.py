"""All of the ledger's SQL. Every function takes the caller's AsyncConnection (and transaction)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.ledger import merkle
from atlas.ledger.entries import LedgerEntry
from atlas.ledger.tables import ledger_checkpoints, ledger_entries, ledger_head

_E = ledger_entries.c
_COLS = (_E.seq, _E.event_id, _E.event_type, _E.actor, _E.payload, _E.timestamp, _E.prev_hash, _E.hash)

# The writer's per-batch statements, built once (building a Core statement and its cache key on
# every call cost more CPU than running it).
_BY_EVENT_ID = select(*_COLS).where(_E.event_id == bindparam("event_id"))
_BY_EVENT_IDS = select(*_COLS).where(_E.event_id.in_(bindparam("event_ids", expanding=True)))
_HEAD = select(ledger_head.c.tree_size, ledger_head.c.head_hash).where(ledger_head.c.id == 1)
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
_SET_HEAD = (
    update(ledger_head)
    .where(ledger_head.c.id == 1)
    .values(tree_size=bindparam("new_size"), head_hash=bindparam("new_hash"))
)


async def get_by_seq(conn: AsyncConnection, seq: int) -> LedgerEntry | None:
    row = (await conn.execute(select(*_COLS).where(_E.seq == seq))).first()
    return LedgerEntry.from_row(row) if row else None


async def get_by_event_id(conn: AsyncConnection, event_id: str) -> LedgerEntry | None:
    row = (await conn.execute(_BY_EVENT_ID, {"event_id": event_id})).first()
    return LedgerEntry.from_row(row) if row else None


async def get_many_by_event_id(conn: AsyncConnection, event_ids: Sequence[str]) -> dict[str, LedgerEntry]:
    out: dict[str, LedgerEntry] = {}
    for i in range(0, len(event_ids), 500):
        part = event_ids[i : i + 500]
        for row in await conn.execute(_BY_EVENT_IDS, {"event_ids": list(part)}):
            out[row.event_id] = LedgerEntry.from_row(row)
    return out


async def entries_after(conn: AsyncConnection, after: int, limit: int) -> list[LedgerEntry]:
    """Entries with ``seq > after`` in order (``after = -1`` starts at seq 0)."""
    rows = await conn.execute(select(*_COLS).where(_E.seq > after).order_by(_E.seq).limit(limit))
    return [LedgerEntry.from_row(r) for r in rows]


async def tree_size(conn: AsyncConnection) -> int:
    """The number of entries (seq 0 … size−1), from the head row."""
    return int((await conn.execute(select(ledger_head.c.tree_size).where(ledger_head.c.id == 1))).scalar_one())


async def count_entries(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(ledger_entries))).scalar_one())


async def stream_rows(conn: AsyncConnection, *, after: int = -1, batch: int = 5000) -> AsyncIterator[Any]:
    """Rows in seq order, fetched in keyset pages so memory stays flat on any backend."""
    while True:
        rows = (
            await conn.execute(select(*_COLS).where(_E.seq > after).order_by(_E.seq).limit(batch))
        ).all()
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].seq


# --- writing (the writer's transaction) ---


async def plan_per_call(conn: AsyncConnection) -> None:
    """PostgreSQL: plan this transaction's statements for their actual parameters and table size.

    asyncpg prepares statements; a generic plan chosen while the table was empty (a sequential
    scan for the batch's event-id lookup) would otherwise stick as the ledger grows.
    """
    await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


async def lock_head(conn: AsyncConnection, *, for_update: bool) -> tuple[int, str]:
    row = (await conn.execute(_HEAD_FOR_UPDATE if for_update else _HEAD)).one()
    return int(row.tree_size), str(row.head_hash)


async def set_head(conn: AsyncConnection, size: int, head_hash: str) -> None:
    await conn.execute(_SET_HEAD, {"new_size": size, "new_hash": head_hash})


_ENTRY_FIELDS = ("seq", "event_id", "event_type", "actor", "payload", "timestamp", "prev_hash", "hash")


def _placeholders(conn: AsyncConnection, n: int) -> str:
    if conn.dialect.paramstyle == "qmark":
        return ", ".join("?" * n)
    return ", ".join(f"${i}" for i in range(1, n + 1))  # asyncpg: numeric_dollar


async def insert_entries(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
    """Rows are tuples in ``_ENTRY_FIELDS`` order; a driver-level executemany (the hot path)."""
    if rows:
        # Only fixed column names and placeholders are interpolated; values travel as parameters.
        sql = f"INSERT INTO ledger_entries ({', '.join(_ENTRY_FIELDS)}) VALUES ({_placeholders(conn, 8)})"  # noqa: S608 - fixed names and placeholders only
        await conn.exec_driver_sql(sql, rows)


async def insert_nodes(conn: AsyncConnection, nodes: list[tuple[int, int, bytes]]) -> None:
    """Interior nodes (level ≥ 1); leaf hashes are recomputed from their entries when needed."""
    if nodes:
        sql = f"INSERT INTO ledger_nodes (level, idx, hash) VALUES ({_placeholders(conn, 3)})"  # noqa: S608 - placeholders only
        await conn.exec_driver_sql(sql, nodes)


async def get_nodes(conn: AsyncConnection, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The hashes of complete subtrees ``keys`` in at most two queries (proofs need O(log n))."""
    wanted = list(dict.fromkeys(keys))
    out: dict[tuple[int, int], bytes] = {}
    leaves = [idx for lvl, idx in wanted if lvl == 0]
    inner = [(lvl, idx) for lvl, idx in wanted if lvl > 0]
    if leaves:
        for row in await conn.execute(select(*_COLS).where(_E.seq.in_(leaves))):
            out[(0, row.seq)] = merkle.leaf_hash(LedgerEntry.from_row(row).canonical_body())
    if inner:
        # An OR of primary-key equalities, as plain SQL: both SQLite and PostgreSQL answer it with
        # index lookups (SQLite scans the table for a row-value IN (VALUES …)), and building it as
        # text skips SQLAlchemy's per-call expression construction on this latency-critical path.
        qmark = conn.dialect.paramstyle == "qmark"
        terms = []
        params: list[int] = []
        for lvl, idx in inner:
            if qmark:
                terms.append("(level = ? AND idx = ?)")
            else:
                terms.append(f"(level = ${len(params) + 1} AND idx = ${len(params) + 2})")
            params += (lvl, idx)
        sql = "SELECT level, idx, hash FROM ledger_nodes WHERE " + " OR ".join(terms)  # noqa: S608 - placeholders only
        for node in (await conn.exec_driver_sql(sql, tuple(params))).all():
            level, index, digest = tuple(node)
            out[(int(level), int(index))] = bytes(digest)
    return out


# --- checkpoints ---


async def latest_checkpoint(conn: AsyncConnection) -> Any:
    c = ledger_checkpoints.c
    return (await conn.execute(select(c.tree_size, c.root_hash, c.note).order_by(c.tree_size.desc()).limit(1))).first()


async def insert_checkpoint(conn: AsyncConnection, size: int, root_hex: str, note: str, at: datetime) -> bool:
    """Insert unless a checkpoint for that size exists (another process may have signed it)."""
    c = ledger_checkpoints.c
    exists = (await conn.execute(select(c.tree_size).where(c.tree_size == size))).first()
    if exists:
        return False
    dialect = conn.dialect.name
    values = {"tree_size": size, "root_hash": root_hex, "note": note, "created_at": at}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await conn.execute(pg_insert(ledger_checkpoints).values(values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        await conn.execute(sqlite_insert(ledger_checkpoints).values(values).on_conflict_do_nothing())
    return True
