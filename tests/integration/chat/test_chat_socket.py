"""The WebSocket gateway with real end-to-end encryption: two accounts, multi-device, receipts,
typing, unread counts, idempotent resend, ordering, reconnect + resume, strangers and bad sockets."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import LargeBinary, String, Text, select
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from atlas.client.chat import ChatError, ChatSocket, make_envelope
from atlas.client.e2e.api import build_envelope, open_envelope
from atlas.db import metadata
from atlas.tables import import_all_tables


def _msg(text: str) -> dict[str, Any]:
    return {"v": 1, "type": "text", "text": text}


@pytest.fixture
def server(shared_server: Any) -> Any:
    return shared_server


async def _say(person: Any, device: int, cid: str, peer: str, text: str, **kw: Any) -> dict[str, Any]:
    return await build_envelope(person.http, person.devices[device], cid, peer, _msg(text), **kw)


async def _read(person: Any, device: int, frame: dict[str, Any]) -> str:
    assert len(frame["envelope"]["payloads"]) == 1
    assert frame["envelope"]["payloads"][0]["device_id"] == person.devices[device].device_id
    opened = await open_envelope(person.http, person.devices[device], frame["conversation_id"], frame["sender"], frame["envelope"])
    assert opened is not None
    text: str = opened.message["text"]
    return text


async def test_two_accounts_multi_device_end_to_end(server: Any, people: Any) -> None:
    alice, bob = await people(2), await people(2)
    cid = (await alice.api.start(bob.wallet))["id"]
    a0, a1 = await alice.connect(server.url, 0), await alice.connect(server.url, 1)
    b0, b1 = await bob.connect(server.url, 0), await bob.connect(server.url, 1)
    assert a0.ready == {"type": "ready", "wallet": alice.wallet, "device_id": alice.devices[0].device_id}

    # First contact lands as a request; every device of Bob and Alice's other device get it.
    hello = await _say(alice, 0, cid, bob.wallet, "hello bob")
    ack = await a0.send(cid, hello)
    assert ack["seq"] == 1
    assert ack["server_ts"].endswith("Z")
    assert await _read(bob, 0, await b0.next("message")) == "hello bob"
    assert await _read(bob, 1, await b1.next("message")) == "hello bob"
    mine = await a1.next("message")
    assert mine["sender"] == alice.wallet
    assert await _read(alice, 1, mine) == "hello bob"
    assert await a0.quiet("message") == [], "the sending device gets an ack, not a copy"

    with pytest.raises(ChatError) as early:
        await b0.send(cid, await _say(bob, 0, cid, alice.wallet, "too early"))
    assert early.value.code == "request_not_accepted"
    await bob.api.accept(cid)
    assert (await a0.next("conversation"))["state"] == "accepted"

    reply = await b0.send(cid, await _say(bob, 0, cid, alice.wallet, "hi alice"))
    assert reply["seq"] == 2
    assert await _read(alice, 0, await a0.next("message")) == "hi alice"
    assert await _read(alice, 1, await a1.next("message")) == "hi alice"
    assert await _read(bob, 1, await b1.next("message")) == "hi alice"

    # Receipts: delivered goes to the sender's devices; read only to the reader's own devices.
    await b0.receipt(cid, "delivered", 1)
    for sock in (a0, a1):
        got = await sock.next("receipt")
        assert got == {"type": "receipt", "conversation_id": cid, "kind": "delivered", "up_to": 1, "from": bob.wallet}
    assert (await bob.api.inbox())["conversations"][0]["unread_count"] == 1
    await b0.receipt(cid, "read", 1)
    seen = await b1.next("receipt")
    assert (seen["kind"], seen["up_to"], seen["unread_count"]) == ("read", 1, 0)
    assert await a0.quiet("receipt") == []
    assert await a1.quiet("receipt") == []
    assert (await bob.api.inbox())["conversations"][0]["unread_count"] == 0

    # Typing: ephemeral, to the peer only.
    await a0.typing(cid, "start")
    for sock in (b0, b1):
        typing = await sock.next("typing")
        assert (typing["from"], typing["state"], typing["expires_in"]) == (alice.wallet, "start", 5)
    assert await a1.quiet("typing") == []

    # Idempotent resend: the original seq, nothing delivered twice.
    again = await a0.send(cid, hello)
    assert (again["seq"], again["duplicate"]) == (1, True)
    assert await b0.quiet("message") == []

    # Ordering: a burst arrives in seq order on every device.
    burst = [await _say(alice, 0, cid, bob.wallet, f"burst {i}") for i in range(8)]
    futures = [await a0.submit(cid, env) for env in burst]
    acks = [await asyncio.wait_for(f, 10) for f in futures]
    assert [a["seq"] for a in acks] == list(range(3, 11))
    got = await b0.collect(8)
    assert [f["seq"] for f in got] == list(range(3, 11))
    assert [await _read(bob, 0, f) for f in got] == [f"burst {i}" for i in range(8)]
    await b0.receipt(cid, "delivered", 10)
    await b1.collect(8)

    # Reconnect + resume: nothing lost, nothing duplicated.
    resume = dict(b1.last_seq)
    assert resume == {cid: 10}
    await b1.close()
    for i in range(3):
        await a0.send(cid, await _say(alice, 0, cid, bob.wallet, f"while away {i}"))
    b1 = await bob.connect(server.url, 1, resume=resume)
    back = await b1.collect(3)
    assert [f["seq"] for f in back] == [11, 12, 13]
    assert [await _read(bob, 1, f) for f in back] == [f"while away {i}" for i in range(3)]
    assert await b1.quiet("message") == []
    # Offline delivery without an explicit resume: the server's cursor (b0 said "delivered up to 10").
    await b0.close()
    b0 = await bob.connect(server.url, 0)
    assert [f["seq"] for f in await b0.collect(3)] == [11, 12, 13]
    assert await b0.quiet("message") == []

    unread = (await bob.api.inbox())["conversations"][0]
    assert unread["unread_count"] == 11
    assert unread["last_message"]["seq"] == 13
    history = await bob.api.messages(cid, device_id=bob.devices[0].device_id)
    assert [m["seq"] for m in history["messages"]] == list(range(1, 14))
    assert all(len(m["envelope"]["payloads"]) <= 1 for m in history["messages"])
    metrics = (await alice.http.get("/metrics")).text
    assert "atlas_websockets_open 4.0" in metrics
    assert "atlas_chat_messages_stored_total" in metrics
    assert "atlas_chat_messages_delivered_total" in metrics

    typed = ["hello bob", "hi alice", "too early", *(f"burst {i}" for i in range(8)), *(f"while away {i}" for i in range(3))]
    await _assert_no_plaintext(server.env["ATLAS_DATABASE_URL"], typed)


async def _assert_no_plaintext(database_url: str, typed: list[str]) -> None:
    """Scan every text and blob column of every table for anything the test typed."""
    import_all_tables()
    needles = [t.encode() for t in typed]
    engine = create_async_engine(database_url)
    scanned = 0
    try:
        async with engine.connect() as conn:
            for table in metadata.sorted_tables:
                cols = [c for c in table.columns if isinstance(c.type, String | Text | LargeBinary)]
                if not cols:
                    continue
                for row in (await conn.execute(select(*cols))).all():
                    for value in row:
                        raw = value.encode() if isinstance(value, str) else bytes(value) if value is not None else b""
                        scanned += 1
                        assert not any(n in raw for n in needles), f"plaintext in table {table.name}"
    finally:
        await engine.dispose()
    assert scanned > 50


async def test_strangers_and_bad_sockets_are_refused(server: Any, people: Any) -> None:
    alice, bob, eve = await people(), await people(), await people()
    cid = (await alice.api.start(bob.wallet))["id"]
    await bob.api.accept(cid)
    a = await alice.connect(server.url)
    e = await eve.connect(server.url)
    env = make_envelope(eve.devices[0].device_id, {alice.devices[0].device_id: b"x", bob.devices[0].device_id: b"x"})
    with pytest.raises(ChatError) as posted:
        await e.send(cid, env)
    assert posted.value.code == "conversation_not_found"
    await e.typing(cid)
    assert (await e.next("error"))["code"] == "conversation_not_found"
    await e.receipt(cid, "delivered", 1)
    assert (await e.next("error"))["code"] == "conversation_not_found"
    await e.send_frame({"type": "nonsense"})
    assert (await e.next("error"))["code"] == "invalid_frame"
    await a.send(cid, make_envelope(alice.devices[0].device_id, {bob.devices[0].device_id: b"secret"}))
    assert await e.quiet(None) == [], "the stranger's socket stays open and receives nothing"
    for _ in range(5):
        await a.typing(cid)
    await a.typing(cid)
    assert (await a.next("error"))["code"] == "rate_limited", "typing is rate-limited per conversation"
    await e.ping()
    assert (await e.next("pong"))["type"] == "pong"

    ws_url = server.url.replace("http", "ws") + "/v1/ws"
    for first in (
        {"type": "auth", "token": "not-a-token", "device_id": str(uuid.uuid4())},
        {"type": "send", "conversation_id": cid},
        "garbage",
    ):
        async with connect(ws_url) as ws:
            await ws.send(first if isinstance(first, str) else json.dumps(first))
            error = json.loads(await ws.recv())
            assert error["type"] == "error"
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4401
    with pytest.raises(ChatError) as wrong_device:
        await ChatSocket.connect(server.url, eve.token, alice.devices[0].device_id)
    assert wrong_device.value.code == "unknown_device"

    async with connect(ws_url) as ws:  # no auth frame: the server gives up (1 s in these tests)
        error = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert error["code"] == "auth_timeout"
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4401


async def test_signing_out_closes_the_open_socket(server: Any, people: Any) -> None:
    """A socket authenticates once; logout (or revocation) must still end it promptly."""
    alice, bob = await people(), await people()
    kept = await bob.connect(server.url)
    sock = await alice.connect(server.url)
    resp = await alice.http.post("/v1/auth/logout", headers=alice.signed.headers)
    assert resp.status_code in (200, 204), resp.text
    code, reason = await asyncio.wait_for(sock.closed, 10)
    assert (code, reason) == (4401, "session_revoked")
    await kept.ping()
    assert (await kept.next("pong"))["type"] == "pong", "other sessions' sockets stay open"
