"""Test helpers for the event bridge: a private redis-server, reading the ledger, emitting.

The ledger is the real one (``atlas.ledger``); ``PoisonLedger`` wraps it to refuse chosen events.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from atlas.db import Database
from atlas.events.models import ContentAction, Event
from atlas.events.outbox import emit
from atlas.ledger import LedgerEntry
from atlas.ledger.repository import entries_after
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


class PoisonLedger:
    """The real ledger writer, except that it refuses the ``poison`` event types (a ledger that
    keeps rejecting one event, to exercise dead-lettering)."""

    def __init__(self, writer: Any, poison: Sequence[str]) -> None:
        self.writer = writer
        self.poison = set(poison)

    async def append(self, items: Sequence[Any]) -> list[Any]:
        for item in items:
            if item.event_type in self.poison:
                raise ValueError(f"refusing {item.event_type}")
        result: list[Any] = await self.writer.append(items)
        return result


async def ledger_entries(db: Database) -> list[LedgerEntry]:
    async with db.read() as conn:
        return await entries_after(conn, -1, 1_000_000)


async def emit_events(runtime: Runtime, actor: str, count: int, *, start: int = 0) -> list[str]:
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
