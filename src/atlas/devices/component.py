"""Puts the prekey-bundle budgets in ``runtime.services``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import Request

from atlas.devices.errors import BundleRateLimited
from atlas.kit.ratelimit import MovingWindow, moving_window
from atlas.runtime import Runtime

SERVICE = "prekey_bundle_limits"


@dataclass(frozen=True)
class BundleLimits:
    per_client: MovingWindow
    one_time_per_device: MovingWindow

    async def check_client(self, client: str) -> None:
        """429 once this address has fetched its budget of bundles."""
        wait = await self.per_client.hit(f"prekey-bundle/client/{client}")
        if wait is not None:
            raise BundleRateLimited(max(1, math.ceil(wait)))

    async def one_time_allowed(self, device_id: str) -> bool:
        """Whether this bundle may carry one of the device's one-time prekeys."""
        return await self.one_time_per_device.hit(f"prekey-bundle/opk/{device_id}") is None


def install(runtime: Runtime) -> None:
    s = runtime.settings
    runtime.services[SERVICE] = BundleLimits(
        per_client=moving_window(s.rate_prekey_bundle, redis_url=s.redis_url, namespace=s.redis_namespace),
        one_time_per_device=moving_window(s.rate_one_time_prekeys, redis_url=s.redis_url, namespace=s.redis_namespace),
    )


def bundle_limits(request: Request) -> BundleLimits:
    limits: BundleLimits = request.app.state.runtime.services[SERVICE]
    return limits
