"""Conversations, requests and consent, the inbox, history and read markers.

Services take the connection and clock and never commit. What must reach connected sockets after
the commit is returned as :class:`Fanout` items for the caller to publish once the transaction is
durable.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.chat import ports
from atlas.chat import repository as repo
from atlas.chat.envelope import conversation_hash, normalize_wallet
from atlas.chat.errors import (
    CannotMessageSelf,
    ConversationNotFound,
    InvalidFrame,
    NotAllowed,
    PeerNotFound,
    TooManyRequests,
)
from atlas.chat.schemas import ConversationOut, Envelope, Inbox, MessageOut, MessagesPage, Payload, ReadOut
from atlas.chat.timefmt import ms_to_rfc3339, to_ms
from atlas.events.models import ConversationStarted, ConversationStateChanged
from atlas.events.outbox import emit

HOUR_MS = 3600 * 1000


@dataclass
class Fanout:
    """A frame for every connected device of ``wallets`` (optionally not the originating connection)."""

    wallets: tuple[str, ...]
    frame: dict[str, Any]
    skip_connection: str | None = None


@dataclass
class Outcome:
    conversation: ConversationOut
    created: bool = False
    fanout: list[Fanout] = field(default_factory=list)


def _view(row: Any, wallet: str, *, read_up_to: int, unread: int, display_name: str | None = None) -> ConversationOut:
    peer = row.wallet_b if row.wallet_a == wallet else row.wallet_a
    return ConversationOut(
        id=row.id,
        peer=peer,
        peer_display_name=display_name,
        state=row.state,
        initiator=row.initiator,
        blocked_by_me=row.blocked_by == wallet,
        created_at=ms_to_rfc3339(row.created_ms),
        last_activity_at=ms_to_rfc3339(row.last_activity_ms),
        last_seq=row.last_seq,
        read_up_to=read_up_to,
        unread_count=unread,
    )


def conversation_key(conversation_id: str) -> str:
    """The canonical (lowercase) form of a conversation id; anything else is simply not found."""
    try:
        return str(uuid.UUID(conversation_id))
    except ValueError:
        raise ConversationNotFound("no such conversation") from None


async def member_conversation(conn: AsyncConnection, wallet: str, conversation_id: str) -> Any:
    """The conversation if ``wallet`` is one of its two members; otherwise not found (never forbidden,
    which would confirm that the conversation exists)."""
    row = await repo.get_conversation(conn, conversation_key(conversation_id))
    if row is None or wallet not in (row.wallet_a, row.wallet_b):
        raise ConversationNotFound("no such conversation")
    return row


async def _describe(conn: AsyncConnection, row: Any, wallet: str) -> ConversationOut:
    mine = await repo.member(conn, wallet, row.id)
    read_up_to = mine.read_up_to if mine is not None else 0
    unread = await repo.unread_count(conn, wallet, row.id, read_up_to)
    return _view(row, wallet, read_up_to=read_up_to, unread=unread)


def _state_fanout(row: Any, state: str, actor: str) -> Fanout:
    return Fanout(
        wallets=(row.wallet_a, row.wallet_b),
        frame={"type": "conversation", "conversation_id": row.id, "state": state, "by": actor},
    )


async def start_conversation(
    conn: AsyncConnection, *, wallet: str, peer: str, at: datetime, requests_per_hour: int
) -> Outcome:
    peer = normalize_wallet(peer)
    if peer == wallet:
        raise CannotMessageSelf("a conversation needs two different accounts")
    a, b = sorted((wallet, peer))
    existing = await repo.get_conversation_by_pair(conn, a, b)
    if existing is not None:
        return Outcome(await _describe(conn, existing, wallet))
    if not await ports.account_exists(conn, peer):
        raise PeerNotFound("no account with that wallet")
    now_ms = to_ms(at)
    if await repo.count_initiated_since(conn, wallet, now_ms - HOUR_MS) >= requests_per_hour:
        raise TooManyRequests(
            f"at most {requests_per_hour} new conversations per hour", headers={"Retry-After": "3600"}
        )
    row = {
        "id": str(uuid.uuid4()),
        "wallet_a": a,
        "wallet_b": b,
        "initiator": wallet,
        "state": "request",
        "blocked_by": None,
        "last_seq": 0,
        "created_ms": now_ms,
        "last_activity_ms": now_ms,
    }
    created = await repo.insert_conversation(conn, row)
    stored = await repo.get_conversation_by_pair(conn, a, b)
    assert stored is not None  # noqa: S101 - inserted or found by the unique pair just above
    fanout: list[Fanout] = []
    if created:
        chash = conversation_hash(stored.id)
        await emit(conn, [ConversationStarted(actor=wallet, conversation_hash=chash, peer=peer)], at=at)
        fanout.append(_state_fanout(stored, "request", wallet))
    return Outcome(await _describe(conn, stored, wallet), created=created, fanout=fanout)


async def accept(conn: AsyncConnection, *, wallet: str, conversation_id: str, at: datetime) -> Outcome:
    """The recipient accepts a request; whoever blocked may accept again to unblock."""
    row = await member_conversation(conn, wallet, conversation_id)
    row = await repo.get_conversation(conn, row.id, lock=True) or row
    if row.state == "accepted":
        return Outcome(await _describe(conn, row, wallet))
    if row.state == "request" and row.initiator == wallet:
        raise NotAllowed("only the recipient of a request can accept it")
    if row.state == "blocked" and row.blocked_by != wallet:
        raise NotAllowed("only the account that blocked this conversation can unblock it")
    return await _change_state(conn, row, wallet, "accepted", None, at)


async def block(conn: AsyncConnection, *, wallet: str, conversation_id: str, at: datetime) -> Outcome:
    row = await member_conversation(conn, wallet, conversation_id)
    row = await repo.get_conversation(conn, row.id, lock=True) or row
    if row.state == "blocked":
        return Outcome(await _describe(conn, row, wallet))
    return await _change_state(conn, row, wallet, "blocked", wallet, at)


async def _change_state(
    conn: AsyncConnection, row: Any, wallet: str, state: str, blocked_by: str | None, at: datetime
) -> Outcome:
    await repo.set_state(conn, row.id, state=state, blocked_by=blocked_by, at_ms=to_ms(at))
    peer = row.wallet_b if row.wallet_a == wallet else row.wallet_a
    event = ConversationStateChanged(
        actor=wallet, conversation_hash=conversation_hash(row.id), peer=peer, state=state
    )
    await emit(conn, [event], at=at)
    updated = await repo.get_conversation(conn, row.id)
    assert updated is not None  # noqa: S101 - updated just above in this transaction
    return Outcome(await _describe(conn, updated, wallet), fanout=[_state_fanout(updated, state, wallet)])


async def get_one(conn: AsyncConnection, *, wallet: str, conversation_id: str) -> ConversationOut:
    return await _describe(conn, await member_conversation(conn, wallet, conversation_id), wallet)


# --- reading ---------------------------------------------------------------------------------


def _envelopes(
    headers: list[Any], bodies: list[Any]
) -> dict[tuple[str, int], MessageOut]:
    by_key: dict[tuple[str, int], list[Payload]] = {}
    for p in bodies:
        by_key.setdefault((p.conversation_id, p.seq), []).append(
            Payload(device_id=p.device_id, kind=p.kind, body=base64.b64encode(p.body).decode())
        )
    out: dict[tuple[str, int], MessageOut] = {}
    for h in headers:
        key = (h.conversation_id, h.seq)
        out[key] = MessageOut(
            conversation_id=h.conversation_id,
            seq=h.seq,
            server_ts=ms_to_rfc3339(h.server_ts_ms),
            sender=h.sender,
            envelope=Envelope.model_construct(
                client_msg_id=h.client_msg_id, sender_device=h.sender_device, payloads=by_key.get(key, [])
            ),
        )
    return out


async def history(
    conn: AsyncConnection,
    *,
    wallet: str,
    conversation_id: str,
    before: int | None,
    limit: int,
    device_id: str | None,
) -> MessagesPage:
    row = await member_conversation(conn, wallet, conversation_id)
    headers = await repo.history(conn, row.id, before=before, limit=limit)
    keys = [(h.conversation_id, h.seq) for h in headers]
    bodies = await repo.payloads_for(conn, keys, device_id=device_id)
    built = _envelopes(headers, bodies)
    page = [built[k] for k in keys]
    next_before = page[0].seq if page and page[0].seq > 1 else None
    return MessagesPage(messages=page, next_before=next_before)


def _parse_cursor(cursor: str | None) -> tuple[int, str] | None:
    if not cursor:
        return None
    at, sep, cid = cursor.partition(".")
    try:
        if not sep:
            raise ValueError(cursor)
        uuid.UUID(cid)
        return int(at), cid
    except ValueError:
        raise InvalidFrame("cursor is not one this server issued", code="invalid_cursor") from None


async def inbox(
    conn: AsyncConnection,
    *,
    wallet: str,
    q: str | None,
    cursor: str | None,
    limit: int,
    state: str | None,
    device_id: str | None,
) -> Inbox:
    rows = await repo.inbox(
        conn, wallet, limit=limit + 1, cursor=_parse_cursor(cursor), state=state, q=q, users_table=ports.users_table()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    keys = [(r.id, r.last_seq) for r in rows if r.last_seq > 0]
    built = _envelopes(await repo.messages_by_key(conn, keys), await repo.payloads_for(conn, keys, device_id=device_id))
    items = []
    for r in rows:
        view = _view(r, wallet, read_up_to=r.read_up_to, unread=r.unread_count, display_name=getattr(r, "peer_display_name", None))
        view.last_message = built.get((r.id, r.last_seq))
        items.append(view)
    next_cursor = f"{rows[-1].last_activity_ms}.{rows[-1].id}" if more and rows else None
    return Inbox(conversations=items, next_cursor=next_cursor)


async def mark_read(
    conn: AsyncConnection, *, wallet: str, conversation_id: str, up_to: int, origin: str | None = None
) -> tuple[ReadOut, Fanout]:
    """Raise the private read marker (never lowers it); the frame goes to the reader's own devices only."""
    row = await member_conversation(conn, wallet, conversation_id)
    up_to = min(up_to, row.last_seq)
    await repo.raise_read_marker(conn, wallet, row.id, up_to)
    mine = await repo.member(conn, wallet, row.id)
    read_up_to = mine.read_up_to if mine is not None else 0
    unread = await repo.unread_count(conn, wallet, row.id, read_up_to)
    frame = {
        "type": "receipt",
        "conversation_id": row.id,
        "kind": "read",
        "up_to": read_up_to,
        "from": wallet,
        "unread_count": unread,
    }
    return (
        ReadOut(conversation_id=row.id, read_up_to=read_up_to, unread_count=unread),
        Fanout(wallets=(wallet,), frame=frame, skip_connection=origin),
    )
