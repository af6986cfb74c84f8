"""Fixtures of the event-bridge tests: private Redis servers and runtimes with a fake ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from events_helpers import PoisonLedger, RedisServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from atlas.app import build_runtime
from atlas.config import Settings
from atlas.events.bus import Bus, InProcessBus
from atlas.events.redis_bus import RedisBus
from atlas.runtime import Runtime


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private redis-server for the whole session (namespaces keep tests apart)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server this test may kill and restart."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture(params=["inprocess", "redis"])
def bus_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def bus(bus_kind: str, redis_server: RedisServer, make_settings: Any) -> AsyncIterator[Bus]:
    b: Bus = RedisBus(redis_server.url, make_settings().redis_namespace) if bus_kind == "redis" else InProcessBus()
    yield b
    await b.close()


@pytest.fixture
def bridge_settings(bus_kind: str, redis_server: RedisServer, make_settings: Any) -> Settings:
    settings: Settings = make_settings(
        redis_url=redis_server.url if bus_kind == "redis" else None, events_poll_seconds=0.05
    )
    return settings


RuntimeFactory = Callable[..., Any]

SCRATCH_TABLES = {
    "proj_seen": "CREATE TABLE IF NOT EXISTS proj_seen (seq BIGINT PRIMARY KEY, event_id VARCHAR(64) NOT NULL)",
    "proj_flaky": "CREATE TABLE IF NOT EXISTS proj_flaky (seq BIGINT PRIMARY KEY)",
}


@pytest.fixture
async def scratch_tables(database_url: str) -> AsyncIterator[None]:
    """Tables a test projection writes to; dropped afterwards (PostgreSQL reuses one database)."""
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        for ddl in SCRATCH_TABLES.values():
            await conn.execute(text(ddl))
    yield
    async with engine.begin() as conn:
        for name in SCRATCH_TABLES:
            await conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    await engine.dispose()


@pytest.fixture
async def start_runtime() -> AsyncIterator[RuntimeFactory]:
    """Build and start runtimes on the real ledger (stopped at the end of the test); ``poison``
    event types are refused by it, ``setup(runtime)`` runs before start (register projections)."""
    started: list[Runtime] = []

    async def start(settings: Settings, *, poison: tuple[str, ...] = (), setup: Any = None) -> Runtime:
        runtime = build_runtime(settings)
        if poison:
            runtime.services["ledger"] = PoisonLedger(runtime.services["ledger"], poison)
        if setup is not None:
            setup(runtime)
        await runtime.start()
        started.append(runtime)
        return runtime

    yield start
    for runtime in reversed(started):
        await runtime.stop()
        await runtime.db.dispose()
