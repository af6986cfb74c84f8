"""A per-client-address budget of *failed* referral-code lookups (``ATLAS_RATE_REFERRAL_LOOKUP``).

Codes carry 40 bits, so guessing is hopeless at any sane rate; the budget keeps it that way. Only
misses spend it, so a person sharing real links is never slowed down. Moving windows from the
``limits`` package, in Redis when configured so that all processes of a deployment share it.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from atlas.referrals.errors import ReferralLookupLimited

_KEY = "referral_lookup_miss"


class LookupLimiter:
    def __init__(self, rate: str, *, redis_url: str | None, namespace: str) -> None:
        self.item = parse(rate)
        self.storage: Storage
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1)
            self.storage = RedisStorage(uri, implementation="redispy", key_prefix=f"{namespace}:limits")
        else:
            self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def _refuse(self, client: str) -> None:
        stats = await self.limiter.get_window_stats(self.item, _KEY, client)
        raise ReferralLookupLimited(max(1, math.ceil(stats.reset_time - time.time())))

    async def check(self, client: str) -> None:
        """429 when this address has no failed lookups left."""
        if not await self.limiter.test(self.item, _KEY, client):
            await self._refuse(client)

    async def miss(self, client: str) -> None:
        await self.limiter.hit(self.item, _KEY, client)
