"""The ledger subscriber: the ``events`` stream → ``ledger.append`` in batches, in stream order.

It is the only way server events enter the Genesis Ledger. One process at a time holds the
``ledger-subscriber`` lease and consumes (so the ledger keeps the stream's order, which is the
outbox's order, which is causal order per actor); the others stand by. A new leader first claims
every pending message (``XAUTOCLAIM``) and re-reads them in id order before taking new ones.

After an append: the outbox rows are marked delivered (in the append's own transaction when the
ledger offers ``append_with``, else in one of their own), the entries are published on the
``ledger`` stream for projections, then the messages are acknowledged. A crash anywhere in between redelivers
them; ``append`` is idempotent by ``event_id`` and the ledger stream refuses ids it already holds,
so each event lands exactly once. A message that fails ``events_max_deliveries`` times while the
database is healthy goes to the dead-letter stream with the reason, and the stream moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.events import repository as repo
from atlas.events._tasks import stop_task
from atlas.events.bus import (
    GROUP_LEDGER,
    STREAM_EVENTS,
    STREAM_LEDGER,
    Bus,
    GroupMissingError,
    Message,
    seq_to_id,
)
from atlas.events.codec import decode
from atlas.events.ledger_port import LedgerEntryLike, appender, entry_fields, joined_appender, new_entry
from atlas.events.metrics import APPENDED, BUS_ERRORS, COMMIT_TO_LEDGER, DEAD_LETTERED
from atlas.runtime import Runtime

log = structlog.get_logger("atlas.events.subscriber")

LEASE_NAME = "ledger-subscriber"


@dataclass(frozen=True)
class _Item:
    message: Message
    entry: Any  # the ledger's NewEntry
    occurred_at: datetime


def _parse(message: Message) -> _Item:
    f = decode(message.fields)
    occurred_at = datetime.fromisoformat(f["occurred_at"])
    payload = f["payload"]
    if not isinstance(payload, dict):
        raise ValueError("payload is not a JSON object")
    entry = new_entry(
        event_id=f["event_id"], event_type=f["event_type"], actor=f["actor"], payload=payload, timestamp=occurred_at
    )
    return _Item(message, entry, occurred_at)


def _event_id(message: Message) -> str | None:
    try:
        value = decode(message.fields).get("event_id")
    except (ValueError, KeyError):
        return None
    return value if isinstance(value, str) else None


class LedgerSubscriber:
    name = "events.ledger_subscriber"

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.leader = False
        self._dirty = True
        self._failures: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._finishing: asyncio.Task[None] | None = None
        self._runtime: Runtime | None = None
        self._next_housekeeping = 0.0
        self._errors = 0

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("subscriber not started")
        return self._runtime

    async def start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        if "ledger" not in runtime.services:
            log.warning("no ledger service installed: events stay in the outbox until one is")
            return
        self._task = asyncio.create_task(self._run(), name="events.ledger_subscriber")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        with contextlib.suppress(Exception):  # unfinished work is redelivered; stopping must not fail
            await self._await_finishing()
        if self.leader:
            with contextlib.suppress(Exception):  # Redis may be gone; the lease then simply expires
                await self.bus.release(LEASE_NAME, self.consumer)
            self.leader = False

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
                self._errors = 0
            except asyncio.CancelledError:
                raise
            except GroupMissingError:
                self.leader = False  # the stream vanished (Redis restarted empty): set it up again
            except Exception as exc:  # bus or database trouble: back off and retry
                self._errors += 1
                BUS_ERRORS.labels("ledger_subscriber").inc()
                delay = min(5.0, 0.05 * 2 ** min(self._errors, 7))
                log.warning("ledger subscriber failed; retrying", error=type(exc).__name__, detail=str(exc)[:200])
                await asyncio.sleep(delay)

    async def step(self) -> int:
        """One iteration: hold the lease, read a batch, append it. Returns messages handled."""
        settings = self.runtime.settings
        ttl = settings.events_lease_ms
        if not await self.bus.lease(LEASE_NAME, self.consumer, ttl):
            self.leader = False
            await asyncio.sleep(ttl / 3000)
            return 0
        if not self.leader:
            await self.bus.ensure_group(STREAM_EVENTS, GROUP_LEDGER)
            # Whoever led before is gone: everything pending is ours now, in id order.
            await self.bus.claim_stale(STREAM_EVENTS, GROUP_LEDGER, self.consumer, 0, count=100_000)
            self.leader = True
            self._dirty = True
        mono = self.runtime.clock.monotonic()
        if mono >= self._next_housekeeping:
            self._next_housekeeping = mono + 1.0
            await self._housekeeping()
        batch = settings.events_batch_size
        messages: list[Message] = []
        if self._dirty:
            await self._await_finishing()  # its messages are still pending: let it ack them first
            messages = await self.bus.read_group(STREAM_EVENTS, GROUP_LEDGER, self.consumer, batch, pending=True)
            self._dirty = bool(messages)
        if not messages:
            block = int(min(1000, ttl / 3))
            messages = await self.bus.read_group(STREAM_EVENTS, GROUP_LEDGER, self.consumer, batch, block)
        if messages:
            await self.process(messages)
        return len(messages)

    async def _housekeeping(self) -> None:
        settings = self.runtime.settings
        claimed = await self.bus.claim_stale(
            STREAM_EVENTS, GROUP_LEDGER, self.consumer, settings.events_claim_idle_ms, count=100_000
        )
        if claimed:
            self._dirty = True
        await self.bus.trim_acked(STREAM_EVENTS, GROUP_LEDGER)
        await self.bus.trim_maxlen(STREAM_LEDGER, settings.events_ledger_stream_maxlen)

    async def process(self, messages: Sequence[Message]) -> None:
        items: list[_Item] = []
        for message in messages:
            try:
                items.append(_parse(message))
            except Exception as exc:  # a message no retry can fix
                if items:
                    self._dirty = True  # keep order: finish what precedes it, then come back
                    break
                await self._dead_letter(message, f"malformed message: {type(exc).__name__}: {exc}", 1)
                self._dirty = True
                return
        done, failed, marked = await self._append(items)
        if done:
            # Finishing (mark delivered, ledger stream, XACK) overlaps the next batch's append; one
            # at a time, so the ledger stream still receives entries in seq order.
            await self._await_finishing()
            self._finishing = asyncio.create_task(
                self._finish(done, marked=marked), name="events.ledger_subscriber.finish"
            )
        if failed is not None:
            await self._failed(*failed)

    async def _mark_delivered(self, conn: AsyncConnection, entries: list[Any]) -> None:
        await repo.mark_delivered(conn, [e.event_id for e in entries], self.runtime.clock.now())

    async def _append(
        self, items: list[_Item]
    ) -> tuple[list[tuple[_Item, LedgerEntryLike]], tuple[_Item, Exception] | None, bool]:
        """Append in order; returns what went in, the item that failed (if any), and whether the
        outbox rows of what went in were already marked delivered in the append's transaction."""
        ledger = self.runtime.services["ledger"]
        joined = joined_appender(ledger, self._mark_delivered)
        append = joined or appender(ledger)
        marked = joined is not None
        try:
            entries = await append([i.entry for i in items])
            return list(zip(items, entries, strict=True)), None, marked
        except Exception as exc:
            if not await self._database_ok():
                raise  # not the events' fault: retry the whole batch later
            if len(items) == 1:
                return [], (items[0], exc), marked
        # Find the event that fails, appending the ones before it (in order) one by one.
        done: list[tuple[_Item, LedgerEntryLike]] = []
        for item in items:
            try:
                (entry,) = await append([item.entry])
            except Exception as exc:
                return done, (item, exc), marked
            done.append((item, entry))
        return done, None, marked

    async def _database_ok(self) -> bool:
        try:
            await self.runtime.db.ping()
        except Exception:  # any driver error: the database is the problem, not the event
            return False
        return True

    async def _failed(self, item: _Item, exc: Exception) -> None:
        mid = item.message.id
        count = self._failures.get(mid, 0) + 1
        self._dirty = True
        if count >= self.runtime.settings.events_max_deliveries:
            self._failures.pop(mid, None)
            await self._dead_letter(item.message, f"ledger append failed: {type(exc).__name__}: {exc}", count)
            return
        self._failures[mid] = count
        log.warning("ledger append failed; will redeliver", message_id=mid, attempt=count, error=type(exc).__name__)
        await asyncio.sleep(min(2.0, 0.05 * 2**count))

    async def _dead_letter(self, message: Message, reason: str, deliveries: int) -> None:
        runtime = self.runtime
        await self.bus.dead_letter(STREAM_EVENTS, message, reason, deliveries)
        async with runtime.db.write() as conn:
            event_id = _event_id(message)
            if event_id is not None:
                await repo.mark_dead(conn, event_id, runtime.clock.now())
            if not self.bus.durable:
                await repo.record_dead_letter(
                    conn,
                    stream=STREAM_EVENTS,
                    message_id=message.id,
                    event_id=event_id,
                    fields=json.dumps(message.fields, sort_keys=True),
                    reason=reason,
                    deliveries=deliveries,
                    at=runtime.clock.now(),
                )
        await self.bus.ack(STREAM_EVENTS, GROUP_LEDGER, [message.id])
        DEAD_LETTERED.inc()
        log.error("event dead-lettered", message_id=message.id, event_id=event_id, reason=reason[:200])

    async def _await_finishing(self) -> None:
        task, self._finishing = self._finishing, None
        if task is None:
            return
        try:
            await task
        except Exception as exc:  # its messages stay pending and are read again
            self._dirty = True
            BUS_ERRORS.labels("ledger_subscriber").inc()
            log.warning("finishing a ledger batch failed; redelivering", error=type(exc).__name__)

    async def _finish(self, done: list[tuple[_Item, LedgerEntryLike]], *, marked: bool = False) -> None:
        runtime = self.runtime
        now = runtime.clock.now()
        if not marked:
            async with runtime.db.write() as conn:
                await repo.mark_delivered(conn, [i.entry.event_id for i, _ in done], now)
        entries = sorted({e.seq: e for _, e in done}.values(), key=lambda e: e.seq)
        await self.bus.add(STREAM_LEDGER, [entry_fields(e) for e in entries], ids=[seq_to_id(e.seq) for e in entries])
        await self.bus.ack(STREAM_EVENTS, GROUP_LEDGER, [i.message.id for i, _ in done])
        for item, _ in done:
            self._failures.pop(item.message.id, None)
            COMMIT_TO_LEDGER.observe(max(0.0, (now - item.occurred_at).total_seconds()))
        APPENDED.inc(len(done))
