"""Ledger reads that need more than one query: proofs, roots, checkpoints, event status.

Services take the caller's connection and never commit; the writer and the checkpointer own theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.events.models import CATALOGUE, ContentAction
from atlas.events.outbox import emit
from atlas.events.outbox import event_status as outbox_event_status
from atlas.kit.canonical import CanonicalError, canonical_bytes
from atlas.ledger import merkle
from atlas.ledger import repository as repo
from atlas.ledger.checkpoint import LogSigner
from atlas.ledger.entries import LedgerEntry
from atlas.ledger.errors import (
    EventTypeForbidden,
    EventTypeUnknown,
    LogPayloadTooLarge,
    PayloadInvalid,
    ProofRangeError,
)


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]


async def _resolve(conn: AsyncConnection, fn: Callable[[merkle.NodeGetter], object]) -> merkle.NodeGetter:
    nodes = await repo.get_nodes(conn, merkle.plan(fn))

    def get(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    return get


async def root_at(conn: AsyncConnection, size: int) -> bytes:
    """The Merkle root of the first ``size`` entries, from O(log n) stored nodes."""
    get = await _resolve(conn, lambda g: merkle.tree_root(g, size))
    return merkle.tree_root(get, size)


async def inclusion_proof(conn: AsyncConnection, seq: int, tree_size: int | None) -> InclusionProof:
    """PATH(seq, D[0:tree_size]) from O(log n) stored nodes in two queries.

    An explicit ``tree_size`` is not checked against the head row: the nodes a proof needs include
    the subtree ending at leaf ``tree_size − 1``, which exists only once the tree is that large, so
    a missing node *is* the out-of-range answer (the head is read only to word the error).
    """
    if tree_size is None:
        latest = await repo.latest_checkpoint(conn)
        tree_size = int(latest.tree_size) if latest is not None else await repo.tree_size(conn)
    if not 0 <= seq < tree_size:
        raise ProofRangeError(f"seq must be below tree_size {tree_size}", tree_size=tree_size)
    size = tree_size

    def both(g: merkle.NodeGetter) -> object:
        return g(0, seq), merkle.inclusion_path(g, seq, size)

    keys = merkle.plan(both)
    nodes = await repo.get_nodes(conn, keys)
    if len(nodes) < len(set(keys)):
        current = await repo.tree_size(conn)
        raise ProofRangeError(f"tree_size must be between 1 and the current size {current}", tree_size=current)

    def get(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    return InclusionProof(seq, size, get(0, seq), merkle.inclusion_path(get, seq, size))


async def consistency_proof(conn: AsyncConnection, first: int, second: int) -> list[bytes]:
    current = await repo.tree_size(conn)
    if not 1 <= first <= second <= current:
        raise ProofRangeError(
            f"need 1 ≤ first ≤ second ≤ the current size {current}", tree_size=current
        )
    get = await _resolve(conn, lambda g: merkle.consistency_path(g, first, second))
    return merkle.consistency_path(get, first, second)


async def issue_checkpoint(conn: AsyncConnection, signer: LogSigner, at: datetime) -> str | None:
    """Sign and store a checkpoint for the current size unless one exists; returns the new note."""
    size = await repo.tree_size(conn)
    latest = await repo.latest_checkpoint(conn)
    if latest is not None and int(latest.tree_size) >= size:
        return None
    root = await root_at(conn, size)
    note = signer.sign(size, root)
    return note if await repo.insert_checkpoint(conn, size, root.hex(), note, at) else None


async def latest_note(conn: AsyncConnection) -> str | None:
    row = await repo.latest_checkpoint(conn)
    return str(row.note) if row is not None else None


async def event_status(conn: AsyncConnection, event_id: str) -> LedgerEntry | str | None:
    """The entry; else ``"pending"`` while the event is on its way, ``"dead"`` if it was
    dead-lettered (acknowledged, refused by the ledger), or None if never acknowledged."""
    entry = await repo.get_by_event_id(conn, event_id)
    if entry is not None:
        return entry
    status = await outbox_event_status(conn, event_id)
    return status if status in ("pending", "dead") else None


MAX_LOG_PAYLOAD = 8 * 1024  # canonical bytes of a client-logged payload


async def log_client_event(
    conn: AsyncConnection, *, wallet: str, event_type: str, payload: dict[str, Any], at: datetime
) -> str:
    """Check and queue a client-logged event through the outbox; returns its event id.

    Only event types marked ``client_loggable`` are accepted: the others are facts only the server
    may state (sign-ins, referrals, points), so a client can never forge them into the ledger.
    """
    cls = CATALOGUE.get(event_type)
    if cls is None:
        raise EventTypeUnknown(f"Unknown event type {event_type!r}.", allowed=_loggable())
    if not cls.client_loggable:
        raise EventTypeForbidden(
            f"{event_type} entries are written by the server only.", allowed=_loggable()
        )
    try:
        size = len(canonical_bytes(payload))
    except CanonicalError as exc:
        raise PayloadInvalid(f"The payload cannot go into the ledger: {exc}.") from None
    if size > MAX_LOG_PAYLOAD:
        raise LogPayloadTooLarge(f"The payload is {size} bytes in canonical form; the limit is {MAX_LOG_PAYLOAD}.")
    event = ContentAction(actor=wallet, data=payload)
    await emit(conn, [event], at=at)
    return event.event_id


def _loggable() -> list[str]:
    return sorted(name for name, cls in CATALOGUE.items() if cls.client_loggable)
