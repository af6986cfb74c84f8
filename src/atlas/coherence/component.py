"""Registers the ``trust`` projection (points, referral graph, coherence) with the event bus."""

from __future__ import annotations

from atlas.coherence import projection
from atlas.runtime import Runtime


def install(runtime: Runtime) -> None:
    from atlas.events.projections import register_projection

    register_projection(runtime, projection.NAME, projection.handle, reset=projection.reset)
