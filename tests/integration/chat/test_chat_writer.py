"""The message writer when its picture of a conversation is out of date: another process wrote to it,
its state changed, or a client resends a stored message in the same batch as new ones. On
PostgreSQL the writer stores from a cached conversation head in one statement (chat/fastpath.py) and
must fall back to the locked path in each of these cases; on SQLite the same outcomes come from the
transactional path alone. Either way: seqs 1, 2, 3, … without gaps, one outbox event per stored
message, refusals exactly when the conversation's state says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from atlas.chat import writer as writer_module
from atlas.chat.component import chat_runtime
from atlas.chat.envelope import prepare_send
from atlas.chat.errors import ConversationNotFound
from atlas.chat.schemas import Envelope
from atlas.chat.store import ReceiptOp
from atlas.chat.tables import device_cursors, messages
from atlas.client.auth import sign_in
from atlas.client.chat import ChatApi, ChatError, make_envelope
from atlas.client.e2e.api import register
from atlas.client.e2e.device import Device
from atlas.events.tables import outbox


async def _person(client: httpx.AsyncClient) -> tuple[ChatApi, str, Device, dict[str, str]]:
    signed = await sign_in(client)
    device = Device.generate(signed.wallet)
    await register(client, device, signed.account, signed.headers)
    return ChatApi(client, signed.headers), signed.wallet, device, signed.headers


async def _accepted(client: httpx.AsyncClient) -> tuple[Any, Any, str]:
    """Two people and their accepted conversation."""
    alice, bob = await _person(client), await _person(client)
    cid = (await alice[0].start(bob[1]))["id"]
    await bob[0].accept(cid)
    return alice, bob, cid


def _envelope(sender: Device, recipient: Device, cmid: str | None = None) -> dict[str, Any]:
    return make_envelope(sender.device_id, {recipient.device_id: b"\x00opaque"}, client_msg_id=cmid)


@pytest.fixture
async def second_client(settings: Any, client_of: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Another server instance (its own writer and caches) on the same database and Redis."""
    async with client_of(settings) as http:
        yield http


async def _stored(app: Any, cid: str) -> tuple[list[int], int]:
    """The conversation's stored seqs, and how many MESSAGE_SENT events the outbox holds in all."""
    async with app.state.runtime.db.read() as conn:
        seqs = [r.seq for r in (await conn.execute(
            select(messages.c.seq).where(messages.c.conversation_id == cid).order_by(messages.c.seq)
        )).all()]
        events = (await conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.event_type == "MESSAGE_SENT")
        )).scalar_one()
    return seqs, int(events)


async def test_a_head_moved_by_another_process_keeps_seqs_gapless(
    app: Any, client: httpx.AsyncClient, second_client: httpx.AsyncClient
) -> None:
    (alice, a_wallet, a1, a_headers), (bob, b_wallet, b1, _), cid = await _accepted(client)
    assert [(await alice.send(cid, _envelope(a1, b1)))["seq"] for _ in range(3)] == [1, 2, 3]

    # The other instance writes twice; this one's cached head (seq 3) is now stale.
    elsewhere = ChatApi(second_client, a_headers)
    assert [(await elsewhere.send(cid, _envelope(a1, b1)))["seq"] for _ in range(2)] == [4, 5]
    assert (await alice.send(cid, _envelope(a1, b1)))["seq"] == 6
    assert (await bob.send(cid, _envelope(b1, a1)))["seq"] == 7

    # Both instances at once, many times over.
    sends = [alice.send(cid, _envelope(a1, b1)) for _ in range(10)]
    sends += [elsewhere.send(cid, _envelope(a1, b1)) for _ in range(10)]
    acks = await asyncio.gather(*sends)
    assert sorted(a["seq"] for a in acks) == list(range(8, 28))
    seqs, events = await _stored(app, cid)
    assert seqs == list(range(1, 28))
    assert events == 27, "one MESSAGE_SENT per stored message, none for a retried write"


async def test_a_resend_batched_with_new_messages(app: Any, client: httpx.AsyncClient) -> None:
    (alice, a_wallet, a1, _), (bob, b_wallet, b1, _), cid = await _accepted(client)
    first = await alice.send(cid, _envelope(a1, b1, cmid="00000000-0000-4000-8000-00000000000a"))
    assert (await bob.send(cid, _envelope(b1, a1)))["seq"] == 2  # both have written once (see fastpath)

    # The resend and new messages arrive together (one writer batch, mostly).
    acks = await asyncio.gather(
        alice.send(cid, _envelope(a1, b1)),
        alice.send(cid, _envelope(a1, b1, cmid="00000000-0000-4000-8000-00000000000a")),
        alice.send(cid, _envelope(a1, b1)),
        bob.send(cid, _envelope(b1, a1)),
    )
    resent = acks[1]
    assert resent["duplicate"]
    assert resent["seq"] == first["seq"] == 1
    assert sorted(a["seq"] for a in acks if not a["duplicate"]) == [3, 4, 5]
    seqs, events = await _stored(app, cid)
    assert seqs == [1, 2, 3, 4, 5]
    assert events == 5


async def test_state_changes_are_seen_by_the_next_send(app: Any, client: httpx.AsyncClient) -> None:
    (alice, a_wallet, a1, _), (bob, b_wallet, b1, _), cid = await _accepted(client)
    for _ in range(2):  # the writer now knows the conversation as accepted
        await alice.send(cid, _envelope(a1, b1))

    await bob.block(cid)
    with pytest.raises(ChatError) as blocked:
        await alice.send(cid, _envelope(a1, b1))
    assert blocked.value.code == "conversation_blocked"
    await bob.accept(cid)  # unblock
    assert (await alice.send(cid, _envelope(a1, b1)))["seq"] == 3
    seqs, events = await _stored(app, cid)
    assert seqs == [1, 2, 3]
    assert events == 3


async def test_delivered_receipts_are_clamped_monotonic_and_members_only(app: Any, client: httpx.AsyncClient) -> None:
    (alice, a_wallet, a1, _), (bob, b_wallet, b1, _), cid = await _accepted(client)
    _, e_wallet, e1, _ = await _person(client)
    for _ in range(2):
        await alice.send(cid, _envelope(a1, b1))
    writer = chat_runtime(app.state.runtime).writer

    with pytest.raises(ConversationNotFound):
        await writer.submit(ReceiptOp(wallet=e_wallet, device_id=e1.device_id, conversation_id=cid, up_to=1))
    ahead = await writer.submit(ReceiptOp(wallet=b_wallet, device_id=b1.device_id, conversation_id=cid, up_to=99))
    assert ahead.frame["up_to"] == 2, "never beyond the last stored message"
    assert ahead.wallets == (a_wallet,)
    await writer.submit(ReceiptOp(wallet=b_wallet, device_id=b1.device_id, conversation_id=cid, up_to=1))
    async with app.state.runtime.db.read() as conn:
        rows = (await conn.execute(
            select(device_cursors.c.device_id, device_cursors.c.delivered_up_to)
            .where(device_cursors.c.conversation_id == cid)
        )).all()
    assert {r.device_id: r.delivered_up_to for r in rows} == {b1.device_id: 2}, "monotonic; nothing for a stranger"


async def test_a_failed_receipt_write_keeps_the_sends_of_its_batch(
    app: Any, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    (alice, a_wallet, a1, _), (bob, b_wallet, b1, _), cid = await _accepted(client)
    await alice.send(cid, _envelope(a1, b1))
    await bob.send(cid, _envelope(b1, a1))
    failures = []
    real = writer_module.store_delivered

    async def fails_once(conn: Any, ops: Any) -> Any:
        if not failures:
            failures.append(len(ops))
            raise RuntimeError("the receipt statement failed")
        return await real(conn, ops)

    monkeypatch.setattr(writer_module, "store_delivered", fails_once)
    settings = app.state.runtime.settings
    writer = chat_runtime(app.state.runtime).writer
    prepared = prepare_send(
        cid, a_wallet, Envelope.model_validate(_envelope(a1, b1)),
        max_bytes=settings.chat_max_envelope_bytes, max_devices=settings.chat_max_payload_devices,
    )
    sent = writer.submit(prepared)  # both queued before the writer runs: one batch
    receipt = writer.submit(ReceiptOp(wallet=b_wallet, device_id=b1.device_id, conversation_id=cid, up_to=2))
    stored, relayed = await asyncio.gather(sent, receipt)
    assert failures == [1]
    assert (stored.seq, stored.duplicate) == (3, False)
    assert relayed.frame["up_to"] == 2, "the receipt was written on the retry"
    seqs, events = await _stored(app, cid)
    assert seqs == [1, 2, 3]
    assert events == 3
