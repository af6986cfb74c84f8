"""Outbox → bus → ledger → projections, in one process, on both buses (issue #4)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import httpx
import pytest
from events_helpers import RedisServer, emit_events, free_port, ledger_entries, wait_until
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.app import build_runtime, create_app
from atlas.config import Settings
from atlas.events import repository as repo
from atlas.events.bus import STREAM_EVENTS
from atlas.events.codec import decode
from atlas.events.models import ContentAction, Login
from atlas.events.outbox import emit, event_status
from atlas.events.projections import drive_projection, register_projection, reset_projection
from atlas.events.tables import event_dead_letters, outbox
from atlas.runtime import Runtime


async def ledger_of(runtime: Runtime) -> list[Any]:
    return list(await ledger_entries(runtime.db))


def assert_exactly_once_in_order(entries: list[Any], expected: dict[str, list[str]]) -> None:
    ids = [e.event_id for e in entries]
    assert len(ids) == len(set(ids)), "duplicate ledger entries"
    assert [e.seq for e in entries] == list(range(len(entries)))
    per_actor: dict[str, list[str]] = defaultdict(list)
    for e in entries:
        per_actor[e.actor].append(e.event_id)
    assert dict(per_actor) == expected


async def test_events_reach_the_ledger_exactly_once_in_causal_order(
    bridge_settings: Settings, start_runtime: Any
) -> None:
    runtime = await start_runtime(bridge_settings)
    expected: dict[str, list[str]] = defaultdict(list)
    for round_ in range(5):
        for actor in ("0xaaa", "0xbbb"):
            expected[actor] += await emit_events(runtime, actor, 3, start=round_ * 3)
    total = sum(len(v) for v in expected.values())

    async def all_in() -> bool:
        return len(await ledger_of(runtime)) >= total

    await wait_until(all_in)
    entries = await ledger_of(runtime)
    assert_exactly_once_in_order(entries, dict(expected))
    assert [e.payload["n"] for e in entries if e.actor == "0xaaa"] == list(range(15))

    async def all_delivered() -> bool:
        async with runtime.db.read() as conn:
            return await repo.outbox_depth(conn) == (0, 0)

    await wait_until(all_delivered)
    async with runtime.db.read() as conn:
        assert await event_status(conn, expected["0xaaa"][0]) == "delivered"
        assert await event_status(conn, "never-emitted") is None


async def test_projection_applies_each_entry_once_and_replay_redelivers(
    bridge_settings: Settings, start_runtime: Any, scratch_tables: None
) -> None:
    calls: list[list[int]] = []

    async def handle(conn: AsyncConnection, entries: list[Any]) -> None:
        calls.append([e.seq for e in entries])
        for e in entries:  # a primary key: applying an entry twice would fail the test
            await conn.execute(text("INSERT INTO proj_seen (seq, event_id) VALUES (:s, :e)"), {"s": e.seq, "e": e.event_id})

    async def reset(conn: AsyncConnection, from_seq: int) -> None:
        await conn.execute(text("DELETE FROM proj_seen WHERE seq >= :s"), {"s": from_seq})

    def setup(runtime: Runtime) -> None:
        register_projection(runtime, "seen", handle, reset=reset)

    runtime = await start_runtime(bridge_settings, setup=setup)
    ids = await emit_events(runtime, "0xaaa", 4) + await emit_events(runtime, "0xbbb", 4)

    async def seen() -> list[str]:
        async with runtime.db.read() as conn:
            return [r.event_id for r in await conn.execute(text("SELECT event_id FROM proj_seen ORDER BY seq"))]

    async def caught_up() -> bool:
        return len(await seen()) == 8

    await wait_until(caught_up)
    assert await seen() == ids
    async with runtime.db.read() as conn:
        assert await repo.read_offset(conn, "seen") == 7
    applied = [s for batch in calls for s in batch]
    assert applied == list(range(8))

    await reset_projection(runtime, "seen", 5)
    await wait_until(caught_up)
    assert await seen() == ids
    applied = [s for batch in calls for s in batch]
    assert applied == [*range(8), 5, 6, 7]


async def test_failing_projection_rolls_back_and_retries_without_double_effects(
    bridge_settings: Settings, start_runtime: Any, scratch_tables: None
) -> None:
    attempts = 0

    async def handle(conn: AsyncConnection, entries: list[Any]) -> None:
        nonlocal attempts
        for e in entries:
            await conn.execute(text("INSERT INTO proj_flaky (seq) VALUES (:s)"), {"s": e.seq})
        attempts += 1
        if attempts == 1:
            raise RuntimeError("transient")

    runtime = await start_runtime(bridge_settings, setup=lambda rt: register_projection(rt, "flaky", handle))
    await emit_events(runtime, "0xaaa", 5)

    async def done() -> bool:
        async with runtime.db.read() as conn:
            return await repo.read_offset(conn, "flaky") == 4

    await wait_until(done)
    async with runtime.db.read() as conn:
        assert [r.seq for r in await conn.execute(text("SELECT seq FROM proj_flaky ORDER BY seq"))] == [0, 1, 2, 3, 4]
    assert attempts >= 2


async def test_poison_event_is_dead_lettered_with_its_reason_and_the_rest_flows(
    bridge_settings: Settings, start_runtime: Any
) -> None:
    settings = bridge_settings.model_copy(update={"events_max_deliveries": 3})
    runtime = await start_runtime(settings, poison=("LOGIN",))
    before = await emit_events(runtime, "0xaaa", 2)
    bad = Login(actor="0xaaa", chain="eip155:1", session_hash="00" * 32)
    async with runtime.db.write() as conn:
        await emit(conn, [bad], at=runtime.clock.now())
    runtime.committed()
    after = await emit_events(runtime, "0xaaa", 2, start=2)

    async def all_in() -> bool:
        return len(await ledger_of(runtime)) == 4

    await wait_until(all_in)
    assert [e.event_id for e in await ledger_of(runtime)] == before + after
    bus = runtime.services["bus"]

    async def dead() -> bool:
        return await bus.dead_letter_count(STREAM_EVENTS) == 1

    await wait_until(dead)
    (letter,) = await bus.dead_letters(STREAM_EVENTS)
    assert decode(letter.fields)["event_id"] == bad.event_id
    assert letter.reason == "ledger append failed: ValueError: refusing LOGIN"
    assert letter.deliveries == 3
    async with runtime.db.read() as conn:
        assert await event_status(conn, bad.event_id) == "dead"
        assert await repo.outbox_depth(conn) == (0, 0)  # a dead row is not republished
    if not bus.durable:  # the in-process bus records its dead letters in the database
        async with runtime.db.read() as conn:
            row = (await conn.execute(select(event_dead_letters))).one()
        assert row.event_id == bad.event_id
        assert decode(json.loads(row.fields))["event_type"] == "LOGIN"


async def test_rows_published_but_not_delivered_reach_the_ledger_after_a_restart(
    bridge_settings: Settings, start_runtime: Any
) -> None:
    """A process dies after publishing and before the ledger got the events (no ledger at all here).

    More rows were lost than one batch holds, and newer rows wait unpublished: the ledger still
    gets all of them in outbox order."""
    settings = bridge_settings.model_copy(update={"events_batch_size": 4})
    first = build_runtime(settings)
    del first.services["ledger"]  # no ledger to append to: the relay publishes, nothing consumes
    await first.start()
    ids = []
    for i in range(5):
        ids += await emit_events(first, "0xaaa", 2, start=2 * i)

    async def published() -> bool:
        async with first.db.read() as conn:
            return await repo.outbox_depth(conn) == (0, 10)

    await wait_until(published)
    await first.stop()
    await first.db.dispose()
    for i in range(5, 8):  # committed while no server runs
        async with first.db.write() as conn:
            events = [ContentAction(actor="0xaaa", data={"n": 2 * i + k}) for k in range(2)]
            await emit(conn, list(events), at=first.clock.now())
        ids += [e.event_id for e in events]
    await first.db.dispose()

    second = await start_runtime(settings)

    async def all_in() -> bool:
        return len(await ledger_of(second)) == 16

    await wait_until(all_in)
    assert [e.event_id for e in await ledger_of(second)] == ids


async def test_redis_killed_and_restarted_loses_nothing_and_duplicates_nothing(
    own_redis: RedisServer, make_settings: Any, start_runtime: Any
) -> None:
    settings = make_settings(redis_url=own_redis.url, events_poll_seconds=0.05)
    runtime = await start_runtime(settings)
    expected: dict[str, list[str]] = defaultdict(list)
    for i in range(3):
        expected["0xaaa"] += await emit_events(runtime, "0xaaa", 5, start=i * 5)

    async def count_is(n: int) -> Any:
        async def check() -> bool:
            return len(await ledger_of(runtime)) == n

        return check

    await wait_until(await count_is(15))
    own_redis.kill()
    for i in range(3, 6):  # writes keep landing in the outbox while Redis is down
        expected["0xaaa"] += await emit_events(runtime, "0xaaa", 5, start=i * 5)
        expected["0xbbb"] += await emit_events(runtime, "0xbbb", 2, start=i * 2)
    async with runtime.db.read() as conn:
        undelivered = await conn.scalar(select(func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None)))
    assert undelivered == 21
    with pytest.raises((RedisConnectionError, OSError)):
        await runtime.probes["redis"]()
    own_redis.start()
    await wait_until(await count_is(36), timeout=30)
    entries = await ledger_of(runtime)
    assert_exactly_once_in_order(entries, dict(expected))


async def test_readyz_is_degraded_but_writes_land_when_redis_is_unreachable(make_settings: Any) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            resp = await http.get("/readyz")
            assert resp.status_code == 200
            body = resp.json()
            assert body["status"] == "degraded"
            assert body["checks"]["redis"].startswith("unreachable")
            runtime: Runtime = app.state.runtime
            await emit_events(runtime, "0xaaa", 3)
            async with runtime.db.read() as conn:
                assert await repo.outbox_depth(conn) == (3, 3)
            metrics = (await http.get("/metrics")).text
            assert "atlas_events_outbox_depth" in metrics
            assert "atlas_events_bus_errors_total" in metrics


async def test_replay_after_a_restart_reads_what_the_stream_no_longer_holds_from_the_ledger(
    bridge_settings: Settings, start_runtime: Any, scratch_tables: None
) -> None:
    applied: list[int] = []

    async def handle(conn: AsyncConnection, entries: list[Any]) -> None:
        applied.extend(e.seq for e in entries)

    def setup(runtime: Runtime) -> None:
        register_projection(runtime, "seen", handle)

    first = await start_runtime(bridge_settings, setup=setup)
    await emit_events(first, "0xaaa", 6)

    async def offset_is(runtime: Runtime, seq: int) -> Any:
        async def check() -> bool:
            async with runtime.db.read() as conn:
                return await repo.read_offset(conn, "seen") == seq

        return check

    await wait_until(await offset_is(first, 5))
    await first.stop()
    bus = first.services["bus"]
    if bus.durable:  # make Redis forget the ledger stream, as a trim would
        await bus.redis.delete(bus.key("ledger"))
    second = await start_runtime(bridge_settings, setup=setup)
    await reset_projection(second, "seen", 2)
    await wait_until(await offset_is(second, 5))
    assert applied == [0, 1, 2, 3, 4, 5, 2, 3, 4, 5]
    # driven directly (``atlas events replay --drive``), through the same runner
    await reset_projection(second, "seen", 4)
    await drive_projection(second, second.services["bus"], "seen")
    async with second.db.read() as conn:
        assert await repo.read_offset(conn, "seen") == 5
    assert applied[10:12] == [4, 5]


async def test_monitor_reports_outbox_depth_streams_pending_and_projection_lag(
    bridge_settings: Settings, start_runtime: Any
) -> None:
    from atlas.observability import REGISTRY

    gate = asyncio.Event()

    async def slow(conn: AsyncConnection, entries: list[Any]) -> None:
        if not gate.is_set():  # the projection stays behind until the test lets it go
            raise RuntimeError("not yet")

    runtime = await start_runtime(bridge_settings, setup=lambda rt: register_projection(rt, "slow", slow))
    await emit_events(runtime, "0xaaa", 4)

    async def in_ledger() -> bool:
        return len(await ledger_of(runtime)) == 4

    await wait_until(in_ledger)
    monitor = runtime.services["events"].monitor

    async def refreshed_and_delivered() -> bool:
        await monitor.refresh()
        return REGISTRY.get_sample_value("atlas_events_outbox_depth", {"state": "undelivered"}) == 0

    await wait_until(refreshed_and_delivered)
    assert REGISTRY.get_sample_value("atlas_events_stream_length", {"stream": "ledger"}) == 4
    assert REGISTRY.get_sample_value("atlas_events_consumer_lag_entries", {"consumer": "slow"}) == 4
    assert REGISTRY.get_sample_value("atlas_events_consumer_lag_entries", {"consumer": "ledger"}) == 0
    assert REGISTRY.get_sample_value("atlas_events_pending_entries", {"stream": "events", "group": "ledger"}) == 0
    gate.set()

    async def caught_up() -> bool:
        await monitor.refresh()
        return REGISTRY.get_sample_value("atlas_events_consumer_lag_entries", {"consumer": "slow"}) == 0

    await wait_until(caught_up)
