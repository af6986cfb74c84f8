"""The outbox relay: committed outbox rows → the ``events`` stream, in outbox order, at least once.

Each pass on PostgreSQL is one write transaction: take the relay lock (an advisory lock, so one
relay at a time publishes and the stream keeps outbox order), select unpublished rows in id order,
publish them, mark them published and commit. On SQLite (one process) the selection is a read
transaction and the marking a short write one, so the bus is never awaited while holding the writer. If publishing fails (Redis down) the transaction rolls back and the rows stay unpublished:
the relay retries with exponential backoff and never drops a row. If the commit fails after the
publish, the rows go out again later; the ledger is idempotent by ``event_id``.

Rows the bus accepted but the ledger never got (``delivered_at`` still empty) are published again,
in id order, once the ledger subscriber has nothing left to read (so they are lost, not queued): at
start-up for the in-process bus (its memory died with the last process), and after
``events_redeliver_seconds`` for any bus (e.g. a Redis that lost acknowledged writes). The relay wakes on ``runtime.after_commit`` and otherwise
polls every ``events_poll_seconds``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.events import repository as repo
from atlas.events._tasks import stop_task, wait_event
from atlas.events.bus import GROUP_LEDGER, STREAM_EVENTS, Bus
from atlas.events.codec import encode_event
from atlas.events.metrics import BUS_ERRORS, PUBLISHED, REPUBLISHED
from atlas.runtime import Runtime

log = structlog.get_logger("atlas.events.relay")


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for ``DateTime(timezone=True)``; they were stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def message_fields(row: Any) -> dict[str, str]:
    return encode_event(
        outbox_id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        actor=row.actor,
        payload_json=row.payload,
        occurred_at=aware(row.occurred_at).isoformat(),
    )


class OutboxRelay:
    name = "events.relay"

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._runtime: Runtime | None = None
        self._started_at: datetime | None = None
        self._next_lost_scan = 0.0
        self._draining_lost = False
        self._next_prune = 0.0
        self.failures = 0

    def wake(self) -> None:
        self._wake.set()

    async def start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._started_at = runtime.clock.now()
        runtime.after_commit.append(self.wake)
        self._task = asyncio.create_task(self._run(), name="events.relay")

    async def stop(self) -> None:
        if self._runtime is not None and self.wake in self._runtime.after_commit:
            self._runtime.after_commit.remove(self.wake)
        await stop_task(self._task)
        self._task = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("relay not started")
        return self._runtime

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows went out (0: nothing to do, or another relay is).

        PostgreSQL: select, publish and mark in one transaction holding the relay lock. SQLite: the
        single relay of the single process selects in a read transaction and marks in a write one, so
        that a slow bus never holds the database's one writer (every request's commit) hostage.
        """
        runtime = self.runtime
        now = runtime.clock.now()
        mono = runtime.clock.monotonic()
        if runtime.db.is_sqlite:
            async with runtime.db.read() as conn:
                rows, lost = await self._select(conn, now, mono)
            if rows:
                await self.bus.add(STREAM_EVENTS, [message_fields(r) for r in rows])
                async with runtime.db.write() as conn:
                    await repo.mark_published(conn, [r.id for r in rows], now)
        else:
            async with runtime.db.write() as conn:
                if not await repo.try_relay_lock(conn):
                    return 0
                rows, lost = await self._select(conn, now, mono)
                if rows:
                    await self.bus.add(STREAM_EVENTS, [message_fields(r) for r in rows])
                    await repo.mark_published(conn, [r.id for r in rows], now)
        if not rows:
            return 0
        PUBLISHED.inc(len(rows))
        if lost:
            REPUBLISHED.inc(len(lost))
            log.warning("outbox rows republished", count=len(lost))
        if mono >= self._next_prune:
            self._next_prune = mono + 60
            await self._prune(now)
        return len(rows)

    async def _select(self, conn: AsyncConnection, now: datetime, mono: float) -> tuple[list[Any], list[Any]]:
        """The next batch in id order: unpublished rows, and lost ones when they are due."""
        settings = self.runtime.settings
        rows = list(await repo.unpublished(conn, settings.events_batch_size))
        lost: list[Any] = []
        # Once a drain of lost rows began, it goes on (the subscriber is busy with what it sent).
        if self._draining_lost or (mono >= self._next_lost_scan and await self._bus_caught_up()):
            cutoff = now - timedelta(seconds=settings.events_redeliver_seconds)
            if not self.bus.durable and self._started_at is not None:
                cutoff = max(cutoff, self._started_at)
            lost = list(await repo.lost_in_flight(conn, cutoff, settings.events_batch_size))
            # More lost rows than one batch: publish none newer than the last one fetched, so the
            # stream keeps outbox order; the next pass goes on with the rest at once.
            self._draining_lost = len(lost) >= settings.events_batch_size
            if not self._draining_lost:
                self._next_lost_scan = mono + max(0.5, settings.events_redeliver_seconds / 4)
            if lost:
                seen = {r.id for r in lost}
                limit = lost[-1].id if self._draining_lost else None
                rows = sorted(
                    [*lost, *(r for r in rows if r.id not in seen and (limit is None or r.id < limit))],
                    key=lambda r: r.id,
                )
        return rows, lost

    async def _bus_caught_up(self) -> bool:
        """Undelivered rows are lost only if the ledger subscriber has nothing left to read: while
        it is behind (say the ledger was down), they are merely queued and must not be sent twice."""
        try:
            return await self.bus.group_lag(STREAM_EVENTS, GROUP_LEDGER) == 0
        except LookupError:  # no group: a fresh in-process bus, or Redis restarted without its data
            return True

    async def _prune(self, now: datetime) -> None:
        before = now - timedelta(seconds=self.runtime.settings.events_outbox_retention_seconds)
        async with self.runtime.db.write() as conn:
            await repo.prune_delivered(conn, before)

    async def _run(self) -> None:
        settings = self.runtime.settings
        while True:
            self._wake.clear()  # before the pass: a commit during it wakes the next one
            try:
                moved = await self.relay_once()
                self.failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # bus or database down: keep the rows, back off, retry
                self.failures += 1
                BUS_ERRORS.labels("relay").inc()
                delay = min(5.0, 0.05 * 2 ** min(self.failures, 7))
                log.warning("outbox relay failed; retrying", error=type(exc).__name__, detail=str(exc)[:200], retry_in=delay)
                await asyncio.sleep(delay)
                continue
            if moved >= settings.events_batch_size:
                continue
            if await wait_event(self._wake, settings.events_poll_seconds) and settings.events_relay_linger_seconds > 0:
                await asyncio.sleep(settings.events_relay_linger_seconds)
