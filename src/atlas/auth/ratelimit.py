"""Per-client and per-wallet budgets on challenge, connect-wallet and refresh (``ATLAS_RATE_AUTH``).

Moving windows from the ``limits`` package: in process memory in the embedded mode, in Redis when
``ATLAS_REDIS_URL`` is set so that every server process of a deployment shares one budget.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from atlas.auth.errors import AuthRateLimited


class AuthRateLimiter:
    def __init__(self, rate: str, *, redis_url: str | None, namespace: str) -> None:
        self.item = parse(rate)
        self.storage: Storage
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1)
            self.storage = RedisStorage(uri, implementation="redispy", key_prefix=f"{namespace}:limits")
        else:
            self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def check(self, endpoint: str, **keys: str | None) -> None:
        """Spend one unit of each given budget (``client=…``, ``wallet=…``); 429 if any is exhausted."""
        for kind, value in keys.items():
            if not value:
                continue
            if not await self.limiter.hit(self.item, endpoint, kind, value):
                stats = await self.limiter.get_window_stats(self.item, endpoint, kind, value)
                retry = max(1, math.ceil(stats.reset_time - time.time()))
                raise AuthRateLimited(retry)

    async def reset(self) -> None:
        await self.storage.reset()
