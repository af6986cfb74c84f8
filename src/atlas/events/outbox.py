"""Writing events to the outbox inside the caller's transaction.

Nothing is published here: the relay reads committed outbox rows and publishes them, so an event
exists on the bus only if the change that caused it was committed (and always, if it was).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.events.models import Event
from atlas.events.tables import outbox
from atlas.kit.canonical import canonical_str

_INSERT = insert(outbox)


async def emit(conn: AsyncConnection, events: list[Event] | tuple[Event, ...], *, at: datetime) -> None:
    """Append ``events`` to the outbox in the current transaction (one batched INSERT)."""
    if not events:
        return
    rows = [
        {
            "event_id": e.event_id,
            "event_type": e.event_type,
            "actor": e.actor,
            "payload": canonical_str(e.payload()),
            "occurred_at": at,
        }
        for e in events
    ]
    await conn.execute(_INSERT, rows)


async def event_status(conn: AsyncConnection, event_id: str) -> Literal["pending", "delivered", "dead"] | None:
    """Where an emitted event is: ``pending`` (in the outbox or on the bus), ``delivered`` (in the
    ledger), ``dead`` (dead-lettered: the ledger refused it N times), or None (never emitted, or
    delivered and pruned after the retention period)."""
    from atlas.events.repository import outbox_state

    row = await outbox_state(conn, event_id)
    if row is None:
        return None
    if row.delivered_at is not None:
        return "delivered"
    return "dead" if row.dead_at is not None else "pending"
