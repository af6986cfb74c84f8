"""Several server processes on one database (+ Redis): cross-process delivery, a server killed
mid-stream and restarted with nothing lost, and no plaintext anywhere in the database."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from atlas.client.chat import ChatError, ChatSocket
from atlas.client.e2e.api import build_envelope, open_envelope


def _msg(text: str) -> dict[str, Any]:
    return {"v": 1, "type": "text", "text": text}


async def _open(person: Any, device: int, frame: dict[str, Any]) -> str:
    opened = await open_envelope(person.http, person.devices[device], frame["conversation_id"], frame["sender"], frame["envelope"])
    assert opened is not None
    text: str = opened.message["text"]
    return text


@pytest.fixture
async def server(spawn: Any) -> Any:
    return await spawn()


@pytest.fixture
async def pair(spawn: Any) -> Any:
    return await spawn(2)


async def test_delivery_across_server_processes(pair: Any, people_on: Any) -> None:
    server, other = pair
    people = people_on(server)
    alice, bob = await people(1), await people(2)
    cid = (await alice.api.start(bob.wallet))["id"]
    await bob.api.accept(cid)
    a = await alice.connect(server.url)
    b_remote = await bob.connect(other.url, 0)
    b_local = await bob.connect(server.url, 1)

    env = await build_envelope(alice.http, alice.devices[0], cid, bob.wallet, _msg("across processes"))
    assert (await a.send(cid, env))["seq"] == 1
    assert await _open(bob, 0, await b_remote.next("message")) == "across processes"
    assert await _open(bob, 1, await b_local.next("message")) == "across processes"

    reply = await build_envelope(bob.http, bob.devices[0], cid, alice.wallet, _msg("and back"))
    assert (await b_remote.send(cid, reply))["seq"] == 2
    assert await _open(alice, 0, await a.next("message")) == "and back"
    assert await _open(bob, 1, await b_local.next("message")) == "and back"

    await b_remote.receipt(cid, "delivered", 2)
    assert (await a.next("receipt"))["up_to"] == 2
    await b_remote.receipt(cid, "read", 2)
    assert (await b_local.next("receipt"))["kind"] == "read"
    await a.typing(cid)
    assert (await b_remote.next("typing"))["from"] == alice.wallet

    # Both processes allocate seqs for the same conversation concurrently: still 1, 2, 3, … no gaps.
    envs_a = [await build_envelope(alice.http, alice.devices[0], cid, bob.wallet, _msg(f"a{i}")) for i in range(10)]
    envs_b = [await build_envelope(bob.http, bob.devices[0], cid, alice.wallet, _msg(f"b{i}")) for i in range(10)]
    futures = [await a.submit(cid, e) for e in envs_a] + [await b_remote.submit(cid, e) for e in envs_b]
    seqs = sorted([(await asyncio.wait_for(f, 10))["seq"] for f in futures])
    assert seqs == list(range(3, 23))
    got = await b_local.collect(20)
    assert [f["seq"] for f in got] == list(range(3, 23)), "in order, across both processes' senders"


async def test_server_killed_mid_stream_loses_nothing(server: Any, people: Any) -> None:
    alice, bob = await people(), await people()
    cid = (await alice.api.start(bob.wallet))["id"]
    await bob.api.accept(cid)
    texts = [f"crash-test message {i}" for i in range(40)]
    envelopes = [
        await build_envelope(alice.http, alice.devices[0], cid, bob.wallet, _msg(t)) for t in texts
    ]
    a = await alice.connect(server.url)
    b = await bob.connect(server.url, auto_delivered=True)
    futures = [await a.submit(cid, e) for e in envelopes[:25]]
    await asyncio.wait_for(futures[9], 10)
    server.kill()
    acked: dict[str, int] = {}
    for env, fut in zip(envelopes, futures, strict=False):
        with contextlib.suppress(ChatError, TimeoutError):
            acked[env["client_msg_id"]] = (await asyncio.wait_for(fut, 5))["seq"]
    received = [f async for f in _drain(b)]
    await server.start()

    a = await ChatSocket.connect(server.url, alice.token, alice.devices[0].device_id)
    b = await ChatSocket.connect(server.url, bob.token, bob.devices[0].device_id, resume=_last(received))
    alice.sockets += [a]
    bob.sockets += [b]
    for env in envelopes:  # resend everything not acknowledged: the server dedupes by client_msg_id
        ack = await a.send(cid, env)
        if env["client_msg_id"] in acked:
            assert ack["seq"] == acked[env["client_msg_id"]]
            assert ack["duplicate"]
    received += await b.collect(len(texts) - len(received), timeout=15)
    assert [f["seq"] for f in received] == list(range(1, len(texts) + 1))
    assert [await _open(bob, 0, f) for f in received] == texts
    assert await b.quiet("message") == []


async def _drain(sock: ChatSocket) -> Any:
    while True:
        try:
            yield await sock.next("message", timeout=0.5)
        except TimeoutError:
            return


def _last(frames: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in frames:
        out[f["conversation_id"]] = max(out.get(f["conversation_id"], 0), f["seq"])
    return out


async def test_writer_lanes_keep_each_conversations_order(spawn: Any, people_on: Any) -> None:
    """With several write lanes (PostgreSQL; SQLite keeps one), a sender's pipelined messages still
    get ascending seqs in the order sent, in every conversation."""
    server = await spawn(ATLAS_CHAT_WRITER_LANES="3")
    people = people_on(server)
    alice, peers = await people(1), [await people(1) for _ in range(3)]
    cids = []
    for peer in peers:
        cid = (await alice.api.start(peer.wallet))["id"]
        await peer.api.accept(cid)
        cids.append(cid)
    planned = []
    for n in range(24):
        k = n % len(peers)
        planned.append((k, await build_envelope(alice.http, alice.devices[0], cids[k], peers[k].wallet, _msg(str(n)))))
    sock = await alice.connect(server.url)
    pending = [(k, await sock.submit(cids[k], env)) for k, env in planned]  # all in flight at once
    acks = [(k, await asyncio.wait_for(fut, 20)) for k, fut in pending]
    for k in range(len(peers)):
        assert [ack["seq"] for j, ack in acks if j == k] == list(range(1, 9))
