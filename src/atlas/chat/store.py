"""The message hot path: store a batch of envelopes in one transaction.

Per conversation, seqs are allocated from ``last_seq`` of the (locked, on PostgreSQL) conversation
row inside the insert transaction, so they run 1, 2, 3, … with no gaps across processes. Each item
of a batch succeeds or fails on its own: every check runs before anything is written, so a refused
item never aborts the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.chat import ports, repository_pg
from atlas.chat import repository as repo
from atlas.chat.envelope import PreparedSend, check_devices, conversation_hash, size_bucket
from atlas.chat.errors import (
    ConversationBlocked,
    ConversationNotFound,
    MissingDevice,
    RequestNotAccepted,
    UnknownDevice,
    UnknownSenderDevice,
)
from atlas.chat.service import Fanout
from atlas.chat.timefmt import to_ms
from atlas.errors import AtlasError
from atlas.events.models import Event, MessageSent
from atlas.events.outbox import emit, pg_gated_params


@dataclass
class StoredMessage:
    conversation_id: str
    seq: int
    server_ts_ms: int
    sender: str
    peer: str
    client_msg_id: str
    envelope: dict[str, Any] | None  # None for a duplicate (the original is already delivered)
    duplicate: bool


@dataclass
class ReceiptOp:
    wallet: str
    device_id: str
    conversation_id: str
    up_to: int


@dataclass
class SendPlan:
    """What a batch of sends would write, checked against given conversation rows.

    ``results`` has one entry per item; ``events`` and ``event_conversations`` run in parallel (the
    conversation each event belongs to), so a caller can drop the part of one conversation.
    """

    results: list[StoredMessage | AtlasError]
    message_rows: list[tuple[Any, ...]]  # repo.MESSAGE_COLUMNS order
    payload_rows: list[tuple[Any, ...]]  # repo.PAYLOAD_COLUMNS order
    events: list[Event]
    event_conversations: list[str]
    last_seq: dict[str, int]  # conversation id -> last seq after the batch
    senders_accepted: dict[str, bool]  # sender -> sent into an accepted conversation


async def plan_sends(
    conn: AsyncConnection,
    items: list[PreparedSend],
    rows: dict[str, Any],
    existing: dict[tuple[str, Any], Any],
    *,
    now_ms: int,
    device_cache: ports.DeviceCache,
) -> SendPlan:
    """Check every item and allocate seqs from ``rows`` (each with id, wallet_a, wallet_b, initiator,
    state, last_seq). Reads only device sets (cached, refreshed once before refusing)."""
    wallets = {i.sender for i in items}
    for row in rows.values():
        wallets.update((row.wallet_a, row.wallet_b))
    devices = await device_cache.get_many(conn, sorted(wallets))
    refreshed: set[str] = set()
    plan = SendPlan([], [], [], [], [], {cid: row.last_seq for cid, row in rows.items()}, {})
    results = plan.results
    last_seq = plan.last_seq
    seen: dict[tuple[str, str], StoredMessage] = {}

    for item in items:
        row = rows.get(item.conversation_id)
        if row is None or item.sender not in (row.wallet_a, row.wallet_b):
            results.append(ConversationNotFound("no such conversation"))
            continue
        peer = row.wallet_b if row.wallet_a == item.sender else row.wallet_a
        key = (item.conversation_id, item.client_msg_id)
        original = existing.get(key)
        if original is not None:
            results.append(
                StoredMessage(row.id, original.seq, original.server_ts_ms, original.sender, peer,
                              item.client_msg_id, None, duplicate=True)
            )
            continue
        if key in seen:
            first = seen[key]
            results.append(
                StoredMessage(row.id, first.seq, first.server_ts_ms, first.sender, peer, item.client_msg_id,
                              None, duplicate=True)
            )
            continue
        if row.state == "blocked":
            results.append(ConversationBlocked("this conversation is blocked"))
            continue
        if row.state == "request" and item.sender != row.initiator:
            results.append(RequestNotAccepted("accept the request before replying"))
            continue
        refusal = _check_devices(item, devices[item.sender], devices[peer])
        if refusal is not None and not {item.sender, peer} <= refreshed:
            for wallet in (item.sender, peer):  # a cached set may be stale: check again before refusing
                devices[wallet] = await device_cache.get(conn, wallet, fresh=True)
                refreshed.add(wallet)
            refusal = _check_devices(item, devices[item.sender], devices[peer])
        if refusal is not None:
            results.append(refusal)
            continue
        seq = last_seq[row.id] + 1
        last_seq[row.id] = seq
        plan.message_rows.append((row.id, seq, item.client_msg_id, item.sender, item.sender_device, now_ms, item.size))
        for (device_id, kind, _), body in zip(item.payloads, item.bodies, strict=True):
            plan.payload_rows.append((device_id, row.id, seq, kind, body))
        plan.events.append(
            MessageSent(
                actor=item.sender,
                conversation_hash=conversation_hash(row.id),
                peer=peer,
                seq=seq,
                size_bucket=size_bucket(item.size),
                envelope_hash=item.envelope_hash,
            )
        )
        plan.event_conversations.append(row.id)
        accepted = row.state == "accepted"
        plan.senders_accepted[item.sender] = plan.senders_accepted.get(item.sender, False) or accepted
        stored = StoredMessage(row.id, seq, now_ms, item.sender, peer, item.client_msg_id, item.wire(), duplicate=False)
        seen[key] = stored
        results.append(stored)
    return plan


async def store_messages(
    conn: AsyncConnection,
    items: list[PreparedSend],
    *,
    at: datetime,
    device_cache: ports.DeviceCache | None = None,
    referral_notes: ports.ReferralNotes | None = None,
) -> list[StoredMessage | AtlasError]:
    """The transactional path: conversation rows locked (PostgreSQL) for the whole check-and-write."""
    rows = await repo.lock_conversations(conn, (i.conversation_id for i in items))
    existing = await repo.existing_client_ids(conn, [(i.conversation_id, i.client_msg_id) for i in items])
    plan = await plan_sends(
        conn, items, rows, existing, now_ms=to_ms(at), device_cache=device_cache or ports.DeviceCache(ttl=0)
    )
    if plan.message_rows:
        now_ms = to_ms(at)
        advanced = sorted({r[0] for r in plan.message_rows})
        if conn.dialect.name == "postgresql":
            # The one-statement write of the unlocked path; under these row locks no head can have moved.
            written = await repository_pg.store_if_unchanged(
                conn, plan.message_rows, plan.payload_rows,
                [(c, rows[c].last_seq, rows[c].state, plan.last_seq[c], now_ms) for c in advanced],
                pg_gated_params(plan.events, plan.event_conversations, at=at),
            )
            if written != set(advanced):
                raise RuntimeError("a locked conversation head changed")  # the writer retries each job
        else:
            await repo.insert_messages(conn, plan.message_rows, plan.payload_rows)
            await repo.advance_conversations(
                conn, [{"cid": c, "last_seq": plan.last_seq[c], "at": now_ms} for c in advanced]
            )
            await emit(conn, plan.events, at=at)
        # One call per sender and batch: the referral rule needs "has sent a message" (in an
        # accepted conversation), not a count.
        for sender, accepted in sorted(plan.senders_accepted.items()):
            if referral_notes is not None:
                await referral_notes.note(conn, sender=sender, conversation_accepted=accepted, at=at)
            else:
                await ports.note_message_sent(conn, sender=sender, conversation_accepted=accepted, at=at)
    return plan.results


def _check_devices(item: PreparedSend, sender_devices: set[str], peer_devices: set[str]) -> AtlasError | None:
    sender_device = item.sender_device
    if sender_device not in sender_devices:
        return UnknownSenderDevice("sender_device is not one of your active devices")
    given = [p[0] for p in item.payloads]
    unknown, missing = check_devices(
        given, sender_device=sender_device, sender_devices=sender_devices, peer_devices=peer_devices
    )
    if unknown:
        return UnknownDevice("payloads address devices that may not receive this message", unknown=unknown)
    if missing:
        return MissingDevice("active recipient devices have no payload; refetch device lists", missing=missing)
    return None


async def store_delivered(conn: AsyncConnection, ops: list[ReceiptOp]) -> list[Fanout | AtlasError]:
    """Persist ``delivered`` receipts as per-device cursors (monotonic) and relay them to the peer.

    On PostgreSQL one statement reads the conversations and writes the cursors (it needs no
    surrounding transaction); elsewhere the same in two.
    """
    if conn.dialect.name == "postgresql":
        rows = await repository_pg.store_receipts(
            conn, [(op.device_id, op.conversation_id, op.wallet, op.up_to) for op in ops]
        )
    else:
        rows = await repo.conversations_by_ids(conn, {op.conversation_id for op in ops})
    results: list[Fanout | AtlasError] = []
    best: dict[tuple[str, str], int] = {}
    for op in ops:
        row = rows.get(op.conversation_id)
        if row is None or op.wallet not in (row.wallet_a, row.wallet_b):
            results.append(ConversationNotFound("no such conversation"))
            continue
        up_to = min(op.up_to, row.last_seq)
        key = (op.device_id, row.id)
        best[key] = max(best.get(key, 0), up_to)
        peer = row.wallet_b if row.wallet_a == op.wallet else row.wallet_a
        frame = {"type": "receipt", "conversation_id": row.id, "kind": "delivered", "up_to": up_to, "from": op.wallet}
        results.append(Fanout(wallets=(peer,), frame=frame))
    if conn.dialect.name != "postgresql":
        await repo.upsert_cursors(
            conn,
            [{"device_id": d, "conversation_id": c, "delivered_up_to": v} for (d, c), v in sorted(best.items())],
            monotonic=True,
        )
    return results
