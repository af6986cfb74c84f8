"""Chat over REST, in-process: requests and consent, limits, device checks, inbox, history, stores."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from atlas.app import create_app
from atlas.chat.tables import messages
from atlas.client.auth import sign_in
from atlas.client.chat import ChatApi, ChatError, make_envelope
from atlas.client.e2e.api import register
from atlas.client.e2e.device import Device
from atlas.events.tables import outbox
from atlas.users.tables import users


async def _person(client: httpx.AsyncClient, devices: int = 1) -> tuple[ChatApi, str, list[Device]]:
    signed = await sign_in(client)
    made = []
    for _ in range(devices):
        device = Device.generate(signed.wallet)
        await register(client, device, signed.account, signed.headers)
        made.append(device)
    return ChatApi(client, signed.headers), signed.wallet, made


def _envelope(sender: Device, *recipients: Device, body: bytes = b"\x00opaque", cmid: str | None = None) -> dict[str, Any]:
    return make_envelope(sender.device_id, {d.device_id: body for d in recipients}, client_msg_id=cmid)


async def test_requests_consent_and_blocking(client: httpx.AsyncClient, app: Any) -> None:
    alice, a_wallet, (a1,) = await _person(client)
    bob, b_wallet, (b1,) = await _person(client)
    convo = await alice.start(b_wallet.upper().replace("0X", "0x"))
    assert convo["state"] == "request"
    assert convo["peer"] == b_wallet
    assert convo["initiator"] == a_wallet
    uuid.UUID(convo["id"])
    again = await alice.start(b_wallet)
    assert again["id"] == convo["id"]
    from_bob = await bob.start(a_wallet)
    assert from_bob["id"] == convo["id"], "one conversation per pair, whoever starts it"
    cid = convo["id"]

    ack = await alice.send(cid, _envelope(a1, b1))
    assert ack["seq"] == 1
    assert not ack["duplicate"]
    with pytest.raises(ChatError) as early:
        await bob.send(cid, _envelope(b1, a1))
    assert early.value.code == "request_not_accepted"
    assert early.value.status == 403
    with pytest.raises(ChatError) as self_accept:
        await alice.accept(cid)
    assert self_accept.value.code == "not_allowed"
    requests = await bob.inbox(state="request")
    assert [c["id"] for c in requests["conversations"]] == [cid]
    assert requests["conversations"][0]["unread_count"] == 1

    assert (await bob.accept(cid))["state"] == "accepted"
    assert (await bob.send(cid, _envelope(b1, a1)))["seq"] == 2
    blocked = await bob.block(cid)
    assert blocked["state"] == "blocked"
    assert blocked["blocked_by_me"] is True
    with pytest.raises(ChatError) as stopped:
        await alice.send(cid, _envelope(a1, b1))
    assert stopped.value.code == "conversation_blocked"
    with pytest.raises(ChatError):
        await alice.accept(cid)  # only the blocker unblocks
    assert (await bob.accept(cid))["state"] == "accepted"
    assert (await alice.send(cid, _envelope(a1, b1)))["seq"] == 3

    async with app.state.runtime.db.read() as conn:
        kinds = [r.event_type for r in (await conn.execute(select(outbox.c.event_type).order_by(outbox.c.id))).all()]
    chat_kinds = [k for k in kinds if k.startswith(("CONVERSATION", "MESSAGE"))]
    assert chat_kinds == [
        "CONVERSATION_STARTED", "MESSAGE_SENT", "CONVERSATION_STATE_CHANGED", "MESSAGE_SENT",
        "CONVERSATION_STATE_CHANGED", "CONVERSATION_STATE_CHANGED", "MESSAGE_SENT",
    ]


async def test_new_requests_are_rate_limited_per_hour(make_settings: Any) -> None:
    app = create_app(make_settings(chat_requests_per_hour=2))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http,
    ):
        alice, _, _ = await _person(http)
        peers = [(await _person(http, devices=0))[1] for _ in range(3)]
        await alice.start(peers[0])
        await alice.start(peers[1])
        await alice.start(peers[0])  # an existing conversation is not a new request
        with pytest.raises(ChatError) as limited:
            await alice.start(peers[2])
        assert limited.value.status == 429
        assert limited.value.code == "request_rate_limited"


async def test_idempotency_devices_and_limits(client: httpx.AsyncClient, app: Any) -> None:
    alice, _, (a1, a2) = await _person(client, devices=2)
    bob, b_wallet, (b1, b2) = await _person(client, devices=2)
    cid = (await alice.start(b_wallet))["id"]
    env = _envelope(a1, b1, b2, a2)
    first = await alice.send(cid, env)
    repeat = await alice.send(cid, env)
    assert (repeat["seq"], repeat["duplicate"]) == (first["seq"], True)

    stranger = str(uuid.uuid4())
    with pytest.raises(ChatError) as unknown:
        await alice.send(cid, make_envelope(a1.device_id, {b1.device_id: b"x", b2.device_id: b"x", a2.device_id: b"x", stranger: b"x"}))
    assert unknown.value.code == "unknown_device"
    assert unknown.value.body["unknown"] == [stranger]
    with pytest.raises(ChatError) as missing:
        await alice.send(cid, _envelope(a1, b1, a2))
    assert missing.value.code == "missing_device"
    assert missing.value.body["missing"] == [b2.device_id]
    with pytest.raises(ChatError) as not_mine:
        await alice.send(cid, _envelope(b1, b2, a1, a2))
    assert not_mine.value.code == "unknown_sender_device"
    with pytest.raises(ChatError) as too_big:
        await alice.send(cid, _envelope(a1, b1, b2, a2, body=b"x" * 100_000))
    assert too_big.value.status == 413
    bad = _envelope(a1, b1, b2, a2)
    bad["payloads"][0]["body"] = "%%%"
    with pytest.raises(ChatError) as b64:
        await alice.send(cid, bad)
    assert b64.value.code == "invalid_base64"
    async with app.state.runtime.db.read() as conn:
        seqs = [r.seq for r in (await conn.execute(select(messages.c.seq).where(messages.c.conversation_id == cid))).all()]
    assert seqs == [1]


async def test_history_inbox_unread_and_search(client: httpx.AsyncClient, app: Any) -> None:
    alice, a_wallet, (a1,) = await _person(client)
    bob, b_wallet, (b1,) = await _person(client)
    carol, c_wallet, (c1,) = await _person(client)
    ab = (await alice.start(b_wallet))["id"]
    ac = (await alice.start(c_wallet))["id"]
    await bob.accept(ab)
    for i in range(5):
        await alice.send(ab, _envelope(a1, b1, body=f"cipher{i}".encode()))
    await alice.send(ac, _envelope(a1, c1))

    page = await bob.messages(ab, limit=2)
    assert [m["seq"] for m in page["messages"]] == [4, 5]
    assert page["next_before"] == 4
    older = await bob.messages(ab, before=page["next_before"], limit=10)
    assert [m["seq"] for m in older["messages"]] == [1, 2, 3]
    assert older["next_before"] is None
    body = older["messages"][0]["envelope"]["payloads"][0]["body"]
    assert base64.b64decode(body) == b"cipher0"

    inbox = await alice.inbox()
    assert [c["id"] for c in inbox["conversations"]] == [ac, ab], "most recent activity first"
    assert inbox["conversations"][1]["last_message"]["seq"] == 5
    assert inbox["conversations"][1]["unread_count"] == 0, "own messages are never unread"
    first = await alice.inbox(limit=1)
    rest = await alice.inbox(limit=1, cursor=first["next_cursor"])
    assert [c["id"] for c in first["conversations"] + rest["conversations"]] == [ac, ab]
    assert rest["next_cursor"] is None
    assert [c["id"] for c in (await alice.inbox(q=c_wallet[2:12].upper()))["conversations"]] == [ac]
    async with app.state.runtime.db.write() as conn:
        await conn.execute(update(users).where(users.c.wallet == b_wallet).values(display_name="Bob Marley"))
    by_name = (await alice.inbox(q="marl"))["conversations"]
    assert [c["id"] for c in by_name] == [ab]
    assert by_name[0]["peer_display_name"] == "Bob Marley"
    assert (await alice.inbox(q="no such name"))["conversations"] == []

    bob_view = (await bob.inbox())["conversations"][0]
    assert bob_view["unread_count"] == 5
    read = await bob.read(ab, 3)
    assert read == {"conversation_id": ab, "read_up_to": 3, "unread_count": 2}
    assert (await bob.read(ab, 1))["read_up_to"] == 3, "the marker never goes back"
    assert (await bob.read(ab, 999))["read_up_to"] == 5
    with pytest.raises(ChatError) as bad_cursor:
        await alice.inbox(cursor="nonsense")
    assert bad_cursor.value.status == 400


async def test_strangers_see_nothing(client: httpx.AsyncClient) -> None:
    alice, _, (a1,) = await _person(client)
    bob, b_wallet, (b1,) = await _person(client)
    eve, _, (e1,) = await _person(client)
    cid = (await alice.start(b_wallet))["id"]
    await alice.send(cid, _envelope(a1, b1))
    for call in (
        eve.conversation(cid), eve.messages(cid), eve.accept(cid), eve.block(cid), eve.read(cid, 1),
        eve.send(cid, _envelope(e1, a1)),
    ):
        with pytest.raises(ChatError) as denied:
            await call
        assert denied.value.status == 404
        assert denied.value.code == "conversation_not_found"
    assert (await eve.inbox())["conversations"] == []
    anonymous = await client.get(f"/v1/conversations/{cid}/messages")
    assert anonymous.status_code == 401
    assert (await client.post("/v1/conversations", json={"peer": b_wallet})).status_code == 401


async def test_a_message_in_an_accepted_conversation_activates_a_referral(client: httpx.AsyncClient, app: Any) -> None:
    referrer, r_wallet, (r1,) = await _person(client)
    code = (await client.get(f"/v1/users/{r_wallet}")).json()["referral_code"]
    signed = await sign_in(client, referral_code=code)
    device = Device.generate(signed.wallet)
    await register(client, device, signed.account, signed.headers)
    invitee = ChatApi(client, signed.headers)
    assert (await client.patch("/v1/users/me", json={"display_name": "Invitee"}, headers=signed.headers)).status_code == 200
    cid = (await invitee.start(r_wallet))["id"]
    await invitee.send(cid, _envelope(device, r1))  # still a request: no activation yet

    async def activated() -> list[str]:
        async with app.state.runtime.db.read() as conn:
            rows = (await conn.execute(select(outbox.c.event_type))).all()
        return [r.event_type for r in rows if r.event_type == "REFERRAL_ACTIVATED"]

    assert await activated() == []
    await referrer.accept(cid)
    await invitee.send(cid, _envelope(device, r1))
    assert await activated() == ["REFERRAL_ACTIVATED"]
