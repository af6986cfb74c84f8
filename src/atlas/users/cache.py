"""A tiny per-process cache of rendered public profiles.

Profiles are the hottest public read (every chat list shows them). Each process keeps the rendered
JSON for ``ATLAS_PROFILE_CACHE_SECONDS`` (default 0.5 s; 0 disables it): that bounds how stale
another process's view can be, while this process drops an entry as soon as it commits a change
to that wallet's profile or projections (so a writer reads its own writes).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable


class ProfileCache:
    def __init__(self, ttl: float, clock: Callable[[], float], max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._dirty: set[str] = set()

    def get(self, wallet: str) -> bytes | None:
        if self.ttl <= 0:
            return None
        item = self._items.get(wallet)
        if item is None:
            return None
        if item[0] < self.clock():
            self._items.pop(wallet, None)
            return None
        return item[1]

    def put(self, wallet: str, body: bytes) -> None:
        if self.ttl <= 0:
            return
        self._items[wallet] = (self.clock() + self.ttl, body)
        self._items.move_to_end(wallet)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def invalidate(self, wallets: Iterable[str]) -> None:
        """Drop now, and again once the current transaction commits (see :meth:`committed`)."""
        for wallet in wallets:
            self._items.pop(wallet, None)
            self._dirty.add(wallet)

    def committed(self) -> None:
        if self._dirty:
            for wallet in self._dirty:
                self._items.pop(wallet, None)
            self._dirty.clear()
