"""PostgreSQL: a batch of sends stored in one round trip, checked optimistically.

The transactional path (store.store_messages) costs a write batch BEGIN, a locking read of the
conversations, a duplicate check, the insert, the outbox insert and COMMIT: six round trips, each
waiting for a turn of a busy event loop, which was most of the send-to-deliver latency on
PostgreSQL. Here the conversation rows come from a cache kept by this process's writer (read,
unlocked, on a miss) and the batch is checked against them as usual; one autocommitted statement
then writes each conversation's part only if its head (last_seq) and state are still the ones
checked (repository_pg.store_if_unchanged); a client message id stored already fails it whole.

Whatever that cannot settle goes back to the transactional path, whole conversations at a time so
a conversation's messages keep their order: a conversation whose head moved (another process wrote
to it, or its state changed), one whose cached row would refuse a send (a refusal is only trusted
from a locked read), a sender the referral rule may still concern (its note must commit with the
message), and the whole batch after a resend of a stored message. Refusals that do not depend on
the conversation row (device lists) are final here as there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.chat import ports, repository_pg
from atlas.chat import repository as repo
from atlas.chat.envelope import PreparedSend
from atlas.chat.errors import ConversationBlocked, ConversationNotFound, RequestNotAccepted
from atlas.chat.store import StoredMessage, plan_sends
from atlas.chat.timefmt import to_ms
from atlas.errors import AtlasError
from atlas.events.outbox import pg_gated_params

# Results that depend on the conversation row: from a cached row they are not final.
_ROW_REFUSALS = (ConversationNotFound, ConversationBlocked, RequestNotAccepted)


@dataclass
class _Head:
    """The parts of a conversation row a send is checked against (wallets never change)."""

    id: str
    wallet_a: str
    wallet_b: str
    initiator: str
    state: str
    last_seq: int


class ConversationCache:
    """Conversation heads as this process last wrote or read them. A stale entry costs a retry on
    the transactional path (the write compares before it writes), never a wrong write."""

    def __init__(self, limit: int = 100_000) -> None:
        self._limit = limit
        self._heads: dict[str, _Head] = {}

    def get(self, conversation_id: str) -> _Head | None:
        return self._heads.get(conversation_id)

    def put(self, row: Any) -> None:
        if len(self._heads) >= self._limit:
            self._heads.clear()
        self._heads[row.id] = _Head(row.id, row.wallet_a, row.wallet_b, row.initiator, row.state, row.last_seq)

    def advance(self, conversation_id: str, last_seq: int) -> None:
        head = self._heads.get(conversation_id)
        if head is not None:
            head.last_seq = last_seq

    def forget(self, conversation_ids: set[str]) -> None:
        for cid in conversation_ids:
            self._heads.pop(cid, None)


async def store_messages_unlocked(
    conn: AsyncConnection,
    items: list[PreparedSend],
    *,
    at: datetime,
    heads: ConversationCache,
    device_cache: ports.DeviceCache,
    referral_notes: ports.ReferralNotes,
) -> list[StoredMessage | AtlasError | None]:
    """One result per item; None for an item left to the transactional path. ``conn`` must not be
    in an explicit transaction (each statement commits by itself)."""
    rows: dict[str, Any] = {}
    missing: set[str] = set()
    for item in items:
        cid = item.conversation_id
        if cid not in rows:
            head = heads.get(cid)
            if head is None:
                missing.add(cid)
            else:
                rows[cid] = head
    if missing:
        for row in (await repo.conversations_by_ids(conn, missing)).values():
            heads.put(row)
            rows[row.id] = heads.get(row.id)
    now_ms = to_ms(at)
    plan = await plan_sends(conn, items, rows, {}, now_ms=now_ms, device_cache=device_cache)

    deferred: set[str] = set()
    for item, result in zip(items, plan.results, strict=True):
        if isinstance(result, _ROW_REFUSALS) or (
            isinstance(result, StoredMessage)
            and rows[item.conversation_id].state == "accepted"
            and not referral_notes.settled(item.sender)
        ):
            deferred.add(item.conversation_id)
    written: set[str] = set()
    message_rows = [r for r in plan.message_rows if r[0] not in deferred]
    if message_rows:
        payload_rows = [r for r in plan.payload_rows if r[1] not in deferred]
        events = [(e, c) for e, c in zip(plan.events, plan.event_conversations, strict=True) if c not in deferred]
        advanced = sorted({r[0] for r in message_rows})
        try:
            written = await repository_pg.store_if_unchanged(
                conn,
                message_rows,
                payload_rows,
                [(c, rows[c].last_seq, rows[c].state, plan.last_seq[c], now_ms) for c in advanced],
                pg_gated_params([e for e, _ in events], [c for _, c in events], at=at),
            )
        except IntegrityError:
            # A resend of a stored message (nothing was written): the transactional path answers
            # each item, duplicates included.
            written = set()
        except BaseException:
            heads.forget(set(advanced))  # committed or not is unknown: read again next time
            raise
        for cid in advanced:
            if cid in written:
                heads.advance(cid, plan.last_seq[cid])
            else:
                deferred.add(cid)
    heads.forget(deferred)
    return [
        None if item.conversation_id in deferred else result
        for item, result in zip(items, plan.results, strict=True)
    ]
