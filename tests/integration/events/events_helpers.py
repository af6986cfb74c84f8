"""Test helpers for the event bridge: a private redis-server, a SQL-backed fake ledger, emitting.

The fake ledger keeps the real one's contract (append idempotent by event_id, entries in order,
``entries(after, limit)``) in a table of the test's own database, so several processes can share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from atlas.db import Database
from atlas.events.ledger_port import FeedEntry
from atlas.events.models import ContentAction, Event
from atlas.events.outbox import emit
from atlas.kit.clock import rfc3339
from atlas.runtime import Runtime

REDIS_BIN = "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A private redis-server with AOF (fsync always), which tests may kill and restart."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.dir = directory
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [REDIS_BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.dir), "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None


FAKE_LEDGER_DDL = (
    "CREATE TABLE IF NOT EXISTS fake_ledger (seq BIGINT PRIMARY KEY, event_id VARCHAR(64) NOT NULL UNIQUE, "
    "event_type VARCHAR(64) NOT NULL, actor VARCHAR(64) NOT NULL, payload TEXT NOT NULL, ts VARCHAR(40) NOT NULL)"
)


def _entry(row: Any) -> FeedEntry:
    return FeedEntry(
        seq=int(row.seq), event_id=row.event_id, event_type=row.event_type, actor=row.actor,
        payload=json.loads(row.payload), timestamp=row.ts, prev_hash="", hash=f"h{row.seq}",
    )


class FakeLedger:
    """The ledger's append/read contract over a plain table; ``poison`` event types always fail."""

    def __init__(self, db: Database, poison: Sequence[str] = ()) -> None:
        self.db = db
        self.poison = set(poison)
        self.calls = 0

    async def setup(self) -> None:
        async with self.db.write() as conn:
            await conn.execute(text(FAKE_LEDGER_DDL))

    async def append(self, items: Sequence[Any]) -> list[FeedEntry]:
        self.calls += 1
        for item in items:
            if item.event_type in self.poison:
                raise ValueError(f"refusing {item.event_type}")
        out: list[FeedEntry] = []
        async with self.db.write() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("LOCK TABLE fake_ledger IN EXCLUSIVE MODE"))
            head = await conn.scalar(text("SELECT COALESCE(MAX(seq), -1) FROM fake_ledger"))
            for item in items:
                row = (await conn.execute(text("SELECT * FROM fake_ledger WHERE event_id = :e"), {"e": item.event_id})).first()
                if row is None:
                    head += 1
                    values = {"seq": head, "event_id": item.event_id, "event_type": item.event_type,
                              "actor": item.actor, "payload": json.dumps(item.payload), "ts": rfc3339(item.timestamp)}
                    await conn.execute(
                        text("INSERT INTO fake_ledger VALUES (:seq, :event_id, :event_type, :actor, :payload, :ts)"), values
                    )
                    row = (await conn.execute(text("SELECT * FROM fake_ledger WHERE seq = :s"), {"s": head})).first()
                out.append(_entry(row))
        return out

    async def entries(self, after: int, limit: int) -> list[FeedEntry]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                text("SELECT * FROM fake_ledger WHERE seq > :a ORDER BY seq LIMIT :l"), {"a": after, "l": limit}
            )
            return [_entry(r) for r in rows]

    async def all(self) -> list[FeedEntry]:
        return await self.entries(-1, 10**9)


@dataclass
class Emitted:
    event_ids: list[str]


async def emit_events(runtime: Runtime, actor: str, count: int, *, start: int = 0, event_type: str = "") -> list[str]:
    """Emit ``count`` events for ``actor`` in ONE transaction; returns their event ids in order."""
    events: list[Event] = [ContentAction(actor=actor, data={"n": start + i}) for i in range(count)]
    async with runtime.db.write() as conn:
        await emit(conn, events, at=runtime.clock.now())
    runtime.committed()
    return [e.event_id for e in events]


async def wait_until(predicate: Any, timeout: float = 15.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


def kill_process(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
