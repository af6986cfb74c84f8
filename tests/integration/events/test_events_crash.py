"""Crash tests with real processes (issue #4 acceptance): SIGKILL a server mid-batch, run two servers.

Each server is a subprocess running the bridge (``events_node.py``) against the test's database and,
for Redis, a private ``redis-server``. Every acknowledged (committed) event must be in the ledger
exactly once, in causal order per actor.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from events_helpers import FakeLedger, RedisServer, kill_process, wait_until

from atlas.db import Database
from atlas.events.models import ContentAction
from atlas.events.outbox import emit
from atlas.kit.clock import SystemClock

HERE = Path(__file__).resolve().parent


def node_env(database_url: str, data_dir: Path, redis_url: str | None, namespace: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(
        ATLAS_DATABASE_URL=database_url,
        ATLAS_DATA_DIR=str(data_dir),
        ATLAS_REDIS_NAMESPACE=namespace,
        ATLAS_EVENTS_POLL_SECONDS="0.05",
        ATLAS_EVENTS_BATCH_SIZE="20",
        ATLAS_EVENTS_LEASE_MS="1500",
        ATLAS_LOG_LEVEL=os.environ.get("EVENTS_NODE_LOG_LEVEL", "WARNING"),
        FAKE_LEDGER_SLEEP_AFTER="0.02",
        PYTHONPATH=str(HERE),
    )
    if redis_url:
        env["ATLAS_REDIS_URL"] = redis_url
    return env


def start_node(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    # Set EVENTS_NODE_LOG=/path to keep the servers' logs when debugging.
    with open(os.environ.get("EVENTS_NODE_LOG", os.devnull), "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "events_node.py"), *args], env=env, stdout=subprocess.PIPE, stderr=log
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == b"ready", line
    return proc


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
@pytest.mark.parametrize("bus_kind", ["inprocess", "redis"])
async def test_sigkilled_server_mid_batch_loses_and_duplicates_nothing(
    bus_kind: str, database_url: str, tmp_path: Path, own_redis: RedisServer
) -> None:
    env = node_env(database_url, tmp_path / "node", own_redis.url if bus_kind == "redis" else None, "crash")
    db = Database(database_url)
    ledger = FakeLedger(db)
    await ledger.setup()
    clock = SystemClock()
    expected: dict[str, list[str]] = defaultdict(list)
    node = await asyncio.to_thread(start_node, env)
    try:
        for round_ in range(40):
            events = [ContentAction(actor=f"0x{round_ % 4:040x}", data={"n": round_ * 3 + i}) for i in range(3)]
            async with db.write() as conn:
                await emit(conn, events, at=clock.now())
            for e in events:  # committed: acknowledged
                expected[e.actor].append(e.event_id)
            if round_ == 20:  # SIGKILL while batches are in flight, then a fresh server
                await asyncio.sleep(0.05)
                kill_process(node)
                node = await asyncio.to_thread(start_node, env)
            await asyncio.sleep(0.01)

        async def all_in() -> bool:
            return len(await ledger.all()) >= 120

        await wait_until(all_in, timeout=60)
        await asyncio.sleep(0.3)  # anything duplicated late would show now
        check_ledger(await ledger.all(), dict(expected))
    finally:
        kill_process(node)
        await db.dispose()


@pytest.mark.slow
async def test_two_servers_sharing_database_and_redis_make_one_ledger(
    database_url: str, tmp_path: Path, own_redis: RedisServer
) -> None:
    db = Database(database_url)
    ledger = FakeLedger(db)
    await ledger.setup()
    nodes = []
    try:
        for i, actor in enumerate(("0x" + "a" * 40, "0x" + "b" * 40)):
            env = node_env(database_url, tmp_path / f"node{i}", own_redis.url, "pair")
            nodes.append((actor, await asyncio.to_thread(start_node, env, actor, "150")))
        expected: dict[str, list[str]] = {}
        for actor, proc in nodes:
            assert proc.stdout is not None
            lines = (await asyncio.to_thread(_read_until_done, proc)).splitlines()
            expected[actor] = [ln.split()[1] for ln in lines if ln.startswith("acked ")]
            assert len(expected[actor]) == 150

        async def all_in() -> bool:
            return len(await ledger.all()) >= 300

        await wait_until(all_in, timeout=60)
        await asyncio.sleep(0.3)
        check_ledger(await ledger.all(), expected)
    finally:
        for _, proc in nodes:
            kill_process(proc)
        await db.dispose()


def _read_until_done(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stdout is not None
    out = []
    for raw in proc.stdout:
        line = raw.decode().strip()
        if line == "done":
            break
        out.append(line)
    return "\n".join(out)
