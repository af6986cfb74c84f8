"""One contract, two buses: every test here runs on the in-process bus and on Redis Streams."""

from __future__ import annotations

import asyncio

import pytest

from atlas.events.bus import Bus, GroupMissingError, parse_id, seq_to_id

S = "events"
G = "ledger"


async def _add(bus: Bus, n: int, start: int = 0) -> list[str]:
    ids = await bus.add(S, [{"n": str(start + i)} for i in range(n)])
    assert all(i is not None for i in ids)
    return [i for i in ids if i is not None]


async def test_add_assigns_increasing_ids_and_read_returns_after(bus: Bus) -> None:
    ids = await _add(bus, 5)
    assert [parse_id(i) for i in ids] == sorted(parse_id(i) for i in ids)
    assert len(set(ids)) == 5
    assert await bus.length(S) == 5
    got = await bus.read(S, ids[1], 10)
    assert [m.fields["n"] for m in got] == ["2", "3", "4"]
    assert await bus.last_id(S) == ids[-1]
    assert await bus.read(S, ids[-1], 10) == []


async def test_explicit_ids_skip_what_the_stream_already_holds(bus: Bus) -> None:
    first = await bus.add("ledger", [{"seq": "0"}, {"seq": "1"}], ids=[seq_to_id(0), seq_to_id(1)])
    assert first == ["1-0", "2-0"]
    again = await bus.add("ledger", [{"seq": "1"}, {"seq": "2"}], ids=[seq_to_id(1), seq_to_id(2)])
    assert again == [None, "3-0"]
    assert [m.fields["seq"] for m in await bus.read("ledger", seq_to_id(0), 10)] == ["1", "2"]


async def test_read_blocks_until_a_message_arrives(bus: Bus) -> None:
    async def later() -> None:
        await asyncio.sleep(0.1)
        await _add(bus, 1)

    task = asyncio.create_task(later())
    got = await bus.read(S, "0-0", 10, block_ms=3000)
    await task
    assert [m.fields["n"] for m in got] == ["0"]


async def test_group_delivers_each_message_once_and_keeps_unacked_pending(bus: Bus) -> None:
    await bus.ensure_group(S, G)
    await bus.ensure_group(S, G)  # idempotent
    await _add(bus, 4)
    a = await bus.read_group(S, G, "c1", 3)
    b = await bus.read_group(S, G, "c2", 3)
    assert [m.fields["n"] for m in a] == ["0", "1", "2"]
    assert [m.fields["n"] for m in b] == ["3"]
    assert await bus.read_group(S, G, "c1", 3) == []
    assert await bus.pending(S, G) == 4
    assert await bus.ack(S, G, [a[0].id, a[2].id]) == 2
    assert await bus.ack(S, G, [a[0].id]) == 0
    mine = await bus.read_group(S, G, "c1", 10, pending=True)
    assert [m.fields["n"] for m in mine] == ["1"]
    assert await bus.pending(S, G) == 2
    assert await bus.group_lag(S, G) == 2
    await _add(bus, 3, start=4)
    assert await bus.group_lag(S, G) == 5


async def test_group_read_blocks_for_new_messages(bus: Bus) -> None:
    await bus.ensure_group(S, G)

    async def later() -> None:
        await asyncio.sleep(0.1)
        await _add(bus, 2)

    task = asyncio.create_task(later())
    got = await bus.read_group(S, G, "c1", 10, block_ms=3000)
    await task
    assert len(got) >= 1


async def test_claim_stale_moves_idle_pending_messages_in_id_order(bus: Bus) -> None:
    await bus.ensure_group(S, G)
    await _add(bus, 3)
    await bus.read_group(S, G, "dead", 10)
    assert await bus.claim_stale(S, G, "alive", 60_000) == []  # not idle long enough
    await asyncio.sleep(0.05)
    claimed = await bus.claim_stale(S, G, "alive", 20)
    assert [m.fields["n"] for m in claimed] == ["0", "1", "2"]
    assert [m.fields["n"] for m in await bus.read_group(S, G, "alive", 10, pending=True)] == ["0", "1", "2"]
    assert await bus.read_group(S, G, "dead", 10, pending=True) == []


async def test_trim_drops_only_what_the_group_acknowledged(bus: Bus) -> None:
    await bus.ensure_group(S, G)
    ids = await _add(bus, 6)
    got = await bus.read_group(S, G, "c", 4)
    await bus.ack(S, G, [got[0].id, got[1].id, got[3].id])
    await bus.trim_acked(S, G)
    # msg 2 is still pending, 4 and 5 were never delivered: everything from 2 on stays
    assert [m.fields["n"] for m in await bus.read(S, "0-0", 10)] == ["2", "3", "4", "5"]
    await bus.ack(S, G, [got[2].id])
    await bus.trim_acked(S, G)
    assert [m.fields["n"] for m in await bus.read(S, "0-0", 10)] == ["4", "5"]
    rest = await bus.read_group(S, G, "c", 10)
    assert [m.id for m in rest] == ids[4:]
    await bus.ack(S, G, [m.id for m in rest])
    await bus.trim_acked(S, G)
    assert await bus.length(S) == 0


async def test_trim_maxlen_keeps_the_newest(bus: Bus) -> None:
    await _add(bus, 50)
    await bus.trim_maxlen(S, 10)
    # Redis trims approximately (whole nodes): at least the newest 10 survive, never more than all
    assert 10 <= await bus.length(S) <= 50
    got = await bus.read(S, "0-0", 100)
    assert got[-1].fields["n"] == "49"


async def test_dead_letters_keep_the_message_and_reason(bus: Bus) -> None:
    await bus.ensure_group(S, G)
    await _add(bus, 1)
    (msg,) = await bus.read_group(S, G, "c", 1)
    await bus.dead_letter(S, msg, "ledger append failed: ValueError: bad", 5)
    assert await bus.dead_letter_count(S) == 1
    (dead,) = await bus.dead_letters(S)
    assert dead.message_id == msg.id
    assert dead.fields == msg.fields
    assert dead.reason == "ledger append failed: ValueError: bad"
    assert dead.deliveries == 5


async def test_missing_group_is_reported_as_such(bus: Bus) -> None:
    with pytest.raises(GroupMissingError):
        await bus.read_group(S, "nobody", "c", 1)


async def test_lease_has_one_holder_until_it_expires_or_is_released(bus: Bus) -> None:
    assert await bus.lease("x", "a", 200)
    assert await bus.lease("x", "a", 200)  # renew
    assert not await bus.lease("x", "b", 200)
    await asyncio.sleep(0.3)
    assert await bus.lease("x", "b", 10_000)
    assert not await bus.lease("x", "a", 200)
    await bus.release("x", "a")  # not the holder: no effect
    assert not await bus.lease("x", "a", 200)
    await bus.release("x", "b")
    assert await bus.lease("x", "a", 200)


async def test_ping(bus: Bus) -> None:
    await bus.ping()
