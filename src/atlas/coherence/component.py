"""Registers the ``trust`` projection (points, referral graph, coherence) with the event bus."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.coherence import projection
from atlas.coherence.engine import batch_wallets
from atlas.runtime import Runtime
from atlas.users.component import profile_cache


def install(runtime: Runtime) -> None:
    try:
        from atlas.events.projections import register_projection
    except ModuleNotFoundError as exc:  # the event bridge is not part of this build yet
        if exc.name != "atlas.events.projections":
            raise
        return

    async def handle(conn: AsyncConnection, entries: list[Any]) -> None:
        await projection.handle(conn, entries)
        cache = profile_cache(runtime)
        if cache is not None:  # profiles show points, referral count and coherence
            cache.invalidate(batch_wallets(entries))

    register_projection(runtime, projection.NAME, handle, reset=projection.reset)
