"""Puts the profile cache in ``runtime.services`` and clears it after every commit."""

from __future__ import annotations

import time

from atlas.runtime import Runtime
from atlas.users.cache import ProfileCache

SERVICE = "profile_cache"


def install(runtime: Runtime) -> None:
    cache = ProfileCache(runtime.settings.profile_cache_seconds, time.monotonic)
    runtime.services[SERVICE] = cache
    runtime.after_commit.append(cache.committed)


def profile_cache(runtime: Runtime) -> ProfileCache | None:
    cache = runtime.services.get(SERVICE)
    return cache if isinstance(cache, ProfileCache) else None
