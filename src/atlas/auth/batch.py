"""Group commit: concurrent requests' writes share one transaction and a handful of statements.

SQLite has one writer; each transaction costs a pool checkout, ``BEGIN IMMEDIATE`` and ``COMMIT``,
and each statement a hop to the driver thread. Sign-ins arriving together are therefore written as
one batch (bulk INSERTs, one conditional UPDATE for all nonces), which is what lets one worker
serve hundreds of sign-ins a second. There is no added delay: a batch is whatever queued up while
the previous one was being written, so a lone request is written at once.

If a batch fails as a whole (an unexpected database error), each of its items is retried alone,
so one poisoned request cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Handler = Callable[[list[T]], Awaitable[list[R | Exception]]]


class Batcher(Generic[T, R]):
    def __init__(self, handler: Handler[T, R], *, max_batch: int = 128, name: str = "batch") -> None:
        self._handler = handler
        self._max = max_batch
        self._name = name
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # how many handler calls; items / batches is the mean batch size
        self.items = 0

    def _ensure_started(self) -> asyncio.Queue[tuple[T, asyncio.Future[R]]]:
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(self._queue), name=f"atlas-{self._name}")
        return self._queue

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._ensure_started().put_nowait((item, future))
        return await future

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._queue is not None:
            while not self._queue.empty():
                _, future = self._queue.get_nowait()
                if not future.done():
                    future.set_exception(RuntimeError("shutting down"))
        self._task = None
        self._queue = None

    async def _run(self, queue: asyncio.Queue[tuple[T, asyncio.Future[R]]]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max and not queue.empty():
                batch.append(queue.get_nowait())
            live = [(item, fut) for item, fut in batch if not fut.cancelled()]
            if live:
                await self._process(live)

    async def _process(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            try:
                results = await self._handler([item for item, _ in batch])
            except Exception as exc:  # the batch as a whole failed: isolate the culprit
                if len(batch) == 1:
                    results = [exc]
                else:
                    for single in batch:
                        await self._process([single])
                    return
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
        except BaseException as exc:
            # Never leave a caller waiting forever: shutdown (CancelledError) or a handler bug.
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("shutting down"))
            if not isinstance(exc, Exception):
                raise
