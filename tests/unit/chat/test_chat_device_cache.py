"""The message store's device-set cache: reused within its TTL, re-read when told to."""

from __future__ import annotations

from typing import Any

import pytest

from atlas.chat import ports


async def test_cache_reuses_within_ttl_and_refreshes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    current = {"w": {"A"}}

    async def fake(conn: Any, wallet: str) -> set[str]:
        calls.append(wallet)
        return {d.lower() for d in current[wallet]}

    monkeypatch.setattr(ports, "active_devices", fake)
    now = [0.0]
    cache = ports.DeviceCache(ttl=2.0, clock=lambda: now[0])
    assert await cache.get(None, "w") == {"a"}  # type: ignore[arg-type]  # the fake ignores conn
    current["w"] = {"A", "B"}
    assert await cache.get(None, "w") == {"a"}, "within the TTL"  # type: ignore[arg-type]
    assert await cache.get(None, "w", fresh=True) == {"a", "b"}  # type: ignore[arg-type]
    current["w"] = {"C"}
    now[0] = 5.0
    assert await cache.get(None, "w") == {"c"}, "expired"  # type: ignore[arg-type]
    assert calls == ["w", "w", "w"]
