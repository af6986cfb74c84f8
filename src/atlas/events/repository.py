"""SQL for the outbox, the projection offsets and the recorded dead letters (SQLAlchemy Core).

The statements the relay, the subscriber and every projection batch run are built once, with bound
parameters: building a Core statement and its cache key per call cost more CPU than executing it
(the pipeline runs several per event).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.events.tables import event_consumers, event_dead_letters, outbox

# Any constant works: it only has to be the same in every process of one deployment.
RELAY_LOCK_KEY = 0x41544C53_0001  # "ATLS" + 1


async def try_relay_lock(conn: AsyncConnection) -> bool:
    """On PostgreSQL, one relay at a time publishes (so the stream keeps outbox order).

    A transaction-scoped advisory lock: released by the commit that marks the rows published.
    SQLite needs none, its write transaction (``BEGIN IMMEDIATE``) already excludes other writers.
    """
    if conn.dialect.name != "postgresql":
        return True
    got = await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RELAY_LOCK_KEY})
    return bool(got)


_COLUMNS = (outbox.c.id, outbox.c.event_id, outbox.c.event_type, outbox.c.actor, outbox.c.payload, outbox.c.occurred_at)


@cache
def _unpublished(limit: int) -> Any:
    return select(*_COLUMNS).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)


async def unpublished(conn: AsyncConnection, limit: int) -> Sequence[Any]:
    """Never-published rows in id order. Selected by state, not by a cursor: on PostgreSQL ids can
    commit out of order, and a row committed late must still go out."""
    return (await conn.execute(_unpublished(limit))).all()


async def lost_in_flight(conn: AsyncConnection, published_before: datetime, limit: int) -> Sequence[Any]:
    """Rows published before ``published_before`` that the ledger still does not hold."""
    stmt = (
        select(*_COLUMNS)
        .where(
            outbox.c.delivered_at.is_(None), outbox.c.dead_at.is_(None), outbox.c.published_at < published_before
        )
        .order_by(outbox.c.id)
        .limit(limit)
    )
    return (await conn.execute(stmt)).all()


_MARK_PUBLISHED = (
    update(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True))).values(published_at=bindparam("at"))
)
_MARK_DELIVERED = (
    update(outbox)
    .where(outbox.c.event_id.in_(bindparam("event_ids", expanding=True)), outbox.c.delivered_at.is_(None))
    .values(delivered_at=bindparam("at"))
)


async def mark_published(conn: AsyncConnection, ids: Sequence[int], at: datetime) -> None:
    await conn.execute(_MARK_PUBLISHED, {"ids": list(ids), "at": at})


async def mark_delivered(conn: AsyncConnection, event_ids: Sequence[str], at: datetime) -> None:
    await conn.execute(_MARK_DELIVERED, {"event_ids": list(event_ids), "at": at})


async def mark_dead(conn: AsyncConnection, event_id: str, at: datetime) -> None:
    await conn.execute(update(outbox).where(outbox.c.event_id == event_id).values(dead_at=at))


async def redrive(conn: AsyncConnection, event_ids: Sequence[str]) -> int:
    """Put dead-lettered rows back in the relay's queue (after the cause was fixed)."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.event_id.in_(event_ids), outbox.c.dead_at.is_not(None), outbox.c.delivered_at.is_(None))
        .values(dead_at=None, published_at=None)
    )
    return int(result.rowcount or 0)


async def prune_delivered(conn: AsyncConnection, before: datetime) -> int:
    result = await conn.execute(delete(outbox).where(outbox.c.delivered_at < before))
    return int(result.rowcount or 0)


async def outbox_depth(conn: AsyncConnection) -> tuple[int, int]:
    """(unpublished rows, undelivered rows); dead-lettered rows count in neither."""
    unpub = await conn.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
    undel = await conn.scalar(
        select(func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None), outbox.c.dead_at.is_(None))
    )
    return int(unpub or 0), int(undel or 0)


async def outbox_state(conn: AsyncConnection, event_id: str) -> Any:
    stmt = select(outbox.c.id, outbox.c.published_at, outbox.c.delivered_at, outbox.c.dead_at).where(outbox.c.event_id == event_id)
    return (await conn.execute(stmt)).first()


_READ_OFFSET = select(event_consumers.c.last_seq).where(event_consumers.c.name == bindparam("consumer"))
_LOCK_OFFSET = _READ_OFFSET.with_for_update()
_SET_OFFSET = (
    update(event_consumers)
    .where(event_consumers.c.name == bindparam("consumer"))
    .values(last_seq=bindparam("new_seq"), updated_at=bindparam("at"))
)


async def lock_offset(conn: AsyncConnection, name: str, at: datetime) -> int:
    """The consumer's last applied seq, row-locked until the transaction ends (-1 if none yet)."""
    stmt = _LOCK_OFFSET if conn.dialect.name == "postgresql" else _READ_OFFSET
    current = await conn.scalar(stmt, {"consumer": name})
    if current is not None:
        return int(current)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await conn.execute(
            pg_insert(event_consumers)
            .values(name=name, last_seq=-1, updated_at=at)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        current = await conn.scalar(stmt, {"consumer": name})
        return int(current) if current is not None else -1
    await conn.execute(insert(event_consumers).values(name=name, last_seq=-1, updated_at=at))
    return -1


async def read_offset(conn: AsyncConnection, name: str) -> int:
    current = await conn.scalar(_READ_OFFSET, {"consumer": name})
    return int(current) if current is not None else -1


async def set_offset(conn: AsyncConnection, name: str, last_seq: int, at: datetime) -> None:
    await conn.execute(_SET_OFFSET, {"consumer": name, "new_seq": last_seq, "at": at})


async def offsets(conn: AsyncConnection) -> dict[str, int]:
    rows = (await conn.execute(select(event_consumers.c.name, event_consumers.c.last_seq))).all()
    return {str(r.name): int(r.last_seq) for r in rows}


async def record_dead_letter(
    conn: AsyncConnection,
    *,
    stream: str,
    message_id: str,
    event_id: str | None,
    fields: str,
    reason: str,
    deliveries: int,
    at: datetime,
) -> None:
    await conn.execute(
        insert(event_dead_letters).values(
            stream=stream,
            message_id=message_id,
            event_id=event_id,
            fields=fields,
            reason=reason[:2000],
            deliveries=deliveries,
            failed_at=at,
        )
    )


async def dead_letter_rows(conn: AsyncConnection, limit: int = 100) -> Sequence[Any]:
    stmt = select(event_dead_letters).order_by(event_dead_letters.c.id).limit(limit)
    return (await conn.execute(stmt)).all()
