"""Moving-window budgets: in process (embedded mode) or in Redis (shared by every server process).

``MemoryMovingWindow`` is exact and O(1) amortised per hit; the ``limits`` package's
``MemoryStorage`` re-scans every key on every hit with a thread hop per key, which made each request
cost more as more keys existed. With Redis configured, the ``limits`` package's Redis storage keeps
the windows so a deployment's processes share one budget.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter


class MovingWindow(Protocol):
    async def hit(self, key: str) -> float | None:
        """Spend one unit; None if allowed, else seconds until one is free again."""
        ...


class MemoryMovingWindow:
    """Per key, the times of the last ``amount`` hits; keys idle for a whole window are dropped by a
    sweep that runs at most once per window."""

    def __init__(self, amount: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.amount = amount
        self.window = window
        self._now = clock
        self._hits: dict[str, deque[float]] = {}
        self._next_sweep = 0.0

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.window
        cutoff = now - self.window
        for key in [k for k, q in self._hits.items() if not q or q[-1] <= cutoff]:
            del self._hits[key]

    async def hit(self, key: str) -> float | None:
        now = self._now()
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        cutoff = now - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if len(hits) >= self.amount:
            return hits[0] + self.window - now
        hits.append(now)
        return None


class RedisMovingWindow:
    def __init__(self, item: RateLimitItem, redis_url: str, namespace: str) -> None:
        uri = redis_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1)
        self.item = item
        self.storage = RedisStorage(uri, implementation="redispy", key_prefix=f"{namespace}:limits")
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, key: str) -> float | None:
        if await self.limiter.hit(self.item, key):
            return None
        stats = await self.limiter.get_window_stats(self.item, key)
        return stats.reset_time - time.time()


def moving_window(rate: str, *, redis_url: str | None, namespace: str) -> MovingWindow:
    """A budget such as ``"30/minute"``, kept where the deployment keeps shared state."""
    item = parse(rate)
    if redis_url:
        return RedisMovingWindow(item, redis_url, namespace)
    return MemoryMovingWindow(item.amount, float(item.get_expiry()))
