"""All chat SQL but the PostgreSQL-only batch statements (repository_pg). Core only; the message hot path
works on whole batches (one statement per table)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.chat.tables import conversations, device_cursors, members, messages, payloads
from atlas.kit.pairs import PairMatch


def _insert(conn: AsyncConnection, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


# --- conversations ---------------------------------------------------------------------------


async def get_conversation(conn: AsyncConnection, conversation_id: str, *, lock: bool = False) -> Any:
    stmt = select(conversations).where(conversations.c.id == conversation_id)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def get_conversation_by_pair(conn: AsyncConnection, wallet_a: str, wallet_b: str) -> Any:
    stmt = select(conversations).where(conversations.c.wallet_a == wallet_a, conversations.c.wallet_b == wallet_b)
    return (await conn.execute(stmt)).first()


async def insert_conversation(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """Insert unless the pair already has one (a concurrent creator may win); True if inserted."""
    stmt = _insert(conn, conversations).values(**row).on_conflict_do_nothing(index_elements=["wallet_a", "wallet_b"])
    result = await conn.execute(stmt)
    if result.rowcount != 1:
        return False
    await conn.execute(
        _insert(conn, members),
        [
            {"wallet": row["wallet_a"], "conversation_id": row["id"], "peer": row["wallet_b"], "read_up_to": 0},
            {"wallet": row["wallet_b"], "conversation_id": row["id"], "peer": row["wallet_a"], "read_up_to": 0},
        ],
    )
    return True


async def count_initiated_since(conn: AsyncConnection, wallet: str, since_ms: int) -> int:
    stmt = select(func.count()).where(conversations.c.initiator == wallet, conversations.c.created_ms >= since_ms)
    return int((await conn.execute(stmt)).scalar_one())


async def set_state(
    conn: AsyncConnection, conversation_id: str, *, state: str, blocked_by: str | None, at_ms: int
) -> None:
    await conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(state=state, blocked_by=blocked_by, last_activity_ms=at_ms)
    )


# Hot-path statements are built once: a statement object built per call costs SQLAlchemy its
# construction, the coercion of every IN-list element and a fresh cache key, on every batch.
_BY_IDS = select(conversations).where(conversations.c.id.in_(bindparam("ids", expanding=True)))
_LOCK_BY_IDS = _BY_IDS.order_by(conversations.c.id)
_LOCK_BY_IDS_PG = _LOCK_BY_IDS.with_for_update()
_ADVANCE = (
    update(conversations)
    .where(conversations.c.id == bindparam("cid"))
    .values(last_seq=bindparam("last_seq"), last_activity_ms=bindparam("at"))
)


async def lock_conversations(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, Any]:
    """Rows for seq allocation. On PostgreSQL they are locked in id order (no deadlocks between
    processes); on SQLite the writer's BEGIN IMMEDIATE already serialises."""
    ordered = sorted(set(ids))
    stmt = _LOCK_BY_IDS_PG if conn.dialect.name == "postgresql" else _LOCK_BY_IDS
    return {row.id: row for row in (await conn.execute(stmt, {"ids": ordered})).all()}


async def conversations_by_ids(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, Any]:
    return {row.id: row for row in (await conn.execute(_BY_IDS, {"ids": sorted(set(ids))})).all()}


async def advance_conversations(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """rows: [{"cid", "last_seq", "at"}]."""
    if not rows:
        return
    await conn.execute(_ADVANCE, rows)


# --- messages --------------------------------------------------------------------------------


_EXISTING = PairMatch(
    messages.c.conversation_id,
    messages.c.client_msg_id,
    select(
        messages.c.conversation_id, messages.c.client_msg_id, messages.c.seq, messages.c.server_ts_ms, messages.c.sender
    ).where,
)


async def existing_client_ids(
    conn: AsyncConnection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    if not keys:
        return {}
    found: dict[tuple[str, str], Any] = {}
    for stmt, params in _EXISTING.chunks(sorted(set(keys)), dialect=conn.dialect.name):
        found.update(((r.conversation_id, r.client_msg_id), r) for r in (await conn.execute(stmt, params)).all())
    return found


_INSERT_SQL: dict[tuple[str, str], str] = {}


def _insert_all_columns(conn: AsyncConnection, table: Any) -> str:
    """The dialect's ``INSERT`` of every column of ``table`` in table order, compiled once.

    Run through ``exec_driver_sql`` with positional rows it is the same driver ``executemany`` that
    ``conn.execute(table.insert(), dicts)`` ends in (neither SQLite nor asyncpg batches executemany
    INSERTs without RETURNING into one statement), minus SQLAlchemy's per-row parameter processing,
    which is a measurable share of the message hot path.
    """
    key = (conn.dialect.name, table.name)
    sql = _INSERT_SQL.get(key)
    if sql is None:
        sql = _INSERT_SQL[key] = str(table.insert().compile(dialect=conn.dialect))
    return sql


#: Column order of the rows :func:`insert_messages` takes (the tables' own order).
MESSAGE_COLUMNS = tuple(c.name for c in messages.columns)
PAYLOAD_COLUMNS = tuple(c.name for c in payloads.columns)


async def insert_messages(
    conn: AsyncConnection, message_rows: list[tuple[Any, ...]], payload_rows: list[tuple[Any, ...]]
) -> None:
    """Rows are tuples in ``MESSAGE_COLUMNS`` / ``PAYLOAD_COLUMNS`` order."""
    if message_rows:
        await conn.exec_driver_sql(_insert_all_columns(conn, messages), message_rows)
    if payload_rows:
        await conn.exec_driver_sql(_insert_all_columns(conn, payloads), payload_rows)


_MESSAGE_COLS = (
    messages.c.conversation_id,
    messages.c.seq,
    messages.c.client_msg_id,
    messages.c.sender,
    messages.c.sender_device,
    messages.c.server_ts_ms,
)
_MESSAGES_BY_KEY = PairMatch(messages.c.conversation_id, messages.c.seq, select(*_MESSAGE_COLS).where)
_PAYLOAD_COLS = (payloads.c.conversation_id, payloads.c.seq, payloads.c.device_id, payloads.c.kind, payloads.c.body)
_PAYLOADS_BY_KEY = PairMatch(payloads.c.conversation_id, payloads.c.seq, select(*_PAYLOAD_COLS).where)
_DEVICE_PAYLOADS_BY_KEY = PairMatch(
    payloads.c.conversation_id,
    payloads.c.seq,
    lambda match: select(*_PAYLOAD_COLS).where(match, payloads.c.device_id == bindparam("device_id")),
)


async def history(conn: AsyncConnection, conversation_id: str, *, before: int | None, limit: int) -> list[Any]:
    stmt = select(*_MESSAGE_COLS).where(messages.c.conversation_id == conversation_id)
    if before is not None:
        stmt = stmt.where(messages.c.seq < before)
    rows = (await conn.execute(stmt.order_by(messages.c.seq.desc()).limit(limit))).all()
    return list(reversed(rows))


async def messages_by_key(conn: AsyncConnection, keys: Sequence[tuple[str, int]]) -> list[Any]:
    if not keys:
        return []
    rows: list[Any] = []
    for stmt, params in _MESSAGES_BY_KEY.chunks(sorted(set(keys)), dialect=conn.dialect.name):
        rows.extend((await conn.execute(stmt, params)).all())
    return rows


async def payloads_for(
    conn: AsyncConnection, keys: Sequence[tuple[str, int]], *, device_id: str | None
) -> list[Any]:
    """Payload rows of the given messages (all of them, or only one device's)."""
    if not keys:
        return []
    if len({k[0] for k in keys}) == 1:
        stmt = select(*_PAYLOAD_COLS).where(payloads.c.conversation_id == keys[0][0], payloads.c.seq.in_([k[1] for k in keys]))
        if device_id is not None:
            stmt = stmt.where(payloads.c.device_id == device_id)
        return list((await conn.execute(stmt.order_by(payloads.c.seq))).all())
    rows: list[Any] = []
    if device_id is None:
        chunks = _PAYLOADS_BY_KEY.chunks(sorted(set(keys)), dialect=conn.dialect.name)
    else:
        chunks = _DEVICE_PAYLOADS_BY_KEY.chunks(sorted(set(keys)), dialect=conn.dialect.name, device_id=device_id)
    for stmt, params in chunks:
        rows.extend((await conn.execute(stmt, params)).all())
    rows.sort(key=lambda r: (r.conversation_id, r.seq))
    return rows


async def device_backlog(
    conn: AsyncConnection,
    device_id: str,
    *,
    after: tuple[str, int] | None,
    limit: int,
    conversation_id: str | None = None,
    up_to: int | None = None,
) -> list[Any]:
    """This device's payloads above its delivery cursor, in (conversation, seq) order, keyset-paged."""
    p, m, c = payloads, messages, device_cursors
    stmt = (
        select(
            p.c.conversation_id, p.c.seq, p.c.kind, p.c.body,
            m.c.client_msg_id, m.c.sender, m.c.sender_device, m.c.server_ts_ms,
        )
        .select_from(
            p.join(m, and_(m.c.conversation_id == p.c.conversation_id, m.c.seq == p.c.seq)).outerjoin(
                c, and_(c.c.device_id == p.c.device_id, c.c.conversation_id == p.c.conversation_id)
            )
        )
        .where(p.c.device_id == device_id, p.c.seq > func.coalesce(c.c.delivered_up_to, 0))
    )
    if conversation_id is not None:
        stmt = stmt.where(p.c.conversation_id == conversation_id)
    if up_to is not None:
        stmt = stmt.where(p.c.seq <= up_to)
    if after is not None:
        stmt = stmt.where(
            or_(p.c.conversation_id > after[0], and_(p.c.conversation_id == after[0], p.c.seq > after[1]))
        )
    stmt = stmt.order_by(p.c.conversation_id, p.c.seq).limit(limit)
    return list((await conn.execute(stmt)).all())


async def device_range(
    conn: AsyncConnection, device_id: str, conversation_id: str, *, after: int, up_to: int
) -> list[Any]:
    """This device's payloads with after < seq <= up_to in one conversation (gap repair)."""
    p, m = payloads, messages
    stmt = (
        select(
            p.c.conversation_id, p.c.seq, p.c.kind, p.c.body,
            m.c.client_msg_id, m.c.sender, m.c.sender_device, m.c.server_ts_ms,
        )
        .select_from(p.join(m, and_(m.c.conversation_id == p.c.conversation_id, m.c.seq == p.c.seq)))
        .where(p.c.device_id == device_id, p.c.conversation_id == conversation_id, p.c.seq > after, p.c.seq <= up_to)
        .order_by(p.c.seq)
    )
    return list((await conn.execute(stmt)).all())


# --- cursors and read markers ----------------------------------------------------------------


async def device_cursor_map(conn: AsyncConnection, device_id: str) -> dict[str, int]:
    stmt = select(device_cursors.c.conversation_id, device_cursors.c.delivered_up_to).where(
        device_cursors.c.device_id == device_id
    )
    return {r.conversation_id: r.delivered_up_to for r in (await conn.execute(stmt)).all()}


_UPSERT_CURSORS: dict[tuple[str, bool], Any] = {}  # built once per dialect and mode (receipts batch path)


async def upsert_cursors(conn: AsyncConnection, rows: list[dict[str, Any]], *, monotonic: bool) -> None:
    """rows: [{"device_id", "conversation_id", "delivered_up_to"}]. ``monotonic`` keeps the higher value."""
    if not rows:
        return
    key = (conn.dialect.name, monotonic)
    stmt = _UPSERT_CURSORS.get(key)
    if stmt is None:
        ins = _insert(conn, device_cursors)
        new = ins.excluded.delivered_up_to
        if monotonic:
            greatest = func.greatest if conn.dialect.name == "postgresql" else func.max
            value = greatest(device_cursors.c.delivered_up_to, new)
        else:
            value = new
        stmt = ins.on_conflict_do_update(index_elements=["device_id", "conversation_id"], set_={"delivered_up_to": value})
        _UPSERT_CURSORS[key] = stmt
    await conn.execute(stmt, rows)


async def member(conn: AsyncConnection, wallet: str, conversation_id: str) -> Any:
    stmt = select(members).where(members.c.wallet == wallet, members.c.conversation_id == conversation_id)
    return (await conn.execute(stmt)).first()


async def raise_read_marker(conn: AsyncConnection, wallet: str, conversation_id: str, up_to: int) -> None:
    await conn.execute(
        update(members)
        .where(members.c.wallet == wallet, members.c.conversation_id == conversation_id, members.c.read_up_to < up_to)
        .values(read_up_to=up_to)
    )


async def unread_count(conn: AsyncConnection, wallet: str, conversation_id: str, read_up_to: int) -> int:
    stmt = select(func.count()).where(
        messages.c.conversation_id == conversation_id, messages.c.seq > read_up_to, messages.c.sender != wallet
    )
    return int((await conn.execute(stmt)).scalar_one())


# --- inbox -----------------------------------------------------------------------------------


async def inbox(
    conn: AsyncConnection,
    wallet: str,
    *,
    limit: int,
    cursor: tuple[int, str] | None,
    state: str | None,
    q: str | None,
    users_table: Any | None,
) -> list[Any]:
    """The caller's conversations by last activity (newest first), each with its unread count."""
    m, c, x = members, conversations, messages.alias("x")
    unread = (
        select(func.count())
        .where(x.c.conversation_id == c.c.id, x.c.seq > m.c.read_up_to, x.c.sender != wallet)
        .scalar_subquery()
    )
    cols: list[Any] = [c, m.c.peer, m.c.read_up_to, unread.label("unread_count")]
    joined = m.join(c, c.c.id == m.c.conversation_id)
    if users_table is not None:
        cols.append(users_table.c.display_name.label("peer_display_name"))
        joined = joined.outerjoin(users_table, users_table.c.wallet == m.c.peer)
    stmt = select(*cols).select_from(joined).where(m.c.wallet == wallet)
    if state is not None:
        stmt = stmt.where(c.c.state == state)
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions = [func.lower(m.c.peer).like(pattern, escape="\\")]
        if users_table is not None:
            conditions.append(func.lower(users_table.c.display_name).like(pattern, escape="\\"))
        stmt = stmt.where(or_(*conditions))
    if cursor is not None:
        at, cid = cursor
        stmt = stmt.where(or_(c.c.last_activity_ms < at, and_(c.c.last_activity_ms == at, c.c.id < cid)))
    stmt = stmt.order_by(c.c.last_activity_ms.desc(), c.c.id.desc()).limit(limit)
    return list((await conn.execute(stmt)).all())
