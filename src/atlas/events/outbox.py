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
    await conn.execute(_INSERT, [_row(e, at) for e in events])


def _row(e: Event, at: datetime) -> dict[str, object]:
    return {
        "event_id": e.event_id,
        "event_type": e.event_type,
        "actor": e.actor,
        "payload": canonical_str(e.payload()),
        "occurred_at": at,
    }


def pg_gated_insert(gate: str) -> str:
    """SQL of a PostgreSQL data-modifying CTE body that appends events to the outbox, each only if its
    gate key is among the rows of ``gate`` (a subquery of the caller's statement).

    For a caller that writes its change and its events in one statement, outside an explicit
    transaction: an event is in the outbox exactly when the part of the change it belongs to was
    written. Parameters come from :func:`pg_gated_params`.
    """
    # ``gate`` is the caller's constant SQL, never data (hence the noqa below).
    return (
        "INSERT INTO outbox (event_id, event_type, actor, payload, occurred_at) "  # noqa: S608 - as above
        "SELECT e.event_id, e.event_type, e.actor, e.payload, CAST(:o_at AS timestamptz) "
        "FROM unnest(CAST(:o_event_id AS varchar[]), CAST(:o_type AS varchar[]), CAST(:o_actor AS varchar[]), "
        "CAST(:o_payload AS text[]), CAST(:o_gate AS varchar[])) AS e(event_id, event_type, actor, payload, gate) "
        f"WHERE e.gate IN ({gate})"
    )


def pg_gated_params(events: list[Event], gates: list[str], *, at: datetime) -> dict[str, object]:
    """Parameters of :func:`pg_gated_insert`: ``gates[i]`` is the gate key of ``events[i]``."""
    rows = [_row(e, at) for e in events]
    return {
        "o_at": at,
        "o_event_id": [r["event_id"] for r in rows],
        "o_type": [r["event_type"] for r in rows],
        "o_actor": [r["actor"] for r in rows],
        "o_payload": [r["payload"] for r in rows],
        "o_gate": list(gates),
    }


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
