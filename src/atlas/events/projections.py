"""Named projections fed from the ledger, each entry applied exactly once.

The API (used by points, coherence, the referral graph)::

    from atlas.events.projections import register_projection

    async def handle(conn: AsyncConnection, entries: list[LedgerEntry]) -> None:
        ...  # update derived tables with ``conn``; never commit

    async def reset(conn: AsyncConnection, from_seq: int) -> None:
        ...  # optional: forget derived state built from entries with seq >= from_seq

    def install(runtime: Runtime) -> None:
        register_projection(runtime, "points", handle, reset=reset)

The runner calls ``handle`` with ledger entries in ``seq`` order, contiguous, starting right after
the consumer's stored offset (the last applied seq, -1 before the first). ``handle`` and the new
offset commit in ONE write transaction, so a crash either applies a batch and its offset or neither;
entries at or below the stored offset are never handed over again (exactly-once effects, across
restarts and across several server processes: the offset row is locked while a batch applies).
If ``handle`` raises, the transaction rolls back and the same entries come again after a backoff:
a projection is never skipped past an entry. ``handle`` runs inside a write transaction (on SQLite,
the database's single writer): SQL on ``conn`` only, no network calls or waiting. Events a handler emits with ``emit(conn, …)`` join
that same transaction.

Entries arrive from the ``ledger`` stream (published by the ledger subscriber after each append);
a range the stream no longer holds (trimmed, lost, or replayed from far back) is read from the
ledger itself, so a projection can always be rebuilt from ``seq`` 0. The entries handed over have
the attributes of ``atlas.ledger.LedgerEntry`` (seq, event_id, event_type, actor, payload,
timestamp, prev_hash, hash).

Replay (``atlas events replay --from SEQ --consumer NAME``): ``reset_projection`` calls the
projection's ``reset(conn, SEQ)`` and sets its offset to SEQ-1 in one transaction; running servers
then re-consume from SEQ through the same path (or ``--drive`` applies them in the command itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.events import repository as repo
from atlas.events._tasks import stop_task
from atlas.events.bus import STREAM_LEDGER, Bus, seq_to_id
from atlas.events.ledger_port import as_feed_entry, entry_time, feed_entry, reader
from atlas.events.metrics import CONSUMER_LAG_ENTRIES, CONSUMER_LAG_MS, PROJECTED
from atlas.runtime import Runtime

log = structlog.get_logger("atlas.events.projections")

Handler = Callable[[AsyncConnection, list[Any]], Awaitable[None]]
Reset = Callable[[AsyncConnection, int], Awaitable[None]]


class UnknownProjectionError(LookupError):
    pass


@dataclass(frozen=True)
class Projection:
    name: str
    handler: Handler
    reset: Reset | None = None


@dataclass
class ProjectionRegistry:
    projections: dict[str, Projection] = field(default_factory=dict)

    def get(self, name: str) -> Projection:
        try:
            return self.projections[name]
        except KeyError:
            known = ", ".join(sorted(self.projections)) or "none"
            raise UnknownProjectionError(f"no projection named {name!r} (registered: {known})") from None


def registry(runtime: Runtime) -> ProjectionRegistry:
    reg: ProjectionRegistry = runtime.services.setdefault("projections", ProjectionRegistry())
    return reg


def register_projection(runtime: Runtime, name: str, handler: Handler, *, reset: Reset | None = None) -> None:
    """Register a named consumer of ledger entries; call it from your domain's ``install(runtime)``."""
    if not name or len(name) > 64:
        raise ValueError("a projection name is 1 to 64 characters")
    reg = registry(runtime)
    if name in reg.projections:
        raise ValueError(f"projection {name!r} is already registered")
    reg.projections[name] = Projection(name, handler, reset)


class LedgerFeed:
    """Ledger entries after a given seq: from the ledger stream, or from the ledger when it must."""

    def __init__(self, runtime: Runtime, bus: Bus) -> None:
        self.runtime = runtime
        self.bus = bus

    async def fetch(self, after: int, limit: int, block_ms: int = 0) -> list[Any]:
        messages = await self.bus.read(STREAM_LEDGER, seq_to_id(after), limit, block_ms)
        entries = [feed_entry(m.fields) for m in messages]
        if entries and entries[0].seq == after + 1:
            return _contiguous(entries, after)
        read = reader(self.runtime.services.get("ledger"), self.runtime.db)
        if read is None:
            if entries:
                log.error("ledger stream has a gap and the ledger offers no reader", after=after)
            return []
        wanted = limit if not entries else min(limit, entries[0].seq - after - 1)
        return _contiguous([as_feed_entry(e) for e in await read(after, wanted)], after)


def _contiguous(entries: Sequence[Any], after: int) -> list[Any]:
    out: list[Any] = []
    expected = after + 1
    for entry in entries:
        if entry.seq != expected:
            break
        out.append(entry)
        expected += 1
    return out


class ProjectionRunner:
    def __init__(self, runtime: Runtime, feed: LedgerFeed, projection: Projection) -> None:
        self.runtime = runtime
        self.feed = feed
        self.projection = projection
        self._errors = 0
        # The offset as this runner last found or left it under the lock, so that a busy runner does
        # not pay a read transaction per batch just to learn what it wrote itself. Only a hint:
        # ``apply`` re-reads the locked offset and filters by it, and it is dropped whenever the
        # feed runs dry (so a reset made while idle is seen within one poll).
        self._after: int | None = None

    @property
    def name(self) -> str:
        return self.projection.name

    async def offset(self) -> int:
        async with self.runtime.db.read() as conn:
            return await repo.read_offset(conn, self.name)

    async def apply(self, entries: Sequence[Any]) -> int:
        """Apply what follows the stored offset, with the new offset, in one transaction."""
        runtime = self.runtime
        now = runtime.clock.now()
        self._after = None  # unknown until this transaction ends well
        async with runtime.db.write() as conn:
            current = await repo.lock_offset(conn, self.name, now)
            todo = _contiguous([e for e in entries if e.seq > current], current)
            if not todo:
                self._after = current
                return 0
            await self.projection.handler(conn, list(todo))
            await repo.set_offset(conn, self.name, todo[-1].seq, now)
        self._after = todo[-1].seq
        runtime.committed()  # wake the relay for any event the handler emitted
        PROJECTED.labels(self.name).inc(len(todo))
        CONSUMER_LAG_MS.labels(self.name).set(max(0.0, (now - entry_time(todo[-1])).total_seconds() * 1000))
        return len(todo)

    async def step(self, block_ms: int = 0) -> int:
        after = self._after if self._after is not None else await self.offset()
        entries = await self.feed.fetch(after, self.runtime.settings.events_batch_size, block_ms)
        if not entries:
            self._after = None
            CONSUMER_LAG_MS.labels(self.name).set(0)
            return 0
        moved = await self.apply(entries)
        if not moved and self._after is not None and self._after != after:
            return await self.step()  # the remembered offset was stale (a reset, another process)
        return moved

    async def catch_up(self) -> int:
        """Apply everything available now; returns how many entries were applied."""
        total = 0
        while moved := await self.step():
            total += moved
        return total

    async def run(self) -> None:
        while True:
            try:
                moved = await self.step(block_ms=1000)
                self._errors = 0
                settings = self.runtime.settings
                if 0 < moved < settings.events_batch_size and settings.events_projection_linger_seconds > 0:
                    # Projections are read models, not on any request's path: applying bigger, fewer
                    # batches costs less per entry (one transaction and state load per batch) and
                    # leaves the event loop to the requests in between.
                    await asyncio.sleep(settings.events_projection_linger_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failing handler or store: retry the same entries later
                self._errors += 1
                delay = min(10.0, 0.1 * 2 ** min(self._errors, 7))
                log.error("projection failed; retrying", consumer=self.name, error=type(exc).__name__,
                          detail=str(exc)[:200], retry_in=delay)
                await asyncio.sleep(delay)


class Projections:
    """The component running one task per registered projection."""

    name = "events.projections"

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.runners: dict[str, ProjectionRunner] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, runtime: Runtime) -> None:
        feed = LedgerFeed(runtime, self.bus)
        for projection in registry(runtime).projections.values():
            runner = ProjectionRunner(runtime, feed, projection)
            self.runners[projection.name] = runner
            self._tasks.append(asyncio.create_task(runner.run(), name=f"projection:{projection.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            await stop_task(task)
        self._tasks.clear()

    async def update_lag(self, head: int) -> None:
        for name, runner in self.runners.items():
            CONSUMER_LAG_ENTRIES.labels(name).set(max(0, head - await runner.offset()))


async def reset_projection(runtime: Runtime, name: str, from_seq: int) -> None:
    """Re-deliver ledger entries from ``from_seq`` on: reset derived state and the offset, atomically."""
    if from_seq < 0:
        raise ValueError("--from must be a seq, 0 or more")
    projection = registry(runtime).get(name)
    now = runtime.clock.now()
    async with runtime.db.write() as conn:
        await repo.lock_offset(conn, name, now)
        if projection.reset is not None:
            await projection.reset(conn, from_seq)
        await repo.set_offset(conn, name, from_seq - 1, now)
    runtime.committed()


async def drive_projection(runtime: Runtime, bus: Bus, name: str) -> int:
    """Apply every available entry to ``name`` in this process (the path the runner uses)."""
    runner = ProjectionRunner(runtime, LedgerFeed(runtime, bus), registry(runtime).get(name))
    return await runner.catch_up()
