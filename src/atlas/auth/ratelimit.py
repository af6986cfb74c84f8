"""Per-client and per-wallet budgets on challenge, connect-wallet and refresh (``ATLAS_RATE_AUTH``).

Moving windows from :mod:`atlas.kit.ratelimit`: in process in the embedded mode, in Redis (shared by
every server process of a deployment) when ``ATLAS_REDIS_URL`` is set.
"""

from __future__ import annotations

import math

from atlas.auth.errors import AuthRateLimited
from atlas.kit.ratelimit import MovingWindow, moving_window


class AuthRateLimiter:
    def __init__(self, rate: str, *, redis_url: str | None, namespace: str) -> None:
        self._window: MovingWindow = moving_window(rate, redis_url=redis_url, namespace=namespace)

    async def check(self, endpoint: str, **keys: str | None) -> None:
        """Spend one unit of each given budget (``client=…``, ``wallet=…``); 429 if any is exhausted."""
        for kind, value in keys.items():
            if not value:
                continue
            wait = await self._window.hit(f"{endpoint}/{kind}/{value}")
            if wait is not None:
                raise AuthRateLimited(max(1, math.ceil(wait)))
