"""The one way entries enter the ledger: an idempotent, group-committing appender.

Concurrent ``append`` calls queue up; one drain task takes everything queued (up to ``max_batch``
entries) and commits it in a single transaction, so many small appends cost one fsync. Inside the
transaction the head row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the write
transaction is already ``BEGIN IMMEDIATE``), which serialises writers across processes: the chain
cannot fork, skip or repeat a ``seq``. Event ids already in the ledger return their existing entry.

The Merkle frontier is cached between batches and reloaded (O(log n) node reads) whenever another
process has moved the head; each batch stores every complete subtree node it creates.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.db import Database
from atlas.ledger import repository as repo
from atlas.ledger.entries import LedgerEntry, NewEntry, Prepared, body_str, prepare
from atlas.ledger.merkle import Frontier

__all__ = ["LedgerWriter", "NewEntry", "LedgerEntry", "load_frontier"]

#: Work a caller joins to the append's own transaction, given the entries its items became.
Hook = Callable[[AsyncConnection, list[LedgerEntry]], Awaitable[None]]
_Request = tuple[list[Prepared], "asyncio.Future[list[LedgerEntry]]", Hook | None]

log = structlog.get_logger("atlas.ledger")


async def load_frontier(conn: AsyncConnection, size: int) -> Frontier:
    keys = Frontier.nodes_for(size)
    nodes = await repo.get_nodes(conn, keys)
    missing = [k for k in keys if k not in nodes]
    if missing:
        raise RuntimeError(f"ledger Merkle nodes missing for tree size {size}: {missing}")
    return Frontier(size, [nodes[k] for k in keys])


class LedgerWriter:
    def __init__(self, db: Database, *, max_batch: int = 5000) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: deque[_Request] = deque()
        self._task: asyncio.Task[None] | None = None
        self._frontier: Frontier | None = None
        self._head = ""
        self._changed = asyncio.Event()
        #: Called with the new tree size after each commit (e.g. to wake the checkpointer).
        self.listeners: list[Callable[[int], None]] = []

    async def append(self, items: Sequence[NewEntry]) -> list[LedgerEntry]:
        """Append ``items`` in order; durable when this returns. Idempotent by ``event_id``."""
        return await self.append_prepared([prepare(item) for item in items])

    async def append_with(self, items: Sequence[NewEntry], hook: Hook) -> list[LedgerEntry]:
        """Like :meth:`append`, and ``hook(conn, entries)`` runs in the same transaction.

        The events bridge marks its outbox rows delivered this way: one write transaction per batch
        instead of two, and the mark can no longer lag the append. If the hook raises, the append
        rolls back with it (every caller sharing that transaction sees the error).
        """
        return await self.append_prepared([prepare(item) for item in items], hook)

    async def append_prepared(self, prepared: list[Prepared], hook: Hook | None = None) -> list[LedgerEntry]:
        if not prepared:
            return []
        fut: asyncio.Future[list[LedgerEntry]] = asyncio.get_running_loop().create_future()
        self._queue.append((prepared, fut, hook))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="ledger-writer")
        # shield: a cancelled caller must not cancel a batch other callers share.
        return await asyncio.shield(fut)

    async def _drain(self) -> None:
        while self._queue:
            batch: list[_Request] = []
            count = 0
            while self._queue and (not batch or count + len(self._queue[0][0]) <= self._max_batch):
                req = self._queue.popleft()
                batch.append(req)
                count += len(req[0])
            try:
                results = await self._commit([(items, hook) for items, _, hook in batch])
            except Exception as exc:  # every caller in the batch learns the batch failed
                self._frontier = None
                log.warning("ledger_append_failed", error=type(exc).__name__, entries=count)
                for _, fut, _ in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut, _), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    async def _commit(self, requests: list[tuple[list[Prepared], Hook | None]]) -> list[list[LedgerEntry]]:
        async with self._db.write() as conn:
            if not self._db.is_sqlite:
                await repo.plan_per_call(conn)
            size, head = await repo.lock_head(conn, for_update=not self._db.is_sqlite)
            if self._frontier is not None and self._frontier.size == size and self._head == head:
                frontier = self._frontier.copy()
            else:
                frontier = await load_frontier(conn, size)
            ids = list(dict.fromkeys(p.event_id for items, _ in requests for p in items))
            known = await repo.get_many_by_event_id(conn, ids)
            rows = []
            created: list[tuple[int, int, bytes]] = []
            results: list[list[LedgerEntry]] = []
            prev = head
            sha256 = hashlib.sha256
            for items, _ in requests:
                out = []
                for p in items:
                    existing = known.get(p.event_id)
                    if existing is not None:
                        out.append(existing)
                        continue
                    seq = frontier.size
                    body = body_str(seq, p, prev).encode()
                    digest = sha256(body).hexdigest()
                    frontier.push(sha256(b"\x00" + body).digest(), created)
                    rows.append(
                        (seq, p.event_id, p.event_type, p.actor, p.payload_json, p.timestamp, prev, digest)
                    )
                    entry = LedgerEntry(seq, p.event_id, p.event_type, p.actor, p.payload, p.timestamp, prev, digest)
                    known[p.event_id] = entry
                    out.append(entry)
                    prev = digest
                results.append(out)
            if rows:
                await repo.insert_entries(conn, rows)
                await repo.insert_nodes(conn, [c for c in created if c[0] > 0])
                await repo.set_head(conn, frontier.size, prev)
            for (_, hook), out in zip(requests, results, strict=True):
                if hook is not None:
                    await hook(conn, out)
        self._frontier, self._head = frontier, prev
        if rows:
            self._changed.set()
            self._changed = asyncio.Event()
            for listener in self.listeners:
                listener(frontier.size)
        return results

    async def wait_for(self, event_id: str, timeout: float) -> LedgerEntry | None:
        """The entry for ``event_id`` once it is in the ledger, or None after ``timeout`` seconds.

        Wakes on this process's commits and polls for other processes' every 50 ms.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            async with self._db.read() as conn:
                entry = await repo.get_by_event_id(conn, event_id)
            if entry is not None:
                return entry
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
                async with asyncio.timeout(min(remaining, 0.05)):
                    await changed.wait()

    async def flush(self) -> None:
        """Wait until every queued append has been committed (or failed)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait([self._task])
