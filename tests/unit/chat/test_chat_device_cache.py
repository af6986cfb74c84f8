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


async def test_get_many_reads_only_the_expired_sets_in_one_query(monkeypatch: pytest.MonkeyPatch) -> None:
    queries: list[list[str]] = []
    current = {"a": {"A1"}, "b": {"B1"}, "c": set()}

    async def fake_many(conn: Any, wallets: list[str]) -> dict[str, set[str]]:
        queries.append(list(wallets))
        return {w: {d.lower() for d in current[w]} for w in wallets}

    monkeypatch.setattr(ports, "active_devices_many", fake_many)
    now = [0.0]
    cache = ports.DeviceCache(ttl=2.0, clock=lambda: now[0])
    assert await cache.get_many(None, ["a", "b"]) == {"a": {"a1"}, "b": {"b1"}}  # type: ignore[arg-type]
    now[0] = 1.0
    assert await cache.get_many(None, ["a", "b", "c"]) == {"a": {"a1"}, "b": {"b1"}, "c": set()}  # type: ignore[arg-type]
    now[0] = 2.5
    current["a"] = {"A2"}
    assert (await cache.get_many(None, ["a", "c"]))["a"] == {"a2"}  # type: ignore[arg-type]
    assert queries == [["a", "b"], ["c"], ["a"]]
