"""The ``trust`` projection: points, referral graph and coherence, fed from the ledger.

One projection (one stored offset) for all three, so that ``atlas replay`` compares them at a single
ledger position, and so that an activation's awards and the referrer's new coherence commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.coherence import repository
from atlas.coherence.engine import (
    EntryLike,
    TrustEngine,
    TrustState,
    all_rows,
    award_sources,
    batch_wallets,
    changed_rows,
)

NAME = "trust"
_REBUILD_PAGE = 5000


async def _resolve_sources(conn: AsyncConnection, entries: Sequence[EntryLike]) -> dict[str, int]:
    from atlas.ledger import repository as ledger

    wanted = award_sources(entries) - {e.event_id for e in entries}
    if not wanted:
        return {}
    found = await ledger.get_many_by_event_id(conn, sorted(wanted))
    return {event_id: entry.seq for event_id, entry in found.items()}


async def handle(conn: AsyncConnection, entries: list[Any]) -> None:
    """Apply a contiguous batch (runs in the transaction that stores the offset)."""
    state = await repository.load_state(conn, batch_wallets(entries))
    engine = TrustEngine(state, resolve_seq=(await _resolve_sources(conn, entries)).get)
    changes = engine.apply(entries)
    await repository.save(conn, changed_rows(state, changes))


async def reset(conn: AsyncConnection, from_seq: int) -> None:
    """Forget everything built from entries ``>= from_seq``: rebuild from the ledger prefix before it.

    The engine's state is not reversible entry by entry (first-message and first-registration facts,
    balances), so the prefix is replayed into empty state and written back whole.
    """
    from atlas.ledger import repository as ledger

    for table in repository.TABLES.values():
        await conn.execute(delete(table))
    if from_seq <= 0:
        return
    engine = TrustEngine(TrustState())
    after = -1
    while after < from_seq - 1:
        page = await ledger.entries_after(conn, after, min(_REBUILD_PAGE, from_seq - 1 - after))
        if not page:
            break
        engine.apply(page, flush=False)
        after = page[-1].seq
    engine.flush()
    for name, rows in all_rows(engine.state).items():
        await repository.upsert(conn, repository.TABLES[name], list(rows.values()))
