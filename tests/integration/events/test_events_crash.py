"""Crash tests with real server processes (issue #4 acceptance).

Each server is ``python -m uvicorn --factory atlas.app:main_app`` (what ``atlas serve`` runs) against
the test's database and, for Redis, a private ``redis-server``. The test commits events with
``emit()`` inside ``db.write()``; a commit is an acknowledgement. Every acknowledged event must be in
the ledger exactly once, in causal order per actor, after servers are SIGKILLed mid-batch.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from events_helpers import RedisServer, free_port, kill_process, ledger_entries, wait_until

from atlas.db import Database
from atlas.events.models import ContentAction
from atlas.events.outbox import emit
from atlas.kit.clock import SystemClock

SHARED_SECRET = base64.b64encode(b"s" * 32).decode()
SHARED_LOG_KEY = base64.b64encode(b"k" * 32).decode()


def server_env(database_url: str, data_dir: Path, redis_url: str | None, namespace: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(
        ATLAS_DATABASE_URL=database_url,
        ATLAS_DATA_DIR=str(data_dir),
        ATLAS_SECRET_KEY=SHARED_SECRET,
        ATLAS_LOG_KEY=SHARED_LOG_KEY,
        ATLAS_REDIS_NAMESPACE=namespace,
        ATLAS_EVENTS_POLL_SECONDS="0.05",
        ATLAS_EVENTS_BATCH_SIZE="20",
        ATLAS_EVENTS_LEASE_MS="1500",
        ATLAS_LOG_LEVEL=os.environ.get("EVENTS_SERVER_LOG_LEVEL", "WARNING"),
    )
    if redis_url:
        env["ATLAS_REDIS_URL"] = redis_url
    return env


def start_server(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A server process; returns once it answers /healthz (its components have started)."""
    port = free_port()
    # Set EVENTS_SERVER_LOG=/path to keep the servers' logs when debugging.
    with open(os.environ.get("EVENTS_SERVER_LOG", os.devnull), "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "atlas.app:main_app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env, stdout=log, stderr=log,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    kill_process(proc)
    raise RuntimeError("server did not start")


async def commit_events(db: Database, round_: int, actors: int = 4) -> list[ContentAction]:
    events = [ContentAction(actor=f"0x{round_ % actors:040x}", data={"n": round_ * 3 + i}) for i in range(3)]
    async with db.write() as conn:
        await emit(conn, list(events), at=SystemClock().now())
    return events


def check_ledger(entries: list[Any], expected: dict[str, list[str]]) -> None:
    ids = [e.event_id for e in entries]
    assert len(ids) == len(set(ids)), "an event landed twice"
    per_actor: dict[str, list[str]] = defaultdict(list)
    for e in entries:
        per_actor[e.actor].append(e.event_id)
    for actor, want in expected.items():
        got = per_actor.get(actor, [])
        if got != want:
            missing = [want.index(e) for e in want if e not in got]
            moved = [(want.index(e), i) for i, e in enumerate(got) if e in want and want.index(e) != i][:10]
            raise AssertionError(f"{actor}: {len(got)}/{len(want)} in the ledger; missing {missing}; moved {moved}")


@pytest.mark.slow
async def test_sigkilled_embedded_server_mid_batch_loses_and_duplicates_nothing(database_url: str, tmp_path: Path) -> None:
    """The in-process bus dies with the server: the next server republishes what it lost."""
    env = server_env(database_url, tmp_path / "srv", None, "crash")
    db = Database(database_url)
    expected: dict[str, list[str]] = defaultdict(list)
    server = await asyncio.to_thread(start_server, env)
    try:
        for round_ in range(40):
            for e in await commit_events(db, round_):  # committed: acknowledged
                expected[e.actor].append(e.event_id)
            if round_ == 20:  # SIGKILL while batches are in flight, then a fresh server
                await asyncio.sleep(0.05)
                kill_process(server)
                server = await asyncio.to_thread(start_server, env)
            await asyncio.sleep(0.01)

        async def all_in() -> bool:
            return len(await ledger_entries(db)) >= 120

        await wait_until(all_in, timeout=60)
        await asyncio.sleep(0.3)  # anything duplicated late would show now
        check_ledger(await ledger_entries(db), dict(expected))
    finally:
        kill_process(server)
        await db.dispose()


@pytest.mark.slow
async def test_two_servers_sharing_database_and_redis_make_one_ledger_even_when_the_leader_is_killed(
    database_url: str, tmp_path: Path, own_redis: RedisServer
) -> None:
    db = Database(database_url)
    envs = [server_env(database_url, tmp_path / f"srv{i}", own_redis.url, "pair") for i in range(2)]
    servers = list(await asyncio.gather(*(asyncio.to_thread(start_server, env) for env in envs)))
    redis = aioredis.Redis.from_url(own_redis.url, decode_responses=True)
    try:
        expected: dict[str, list[str]] = defaultdict(list)
        killed = None
        for round_ in range(60):
            for e in await commit_events(db, round_):
                expected[e.actor].append(e.event_id)
            if round_ == 25:  # SIGKILL the process consuming into the ledger, mid-batch
                owner = await redis.get("pair:lease:ledger-subscriber")
                assert owner is not None
                pid = int(owner.split("-")[-2])
                killed = next(p for p in servers if p.pid == pid)
                kill_process(killed)
            await asyncio.sleep(0.01)
        assert killed is not None

        async def all_in() -> bool:
            return len(await ledger_entries(db)) >= 180

        await wait_until(all_in, timeout=60)
        await asyncio.sleep(0.3)
        check_ledger(await ledger_entries(db), dict(expected))
        owner = await redis.get("pair:lease:ledger-subscriber")
        assert owner is not None
        assert int(owner.split("-")[-2]) != killed.pid
    finally:
        for proc in servers:
            kill_process(proc)
        await redis.aclose()
        await db.dispose()
